// The Go conformance runner: serves tessera.conformance.v1 with the Go SDK's
// interceptors, as test/e2e/conformance.test.ts drives it.
//
//	runner -issuer URL -token-service HOST:PORT -guard ConformanceService[,...] [-revocations -client-id ID -client-secret S]
//	runner -call HOST:PORT -token-service HOST:PORT -client-id ID -client-secret S   (client.go)
//
// Prints "LISTENING host:port" once serving, or "RULE_ERROR m1,m2" and exits 3
// when the interceptor refuses the rules.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/local"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"

	conformancev1 "tessera/fixtures/conformancev1"
	"tessera/sdk/go/tessera"
)

type handlers struct {
	conformancev1.UnimplementedConformanceServiceServer
}

func echo(ctx context.Context) *conformancev1.CallResponse {
	p, ok := tessera.PrincipalFrom(ctx)
	if !ok {
		return &conformancev1.CallResponse{}
	}
	return &conformancev1.CallResponse{ClientId: p.ClientID, Subject: p.Subject, Scopes: p.Scopes, Audience: p.Audience, Jti: p.JTI}
}

func (handlers) AllOf(ctx context.Context, _ *conformancev1.CallRequest) (*conformancev1.CallResponse, error) {
	return echo(ctx), nil
}
func (handlers) AnyOf(ctx context.Context, _ *conformancev1.CallRequest) (*conformancev1.CallResponse, error) {
	return echo(ctx), nil
}
func (handlers) OnlyAnyOf(ctx context.Context, _ *conformancev1.CallRequest) (*conformancev1.CallResponse, error) {
	return echo(ctx), nil
}
func (handlers) ServiceDefault(ctx context.Context, _ *conformancev1.CallRequest) (*conformancev1.CallResponse, error) {
	return echo(ctx), nil
}
func (handlers) Public(ctx context.Context, _ *conformancev1.CallRequest) (*conformancev1.CallResponse, error) {
	return echo(ctx), nil
}
func (handlers) ClientAuth(ctx context.Context, _ *conformancev1.CallRequest) (*conformancev1.CallResponse, error) {
	return echo(ctx), nil
}
func (handlers) OtherAudience(ctx context.Context, _ *conformancev1.CallRequest) (*conformancev1.CallResponse, error) {
	return echo(ctx), nil
}
func (handlers) AnyToken(ctx context.Context, _ *conformancev1.CallRequest) (*conformancev1.CallResponse, error) {
	return echo(ctx), nil
}
func (handlers) Watch(_ *conformancev1.CallRequest, stream conformancev1.ConformanceService_WatchServer) error {
	return stream.Send(echo(stream.Context()))
}

func (handlers) Follow(_ *conformancev1.CallRequest, stream conformancev1.ConformanceService_FollowServer) error {
	if err := stream.Send(echo(stream.Context())); err != nil {
		return err
	}
	select {
	case <-stream.Context().Done():
	case <-time.After(15 * time.Second):
	}
	return nil
}

// health answers an empty HealthCheckResponse: allow-listed, it needs no rule and no token.
type health struct {
	healthpb.UnimplementedHealthServer
}

func (health) Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return &healthpb.HealthCheckResponse{}, nil
}

type unprotected struct {
	conformancev1.UnimplementedUnprotectedServiceServer
}

func (unprotected) Open(ctx context.Context, _ *conformancev1.CallRequest) (*conformancev1.CallResponse, error) {
	return echo(ctx), nil
}

func main() {
	issuer := flag.String("issuer", "", "the issuer identifier")
	tokenService := flag.String("token-service", "", "Tessera's gRPC address")
	guard := flag.String("guard", "ConformanceService", "services given to the interceptor")
	revocations := flag.Bool("revocations", false, "follow WatchRevocations and WatchKeys")
	staleAfterMs := flag.Int("stale-after-ms", 0, "with -revocations: the staleness bound (default 30 s)")
	clientID := flag.String("client-id", "", "the runner's client id, for the watch streams")
	clientSecret := flag.String("client-secret", "", "the runner's client secret")
	callTarget := flag.String("call", "", "run as a client of this address (commands on stdin)")
	keyFile := flag.String("key-file", "", "with -call: private_key_jwt with this PKCS#8 PEM key instead of the secret")
	keyID := flag.String("key-id", "", "the kid of -key-file in the client's registered JWKS")
	flag.Parse()

	services := []protoreflect.ServiceDescriptor{}
	for _, name := range strings.Split(*guard, ",") {
		services = append(services, conformancev1.File_conformance_v1_conformance_proto.Services().ByName(protoreflect.Name(name)))
	}
	conn, err := grpc.Dial(*tokenService, grpc.WithTransportCredentials(local.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *callTarget != "" {
		auth := tessera.ClientSecret(*clientID, *clientSecret)
		if *keyFile != "" {
			if auth, err = privateKeyJWT(*clientID, *issuer, *keyFile, *keyID); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		runClient(*callTarget, conn, auth)
		return
	}
	keys := tessera.NewKeySet(tessera.JWKSFromTokenService(conn), 0)
	options := tessera.VerifierOptions{Issuer: *issuer, Keys: keys}
	if *revocations {
		options.Revocations = tessera.NewRevocations(time.Duration(*staleAfterMs) * time.Millisecond)
		credentials := tessera.ClientSecret(*clientID, *clientSecret)
		ctx := context.Background()
		go tessera.WatchRevocations(ctx, conn, credentials, options.Revocations)
		go tessera.WatchKeys(ctx, conn, credentials, keys)
		loading, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := options.Revocations.WaitLoaded(loading)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "revocations not loaded:", err)
			os.Exit(1)
		}
	}
	verifier, err := tessera.NewVerifier(options)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	g, err := tessera.NewGuard(verifier, services...)
	if ruleErr, ok := err.(*tessera.RuleError); ok {
		fmt.Printf("RULE_ERROR %s\n", strings.Join(ruleErr.Methods, ","))
		os.Exit(3)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server := grpc.NewServer(grpc.UnaryInterceptor(g.Unary), grpc.StreamInterceptor(g.Stream),
		grpc.ConnectionTimeout(10*time.Second))
	conformancev1.RegisterConformanceServiceServer(server, handlers{})
	conformancev1.RegisterUnprotectedServiceServer(server, unprotected{})
	healthpb.RegisterHealthServer(server, health{})
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("LISTENING %s\n", listener.Addr())
	_ = server.Serve(listener)
}
