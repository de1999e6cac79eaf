package tessera

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// Caller attaches least-privilege tokens to outgoing calls: the scopes and
// audience of the called method's rule, read from the generated descriptors
// (protoregistry.GlobalFiles). Public and client-authentication methods get no token.
type Caller struct {
	tokens *TokenSource
}

// NewCaller attaches tokens from tokens.
func NewCaller(tokens *TokenSource) *Caller { return &Caller{tokens: tokens} }

// RuleOfPath resolves the rule of a gRPC path from the descriptors linked into the program.
func RuleOfPath(fullMethod string) (*Rule, error) {
	parts := strings.Split(fullMethod, "/")
	if len(parts) != 3 {
		return nil, &RuleError{[]string{fullMethod}, "not a gRPC method path"}
	}
	descriptor, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(parts[1]))
	if err != nil {
		return nil, &RuleError{[]string{fullMethod}, "the service is not in the linked descriptors"}
	}
	service, ok := descriptor.(protoreflect.ServiceDescriptor)
	if !ok || service.Methods().ByName(protoreflect.Name(parts[2])) == nil {
		return nil, &RuleError{[]string{fullMethod}, "no such method in the linked descriptors"}
	}
	rule, err := RuleOf(service.Methods().ByName(protoreflect.Name(parts[2])))
	if err == nil && rule == nil {
		return nil, &RuleError{[]string{fullMethod}, "no auth rule declared"}
	}
	return rule, err
}

// tokenFor is the token a call needs ("" for none) and the scopes asked for.
func (c *Caller) tokenFor(ctx context.Context, fullMethod string) (string, *Rule, error) {
	rule, err := RuleOfPath(fullMethod)
	if err != nil || rule.Kind != RuleBearer {
		return "", rule, err
	}
	token, err := c.tokens.Token(ctx, rule.Audience, rule.LeastPrivilegeScopes())
	return token, rule, err
}

func withToken(ctx context.Context, token string) context.Context {
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// refusedToken says whether a call failed with invalid_token: the token may have been revoked or its key rotated out.
func refusedToken(err error) bool {
	detail := AuthErrorDetailOf(err)
	return detail != nil && detail.GetError() == "invalid_token"
}

// Unary is the grpc.UnaryClientInterceptor: it attaches the method's token
// and retries once with a fresh token after invalid_token.
func (c *Caller) Unary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	token, rule, err := c.tokenFor(ctx, method)
	if err != nil {
		return err
	}
	err = invoker(withToken(ctx, token), method, req, reply, cc, opts...)
	if token == "" || !refusedToken(err) {
		return err
	}
	c.tokens.Invalidate(rule.Audience, rule.LeastPrivilegeScopes(), token)
	if token, _, err = c.tokenFor(ctx, method); err != nil {
		return err
	}
	return invoker(withToken(ctx, token), method, req, reply, cc, opts...)
}

// Stream is the grpc.StreamClientInterceptor: it attaches the method's token
// (a stream is not retried: its messages may already have been consumed).
func (c *Caller) Stream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	token, _, err := c.tokenFor(ctx, method)
	if err != nil {
		return nil, err
	}
	return streamer(withToken(ctx, token), desc, cc, method, opts...)
}

type perRPC struct{ caller *Caller }

// PerRPCCredentials puts the called method's token on every call, as call
// credentials (grpc.WithPerRPCCredentials). It does not retry: use the
// interceptors for that.
func (c *Caller) PerRPCCredentials() credentials.PerRPCCredentials { return perRPC{c} }

func (p perRPC) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	info, ok := credentials.RequestInfoFromContext(ctx)
	if !ok {
		return nil, nil
	}
	token, _, err := p.caller.tokenFor(ctx, info.Method)
	if err != nil || token == "" {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + token}, nil
}

// RequireTransportSecurity is true: a bearer token never crosses a plaintext
// channel. TLS credentials and local credentials (loopback) satisfy it.
func (perRPC) RequireTransportSecurity() bool { return true }
