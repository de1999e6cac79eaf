package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/local"
	"google.golang.org/grpc/status"

	conformancev1 "tessera/fixtures/conformancev1"
	"tessera/sdk/go/tessera"
)

type result struct {
	Method   string   `json:"method"`
	Code     string   `json:"code"`
	Error    string   `json:"error"`
	ClientID string   `json:"clientId"`
	Scopes   []string `json:"scopes"`
	JTI      string   `json:"jti"`
	Fetches  int      `json:"fetches"`
	Calls    int      `json:"calls"`
}

// privateKeyJWT authenticates with a PKCS#8 PEM key (ES256).
func privateKeyJWT(clientID, issuer, keyFile, keyID string) (tessera.ClientAuth, error) {
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%s holds no PEM block", keyFile)
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	return tessera.PrivateKeyJWT(clientID, issuer, key, "ES256", keyID)
}

// runClient calls target with the SDK's client side, one command per stdin
// line: "METHOD", "PARALLEL METHOD N" or "PERRPC METHOD"; one JSON result per line.
func runClient(target string, conn *grpc.ClientConn, auth tessera.ClientAuth) {
	tokens := tessera.NewTokenSource(conn, auth)
	caller := tessera.NewCaller(tokens)
	intercepted, err := grpc.Dial(target, grpc.WithTransportCredentials(local.NewCredentials()),
		grpc.WithUnaryInterceptor(caller.Unary), grpc.WithStreamInterceptor(caller.Stream))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	perRPC, err := grpc.Dial(target, grpc.WithTransportCredentials(local.NewCredentials()), grpc.WithPerRPCCredentials(caller.PerRPCCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		fields := strings.Fields(lines.Text())
		if len(fields) == 0 {
			continue
		}
		conn, method, parallel := intercepted, fields[0], 1
		switch fields[0] {
		case "PARALLEL":
			method = fields[1]
			parallel, _ = strconv.Atoi(fields[2])
		case "PERRPC":
			conn, method = perRPC, fields[1]
		}
		results := make([]result, parallel)
		var wg sync.WaitGroup
		for i := 0; i < parallel; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				results[i] = callMethod(conn, method)
			}(i)
		}
		wg.Wait()
		out := results[0]
		for _, r := range results[1:] {
			if r.Code != "OK" {
				out = r
			}
		}
		out.Fetches, out.Calls = tokens.Fetches(), parallel
		encoded, _ := json.Marshal(out)
		fmt.Println(string(encoded))
	}
}

func callMethod(conn *grpc.ClientConn, method string) result {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	request := &conformancev1.CallRequest{Text: "hi"}
	res := &conformancev1.CallResponse{}
	var err error
	if method == "Watch" {
		var stream conformancev1.ConformanceService_WatchClient
		if stream, err = conformancev1.NewConformanceServiceClient(conn).Watch(ctx, request); err == nil {
			res, err = stream.Recv()
		}
	} else {
		err = conn.Invoke(ctx, "/tessera.conformance.v1.ConformanceService/"+method, request, res)
	}
	if err != nil {
		r := result{Method: method, Code: status.Code(err).String()}
		if detail := tessera.AuthErrorDetailOf(err); detail != nil {
			r.Error = detail.GetError()
		}
		return r
	}
	scopes := append([]string{}, res.GetScopes()...)
	sort.Strings(scopes)
	return result{Method: method, Code: "OK", ClientID: res.GetClientId(), Scopes: scopes, JTI: res.GetJti()}
}
