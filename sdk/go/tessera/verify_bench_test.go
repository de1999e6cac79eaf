package tessera

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	jose "gopkg.in/square/go-jose.v2"
)

// A token as Tessera signs it, and a key set that holds its key.
func benchToken(b *testing.B) (string, *KeySet) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("at+jwt").WithHeader("kid", "k1"))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Unix()
	payload := fmt.Sprintf(`{"iss":"https://tessera.test","sub":"c","aud":"svc","exp":%d,"iat":%d,"jti":"j","client_id":"c","scope":"a b"}`, now+300, now)
	signed, err := signer.Sign([]byte(payload))
	if err != nil {
		b.Fatal(err)
	}
	token, _ := signed.CompactSerialize()
	jwks, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	keys := NewKeySet(func(context.Context) ([]byte, error) { return jwks, nil }, 0)
	return token, keys
}

// BenchmarkRawVerify is the floor: go-jose parsing and verifying the signature, nothing else.
func BenchmarkRawVerify(b *testing.B) {
	token, keys := benchToken(b)
	key, _ := keys.Key(context.Background(), "k1")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		signed, err := jose.ParseSigned(token)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := signed.Verify(key.Key); err != nil {
			b.Fatal(err)
		}
	}
}

func benchVerifier(b *testing.B, cacheSize int) (*Verifier, []string) {
	token, keys := benchToken(b)
	v, err := NewVerifier(VerifierOptions{Issuer: "https://tessera.test", Keys: keys, CacheSize: cacheSize})
	if err != nil {
		b.Fatal(err)
	}
	return v, []string{"Bearer " + token}
}

// BenchmarkFirstSight verifies a token not seen before: every check and the signature.
func BenchmarkFirstSight(b *testing.B) {
	v, authorization := benchVerifier(b, -1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Authenticate(context.Background(), authorization); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCached authenticates a token already verified (the steady state of a caller's cached token).
func BenchmarkCached(b *testing.B) {
	v, authorization := benchVerifier(b, 0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := v.Authenticate(context.Background(), authorization); err != nil {
			b.Fatal(err)
		}
	}
}
