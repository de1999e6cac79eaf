package tessera

import (
	"context"
	"errors"
	"sync"
	"time"
)

// VerifierOptions configure a Verifier. Defaults are the Node TokenVerifier's.
type VerifierOptions struct {
	// Issuer is the expected iss, compared exactly.
	Issuer string
	// Keys are the issuer's public keys, e.g. NewKeySet(JWKSFromTokenService(conn), 0).
	Keys KeySource
	// Algorithms accepted; default ES256, EdDSA, RS256. none and HMAC are never accepted.
	Algorithms []string
	// ClockTolerance on exp, nbf and iat; default 30 s, at most 5 min.
	ClockTolerance time.Duration
	// MaxLifetime refuses tokens whose exp - iat is longer; default 1 h, at most 24 h.
	MaxLifetime time.Duration
	// MaxTokenBytes refuses longer tokens before parsing; default 8192.
	MaxTokenBytes int
	// Revocations, fed by WatchRevocations; nil: none are followed.
	Revocations *Revocations
	// FailOpen accepts otherwise valid tokens while Revocations is not loaded or stale (default: UNAVAILABLE).
	FailOpen bool
	// Now is the clock (tests freeze it); default time.Now.
	Now func() time.Time
	// CacheSize is how many verified tokens are kept; default 10000, negative disables.
	CacheSize int
}

// Verifier verifies access tokens locally (RFC 9068, RFC 8725) and decides
// whether they satisfy a method's rule. Safe for concurrent use.
type Verifier struct {
	issuer         string
	keys           KeySource
	algorithms     map[string]bool
	clockTolerance time.Duration
	maxLifetime    time.Duration
	maxTokenBytes  int
	revocations    *Revocations
	failOpen       bool
	now            func() time.Time
	cacheSize      int

	mu    sync.Mutex
	cache map[string]*Principal
}

// NewVerifier checks the options and builds a verifier.
func NewVerifier(options VerifierOptions) (*Verifier, error) {
	if options.Issuer == "" || options.Keys == nil {
		return nil, errors.New("tessera: VerifierOptions need Issuer and Keys")
	}
	v := &Verifier{issuer: options.Issuer, keys: options.Keys, algorithms: map[string]bool{}, clockTolerance: options.ClockTolerance,
		maxLifetime: options.MaxLifetime, maxTokenBytes: options.MaxTokenBytes, revocations: options.Revocations,
		failOpen: options.FailOpen, now: options.Now, cacheSize: options.CacheSize, cache: map[string]*Principal{}}
	algorithms := options.Algorithms
	if len(algorithms) == 0 {
		algorithms = []string{"ES256", "EdDSA", "RS256"}
	}
	for _, alg := range algorithms {
		v.algorithms[alg] = true
	}
	if v.clockTolerance == 0 {
		v.clockTolerance = DefaultClockTolerance
	}
	if v.maxLifetime == 0 {
		v.maxLifetime = DefaultMaxLifetime
	}
	if v.maxTokenBytes == 0 {
		v.maxTokenBytes = DefaultMaxTokenBytes
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.cacheSize == 0 {
		v.cacheSize = 10000
	}
	if v.clockTolerance < 0 || v.clockTolerance > 5*time.Minute || v.maxLifetime < time.Second || v.maxLifetime > 24*time.Hour ||
		v.maxTokenBytes < 1024 || v.maxTokenBytes > 65536 {
		return nil, errors.New("tessera: ClockTolerance, MaxLifetime or MaxTokenBytes out of bounds")
	}
	return v, nil
}

func (v *Verifier) cached(token string) *Principal {
	v.mu.Lock()
	p := v.cache[token]
	v.mu.Unlock()
	if p != nil && p.Expiry.Unix() <= v.now().Unix()-int64(v.clockTolerance.Seconds()) {
		return nil
	}
	return p
}

func (v *Verifier) remember(token string, p *Principal) {
	if v.cacheSize < 0 {
		return
	}
	v.mu.Lock()
	if len(v.cache) >= v.cacheSize {
		v.cache = map[string]*Principal{}
	}
	v.cache[token] = p
	v.mu.Unlock()
}

func (v *Verifier) checkRevocation(p *Principal) *AuthError {
	if v.revocations == nil {
		return nil
	}
	if !v.failOpen && !v.revocations.Current() {
		return unavailable("the revocation list is not loaded yet or is stale")
	}
	if v.revocations.Denied(p) {
		return invalidToken("the token has been revoked")
	}
	return nil
}

// Authenticate verifies the bearer token of a call's authorization values.
// No token → invalid_token without an error code in the challenge; two → invalid_request.
func (v *Verifier) Authenticate(ctx context.Context, authorization []string) (*Principal, error) {
	token, err := bearerCredential(authorization)
	if err != nil {
		return nil, err
	}
	if token == "" {
		e := invalidToken("a bearer token is required")
		e.tokenSent = false
		return nil, e
	}
	p := v.cached(token)
	if p == nil {
		if !b64token.MatchString(token) {
			return nil, invalidToken("the bearer token is malformed")
		}
		var verr *AuthError
		if p, verr = v.verifyToken(ctx, token); verr != nil {
			return nil, verr
		}
		v.remember(token, p)
	}
	if err := v.checkRevocation(p); err != nil {
		return nil, err
	}
	return p, nil
}

// Authorize checks a principal against a bearer rule: the audience, then the scopes.
func (v *Verifier) Authorize(p *Principal, rule *Rule) error {
	if p.Audience != rule.Audience {
		return insufficientScope("the token was not issued for this service", rule)
	}
	granted := map[string]bool{}
	for _, s := range p.Scopes {
		granted[s] = true
	}
	if !rule.Satisfied(granted) {
		return insufficientScope("the token lacks the scopes this method requires", rule)
	}
	return nil
}

// Check is the whole check of one call: nil principal for a public or
// client-authentication method, the principal when the token satisfies the
// rule, else the *AuthError to answer with.
func (v *Verifier) Check(ctx context.Context, authorization []string, rule *Rule) (*Principal, error) {
	if rule.Kind != RuleBearer {
		return nil, nil
	}
	p, err := v.Authenticate(ctx, authorization)
	if err != nil {
		return nil, err
	}
	if err := v.Authorize(p, rule); err != nil {
		return nil, err
	}
	return p, nil
}

// StillValid says whether a verified token is still good now (not expired, not revoked): for long streams.
func (v *Verifier) StillValid(p *Principal) bool {
	return p.Expiry.Add(v.clockTolerance).After(v.now()) && (v.revocations == nil || !v.revocations.Denied(p))
}
