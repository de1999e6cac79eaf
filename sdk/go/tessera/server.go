package tessera

import (
	"context"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
)

type principalKey struct{}

// PrincipalFrom is the verified caller of a handler's context; false in public methods.
func PrincipalFrom(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// Guard enforces the auth rule each method declares in its proto, as grpc-go
// server interceptors: no or bad token → UNAUTHENTICATED; a valid token
// without the audience or scopes → PERMISSION_DENIED with the required scopes
// in a tessera.v1.AuthErrorDetail (grpc-status-details-bin) and a
// www-authenticate trailer; two authorization entries → INVALID_ARGUMENT; a
// path without a rule → PERMISSION_DENIED. Streams end when their token
// expires or is revoked.
type Guard struct {
	verifier *Verifier
	rules    map[string]*Rule
}

// NewGuard reads the rules of every method of the services served. It
// returns a *RuleError for any method without a rule: the server must not start.
func NewGuard(verifier *Verifier, services ...protoreflect.ServiceDescriptor) (*Guard, error) {
	rules, err := RulesOf(services...)
	if err != nil {
		return nil, err
	}
	return &Guard{verifier: verifier, rules: rules}, nil
}

// Rule is the rule of a gRPC path ("/pkg.Service/Method"), or nil.
func (g *Guard) Rule(fullMethod string) *Rule {
	if rule, ok := g.rules[fullMethod]; ok {
		return rule
	}
	parts := strings.Split(fullMethod, "/")
	if len(parts) == 3 && PublicServices[parts[1]] {
		return &Rule{Kind: RulePublic, Source: "allow-list"}
	}
	return nil
}

func (g *Guard) check(ctx context.Context, fullMethod string) (context.Context, *Principal, error) {
	rule := g.Rule(fullMethod)
	if rule == nil {
		return ctx, nil, status.Error(codes.PermissionDenied, "no auth rule is declared for this method")
	}
	md, _ := metadata.FromIncomingContext(ctx)
	p, err := g.verifier.Check(ctx, md.Get("authorization"), rule)
	if err != nil {
		return ctx, nil, refusal(ctx, err)
	}
	if p != nil {
		ctx = context.WithValue(ctx, principalKey{}, p)
	}
	return ctx, p, nil
}

func refusal(ctx context.Context, err error) error {
	if authErr, ok := err.(*AuthError); ok {
		_ = grpc.SetTrailer(ctx, authErr.Trailer())
		return authErr.GRPCStatus().Err()
	}
	return err
}

// Unary is the grpc.UnaryServerInterceptor.
func (g *Guard) Unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, _, err := g.check(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

type guardedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *guardedStream) Context() context.Context { return s.ctx }

// Stream is the grpc.StreamServerInterceptor. The handler's context is
// cancelled, and the call ends with UNAUTHENTICATED, once the token expires
// or is revoked.
func (g *Guard) Stream(srv any, stream grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, p, err := g.check(stream.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	if p == nil {
		return handler(srv, &guardedStream{stream, ctx})
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ended := make(chan struct{}, 1)
	if g.verifier.revocations != nil {
		stop := g.verifier.revocations.onChange(func() {
			if g.verifier.revocations.Denied(p) {
				select {
				case ended <- struct{}{}:
				default:
				}
			}
		})
		defer stop()
	}
	done := make(chan error, 1)
	go func() { done <- handler(srv, &guardedStream{stream, ctx}) }()
	// A token accepted within the clock tolerance is not cut off at once: the stream ends when that tolerance is spent too.
	expiry := time.NewTimer(time.Until(p.Expiry.Add(g.verifier.clockTolerance)))
	defer expiry.Stop()
	select {
	case err := <-done:
		return err
	case <-expiry.C:
		cancel()
		return refusal(ctx, invalidToken("the token expired during the stream"))
	case <-ended:
		cancel()
		return refusal(ctx, invalidToken("the token was revoked during the stream"))
	}
}
