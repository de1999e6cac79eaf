package tessera

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	jose "gopkg.in/square/go-jose.v2"
	"gopkg.in/square/go-jose.v2/jwt"

	tesserav1 "tessera/sdk/go/tesserav1"
)

// ClientAuth authenticates this service as an OAuth client to Tessera: in
// IssueToken requests and on the WatchRevocations / WatchKeys streams.
type ClientAuth func(ctx context.Context) (*tesserav1.ClientCredentials, error)

// ClientSecret is client_secret_post: the id and secret travel in the request.
func ClientSecret(clientID, secret string) ClientAuth {
	return func(context.Context) (*tesserav1.ClientCredentials, error) {
		return &tesserav1.ClientCredentials{ClientId: clientID, ClientSecret: secret}, nil
	}
}

// PrivateKeyJWT is private_key_jwt (RFC 7523): each request carries a fresh
// assertion signed with the client's private key (iss = sub = client id,
// aud = the issuer identifier, 60 s lifetime, single-use jti). alg is
// ES256, EdDSA or RS256; kid names the key in the client's registered JWKS.
func PrivateKeyJWT(clientID, issuer string, privateKey any, alg, kid string) (ClientAuth, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: privateKey},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return nil, err
	}
	return func(context.Context) (*tesserav1.ClientCredentials, error) {
		id := make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return nil, err
		}
		now := time.Now().Unix()
		// aud as one string: go-jose's jwt.Claims writes an array, which Tessera's strict check refuses.
		claims := map[string]any{"iss": clientID, "sub": clientID, "aud": issuer, "jti": hex.EncodeToString(id), "iat": now, "exp": now + 60}
		assertion, err := jwt.Signed(signer).Claims(claims).CompactSerialize()
		if err != nil {
			return nil, err
		}
		return &tesserav1.ClientCredentials{ClientId: clientID,
			ClientAssertionType: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", ClientAssertion: assertion}, nil
	}, nil
}
