package tessera

import (
	"context"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	tesserav1 "tessera/sdk/go/tesserav1"
)

// TokenSource gets access tokens from Tessera's TokenService/IssueToken and
// caches one per (audience, scopes): reused until shortly before it expires,
// refreshed in the background once 75% of its lifetime has passed, and
// fetched once for any number of concurrent callers (single-flight). While
// the token service is down, a cached token is used until shortly before its exp.
type TokenSource struct {
	client  tesserav1.TokenServiceClient
	auth    ClientAuth
	now     func() time.Time
	fetches int64

	mu      sync.Mutex
	entries map[string]*tokenEntry
}

type tokenEntry struct {
	token       string
	usableUntil time.Time
	refreshFrom time.Time
	inFlight    chan struct{}
	err         error
}

// NewTokenSource gets tokens over conn (a connection to Tessera's gRPC listener), authenticated by auth.
func NewTokenSource(conn grpc.ClientConnInterface, auth ClientAuth) *TokenSource {
	return &TokenSource{client: tesserav1.NewTokenServiceClient(conn), auth: auth, now: time.Now, entries: map[string]*tokenEntry{}}
}

// Fetches is how many tokens the source has requested so far.
func (s *TokenSource) Fetches() int { return int(atomic.LoadInt64(&s.fetches)) }

func cacheKey(audience string, scopes []string) string {
	sorted := append([]string{}, scopes...)
	sort.Strings(sorted)
	return audience + "\x00" + strings.Join(unique(sorted), " ")
}

// Token is a token for the audience carrying the scopes.
func (s *TokenSource) Token(ctx context.Context, audience string, scopes []string) (string, error) {
	key := cacheKey(audience, scopes)
	s.mu.Lock()
	entry := s.entries[key]
	if entry == nil {
		entry = &tokenEntry{}
		s.entries[key] = entry
	}
	now := s.now()
	if entry.token != "" && now.Before(entry.usableUntil) {
		token := entry.token
		if !now.Before(entry.refreshFrom) && entry.inFlight == nil {
			s.startFetch(entry, audience, scopes)
		}
		s.mu.Unlock()
		return token, nil
	}
	if entry.inFlight == nil {
		s.startFetch(entry, audience, scopes)
	}
	wait := entry.inFlight
	s.mu.Unlock()
	select {
	case <-wait:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if entry.token != "" && s.now().Before(entry.usableUntil) {
		return entry.token, nil
	}
	return "", entry.err
}

// Invalidate drops a token the resource server refused (invalid_token), so that the next call fetches a fresh one.
func (s *TokenSource) Invalidate(audience string, scopes []string, token string) {
	s.mu.Lock()
	if entry := s.entries[cacheKey(audience, scopes)]; entry != nil && entry.token == token {
		entry.token = ""
	}
	s.mu.Unlock()
}

// startFetch runs one IssueToken for the entry; s.mu is held.
func (s *TokenSource) startFetch(entry *tokenEntry, audience string, scopes []string) {
	done := make(chan struct{})
	entry.inFlight = done
	atomic.AddInt64(&s.fetches, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var res *tesserav1.IssueTokenResponse
		credentials, err := s.auth(ctx)
		if err == nil {
			res, err = s.client.IssueToken(ctx, &tesserav1.IssueTokenRequest{Client: credentials, Audience: audience, Scopes: scopes})
		}
		s.mu.Lock()
		if err == nil {
			received := s.now()
			lifetime := time.Duration(res.GetExpiresIn()) * time.Second
			margin := lifetime / 10
			if margin > 10*time.Second {
				margin = 10 * time.Second
			}
			entry.token = res.GetAccessToken()
			entry.usableUntil = received.Add(lifetime - margin)
			entry.refreshFrom = received.Add(lifetime * 3 / 4)
			entry.err = nil
		} else {
			entry.err = err
		}
		entry.inFlight = nil
		s.mu.Unlock()
		close(done)
	}()
}
