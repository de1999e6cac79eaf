package tessera

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"google.golang.org/grpc"
	jose "gopkg.in/square/go-jose.v2"

	tesserav1 "tessera/sdk/go/tesserav1"
)

// KeySource finds the issuer's public key for an exact kid: nil when no such
// key is known, an *AuthError (UNAVAILABLE) when no key set could be loaded.
type KeySource interface {
	Key(ctx context.Context, kid string) (*jose.JSONWebKey, *AuthError)
}

// JWKSFetcher gets the issuer's JWK Set as JSON.
type JWKSFetcher func(ctx context.Context) ([]byte, error)

// JWKSFromTokenService fetches the JWK Set with TokenService/GetJwks.
func JWKSFromTokenService(conn grpc.ClientConnInterface) JWKSFetcher {
	client := tesserav1.NewTokenServiceClient(conn)
	return func(ctx context.Context) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		res, err := client.GetJwks(ctx, &tesserav1.GetJwksRequest{})
		if err != nil {
			return nil, err
		}
		return []byte(res.GetJwksJson()), nil
	}
}

// DefaultRefetchCooldown is the least time between two JWKS fetches caused by unknown kids.
const DefaultRefetchCooldown = 30 * time.Second

// KeySet is the issuer's key set, cached: an unknown kid causes at most one
// fetch per cooldown (a flood of random kids causes no fetch storm),
// concurrent fetches are one, and a failed fetch keeps the last good set.
// WatchKeys replaces it as the token service pushes changes.
type KeySet struct {
	fetch    JWKSFetcher
	cooldown time.Duration
	now      func() time.Time

	mu        sync.Mutex
	keys      map[string]*jose.JSONWebKey
	revoked   map[string]bool
	loaded    bool
	lastFetch time.Time
	fetching  chan struct{}
}

// NewKeySet is a key set fetched with fetch; cooldown 0 means DefaultRefetchCooldown.
func NewKeySet(fetch JWKSFetcher, cooldown time.Duration) *KeySet {
	if cooldown <= 0 {
		cooldown = DefaultRefetchCooldown
	}
	return &KeySet{fetch: fetch, cooldown: cooldown, now: time.Now, keys: map[string]*jose.JSONWebKey{}, revoked: map[string]bool{}}
}

func parseJWKS(raw []byte) (map[string]*jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, err
	}
	keys := map[string]*jose.JSONWebKey{}
	for i := range set.Keys {
		key := set.Keys[i]
		if key.KeyID != "" && key.IsPublic() && key.Valid() {
			keys[key.KeyID] = &key
		}
	}
	return keys, nil
}

// Replace installs a key set pushed by the token service (WatchKeys), with
// the kids revoked in an emergency.
func (s *KeySet) Replace(jwksJSON []byte, revokedKids []string) error {
	keys, err := parseJWKS(jwksJSON)
	if err != nil {
		return err
	}
	revoked := map[string]bool{}
	for _, kid := range revokedKids {
		revoked[kid] = true
	}
	s.mu.Lock()
	s.keys, s.revoked, s.loaded = keys, revoked, true
	s.mu.Unlock()
	return nil
}

// Key implements KeySource.
func (s *KeySet) Key(ctx context.Context, kid string) (*jose.JSONWebKey, *AuthError) {
	for attempt := 0; ; attempt++ {
		s.mu.Lock()
		if s.revoked[kid] {
			s.mu.Unlock()
			return nil, nil
		}
		if key, ok := s.keys[kid]; ok {
			s.mu.Unlock()
			return key, nil
		}
		if attempt > 0 || (s.loaded && s.now().Sub(s.lastFetch) < s.cooldown) {
			loaded := s.loaded
			s.mu.Unlock()
			if !loaded {
				return nil, unavailable("the issuer's keys could not be fetched")
			}
			return nil, nil
		}
		wait := s.fetching
		if wait == nil {
			wait = make(chan struct{})
			s.fetching = wait
			s.lastFetch = s.now()
			go s.refresh(wait)
		}
		s.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, unavailable("the issuer's keys could not be fetched in time")
		}
	}
}

func (s *KeySet) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := s.fetch(ctx)
	var keys map[string]*jose.JSONWebKey
	if err == nil {
		keys, err = parseJWKS(raw)
	}
	s.mu.Lock()
	if err == nil {
		s.keys, s.loaded = keys, true
	}
	s.fetching = nil
	s.mu.Unlock()
	close(done)
}
