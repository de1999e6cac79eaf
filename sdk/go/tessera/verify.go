package tessera

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	jose "gopkg.in/square/go-jose.v2"
)

// Principal is the verified caller, handed to handlers (PrincipalFrom).
type Principal struct {
	ClientID string
	Subject  string
	Audience string
	Issuer   string
	JTI      string
	KeyID    string
	Scopes   []string
	IssuedAt time.Time
	Expiry   time.Time
	// Claims are every verified claim, as JSON decoded them.
	Claims map[string]any
}

// HasScope says whether the token carries a scope (exact match).
func (p *Principal) HasScope(scope string) bool {
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// The limits of a verifier's options, as the Node TokenVerifier has them.
const (
	DefaultClockTolerance = 30 * time.Second
	DefaultMaxLifetime    = time.Hour
	DefaultMaxTokenBytes  = 8192
)

var (
	base64urlPart = regexp.MustCompile(`^[A-Za-z0-9_-]*$`)
	b64token      = regexp.MustCompile(`^[A-Za-z0-9\-._~+/]+=*$`)
	keyMembers    = map[string]bool{"jwk": true, "jku": true, "x5u": true, "x5c": true}
)

// decodePart decodes canonical unpadded base64url only: a re-encoded part
// (other trailing bits, padding, line breaks) is another token and is refused.
func decodePart(part string) ([]byte, bool) {
	if !base64urlPart.MatchString(part) {
		return nil, false
	}
	decoded, err := base64.RawURLEncoding.Strict().DecodeString(part)
	return decoded, err == nil
}

func jsonObject(raw []byte) (map[string]any, bool) {
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(raw) {
		return nil, false
	}
	var value map[string]any
	if err := json.Unmarshal(raw, &value); err != nil || value == nil {
		return nil, false
	}
	return value, true
}

type precheckedToken struct {
	alg, kid string
	payload  map[string]any
}

func numericClaim(payload map[string]any, name string) (float64, bool, *AuthError) {
	value, present := payload[name]
	if !present {
		return 0, false, nil
	}
	number, ok := value.(float64)
	if !ok || math.IsInf(number, 0) || math.IsNaN(number) {
		return 0, false, invalidToken("the token's " + name + " claim is malformed")
	}
	return number, true, nil
}

// precheck runs the checks that need no key (size, structure, header, alg
// allow-list, iss, exp, nbf, iat, lifetime) before any key lookup, so that an
// expired or foreign token never causes a JWKS fetch.
func (v *Verifier) precheck(token string) (*precheckedToken, *AuthError) {
	if len(token) > v.maxTokenBytes {
		return nil, invalidToken("the token is larger than accepted")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, invalidToken("the token is not a JWS compact serialization (three parts)")
	}
	headerBytes, ok1 := decodePart(parts[0])
	payloadBytes, ok2 := decodePart(parts[1])
	_, ok3 := decodePart(parts[2])
	if !ok1 || !ok2 || !ok3 {
		return nil, invalidToken("the token is not canonical base64url")
	}
	header, ok := jsonObject(headerBytes)
	if !ok {
		return nil, invalidToken("the token's header is not a JSON object")
	}
	for name := range header {
		switch {
		case name == "alg" || name == "kid" || name == "typ":
		case name == "crit":
			return nil, invalidToken("the token's header carries crit, which we never issue")
		case keyMembers[name]:
			return nil, invalidToken("the token's header carries a key or key reference (jwk, jku, x5u, x5c), which is never trusted")
		default:
			return nil, invalidToken("the token's header has a member we never issue")
		}
	}
	alg, okAlg := header["alg"].(string)
	kid, okKid := header["kid"].(string)
	typ, okTyp := header["typ"].(string)
	if !okAlg || !okKid || !okTyp {
		return nil, invalidToken("the token's header lacks alg, kid or typ as strings")
	}
	if typ != "at+jwt" {
		return nil, invalidToken("the token is not an access token (typ must be at+jwt)")
	}
	payload, ok := jsonObject(payloadBytes)
	if !ok {
		return nil, invalidToken("the token's payload is not a JSON object")
	}
	if alg == "none" || strings.HasPrefix(alg, "HS") || !v.algorithms[alg] {
		return nil, invalidToken("the token's signing algorithm is not accepted")
	}
	if kid == "" {
		return nil, invalidToken("the token has no key id")
	}
	if iss, _ := payload["iss"].(string); iss != v.issuer || payload["iss"] == nil {
		return nil, invalidToken("the token was not issued by the expected issuer")
	}
	now := float64(v.now().Unix())
	tolerance := v.clockTolerance.Seconds()
	exp, hasExp, err := numericClaim(payload, "exp")
	if err != nil {
		return nil, err
	}
	iat, hasIat, err := numericClaim(payload, "iat")
	if err != nil {
		return nil, err
	}
	nbf, hasNbf, err := numericClaim(payload, "nbf")
	if err != nil {
		return nil, err
	}
	if !hasExp || !hasIat {
		return nil, invalidToken("the token lacks exp or iat")
	}
	if exp <= now-tolerance {
		return nil, invalidToken("the token has expired")
	}
	if hasNbf && nbf > now+tolerance {
		return nil, invalidToken("the token is not valid yet")
	}
	if iat > now+tolerance {
		return nil, invalidToken("the token was issued in the future")
	}
	if exp-iat > v.maxLifetime.Seconds() {
		return nil, invalidToken("the token's lifetime exceeds the accepted maximum")
	}
	return &precheckedToken{alg: alg, kid: kid, payload: payload}, nil
}

// algorithmOfKey is the one algorithm a key verifies: its type pins it (RFC 8725 section 3.1).
func algorithmOfKey(key any) string {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return "ES256"
		}
	case ed25519.PublicKey:
		return "EdDSA"
	case *rsa.PublicKey:
		if k.N.BitLen() >= 2048 {
			return "RS256"
		}
	}
	return ""
}

// verifySignature checks the signature with go-jose, the key pinning the algorithm.
func verifySignature(token string, alg string, key *jose.JSONWebKey) *AuthError {
	if algorithmOfKey(key.Key) != alg {
		return invalidToken("the token's algorithm is not the one of its key")
	}
	signed, err := jose.ParseSigned(token)
	if err != nil || len(signed.Signatures) != 1 || signed.Signatures[0].Header.Algorithm != alg {
		return invalidToken("the token's signature is invalid")
	}
	if _, err := signed.Verify(key.Key); err != nil {
		return invalidToken("the token's signature is invalid")
	}
	return nil
}

func principalOf(payload map[string]any, kid string) (*Principal, *AuthError) {
	sub, ok1 := payload["sub"].(string)
	jti, ok2 := payload["jti"].(string)
	clientID, ok3 := payload["client_id"].(string)
	if !ok1 || !ok2 || !ok3 {
		return nil, invalidToken("the token lacks sub, jti or client_id")
	}
	var audience string
	switch aud := payload["aud"].(type) {
	case string:
		audience = aud
	case []any:
		first, ok := "", false
		if len(aud) == 1 {
			first, ok = aud[0].(string)
		}
		if !ok {
			return nil, invalidToken("the token must have exactly one audience")
		}
		audience = first
	default:
		return nil, invalidToken("the token must have exactly one audience")
	}
	scopes := []string{}
	if raw, present := payload["scope"]; present {
		scope, ok := raw.(string)
		if !ok {
			return nil, invalidToken("the token's scope claim is malformed")
		}
		for _, s := range strings.Split(scope, " ") {
			if s != "" {
				scopes = append(scopes, s)
			}
		}
	}
	exp, iat := payload["exp"].(float64), payload["iat"].(float64)
	return &Principal{
		ClientID: clientID, Subject: sub, Audience: audience, Issuer: payload["iss"].(string), JTI: jti, KeyID: kid,
		Scopes: scopes, IssuedAt: time.Unix(int64(iat), 0), Expiry: time.Unix(int64(exp), 0), Claims: payload,
	}, nil
}

// bearerCredential is the token of the call's authorization values: none,
// one Bearer credential, or a refusal (two credentials → invalid_request).
func bearerCredential(values []string) (string, *AuthError) {
	const two = "the request carries more than one authorization header; send exactly one"
	if len(values) > 1 {
		return "", invalidRequest(two)
	}
	if len(values) == 0 || values[0] == "" {
		return "", nil
	}
	authorization := values[0]
	if strings.Contains(authorization, ",") {
		return "", invalidRequest(two)
	}
	scheme, token, hasSpace := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "bearer") || len(scheme) != 6 {
		return "", invalidToken("the authorization header must use the Bearer scheme")
	}
	if !hasSpace {
		return "", invalidToken("the bearer token is missing from the authorization header")
	}
	return strings.Trim(token, " \t\n\r\v\f"), nil
}

// verifyToken verifies one token from scratch: prechecks, key, signature, claims.
func (v *Verifier) verifyToken(ctx context.Context, token string) (*Principal, *AuthError) {
	pre, err := v.precheck(token)
	if err != nil {
		return nil, err
	}
	key, keyErr := v.keys.Key(ctx, pre.kid)
	if keyErr != nil {
		return nil, keyErr
	}
	if key == nil {
		return nil, invalidToken("the token was signed with an unknown key")
	}
	if err := verifySignature(token, pre.alg, key); err != nil {
		return nil, err
	}
	return principalOf(pre.payload, pre.kid)
}
