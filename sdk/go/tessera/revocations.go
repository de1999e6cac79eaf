package tessera

import (
	"context"
	"sync"
	"time"
)

// Revocations is a verifier's deny set: revoked tokens (iss, jti), keys
// (iss, kid) and client cut-offs (iss, client_id, issued_before), fed by
// WatchRevocations. Until it is loaded, and once its feed has been silent
// longer than the staleness bound, the verifier fails closed (UNAVAILABLE)
// unless told to fail open.
type Revocations struct {
	staleAfter time.Duration
	now        func() time.Time

	mu      sync.Mutex
	tokens  map[[2]string]int64
	keys    map[[2]string]int64
	clients map[[2]string]int64
	// clientExpiry is when each client cut-off can be dropped (no token it covers is unexpired).
	clientExpiry map[[2]string]int64
	loaded       bool
	lastSync     time.Time
	listeners    map[int]func()
	nextID       int
	loadedCh     chan struct{}
}

// DefaultStaleAfter is how long a silent feed is trusted, as in the Node verifier.
const DefaultStaleAfter = 30 * time.Second

// NewRevocations is an empty, not yet loaded deny set; staleAfter 0 means DefaultStaleAfter.
func NewRevocations(staleAfter time.Duration) *Revocations {
	if staleAfter <= 0 {
		staleAfter = DefaultStaleAfter
	}
	r := &Revocations{staleAfter: staleAfter, now: time.Now, listeners: map[int]func(){}, loadedCh: make(chan struct{})}
	r.reset()
	return r
}

func (r *Revocations) reset() {
	r.tokens, r.keys, r.clients, r.clientExpiry = map[[2]string]int64{}, map[[2]string]int64{}, map[[2]string]int64{}, map[[2]string]int64{}
}

// RevokeToken denies the token (iss, jti).
func (r *Revocations) RevokeToken(issuer, jti string, expiresAt int64) {
	r.apply(func() { r.tokens[[2]string{issuer, jti}] = expiresAt })
}

// RevokeKey denies every token signed with the key (iss, kid).
func (r *Revocations) RevokeKey(issuer, kid string, expiresAt int64) {
	r.apply(func() { r.keys[[2]string{issuer, kid}] = expiresAt })
}

// CutOffClient denies every token of the client issued before issuedBefore (epoch seconds).
func (r *Revocations) CutOffClient(issuer, clientID string, issuedBefore, expiresAt int64) {
	r.apply(func() {
		key := [2]string{issuer, clientID}
		if issuedBefore > r.clients[key] {
			r.clients[key] = issuedBefore
		}
		if expiresAt > r.clientExpiry[key] {
			r.clientExpiry[key] = expiresAt
		}
	})
}

func (r *Revocations) apply(change func()) {
	r.mu.Lock()
	change()
	listeners := make([]func(), 0, len(r.listeners))
	for _, l := range r.listeners {
		listeners = append(listeners, l)
	}
	r.mu.Unlock()
	for _, l := range listeners {
		l()
	}
}

// Reset drops every revocation held (a snapshot follows).
func (r *Revocations) Reset() {
	r.mu.Lock()
	r.reset()
	r.mu.Unlock()
}

// Synced records that the set is up to date with the token service now.
func (r *Revocations) Synced() {
	r.mu.Lock()
	if !r.loaded {
		close(r.loadedCh)
	}
	r.loaded, r.lastSync = true, r.now()
	r.prune()
	r.mu.Unlock()
}

// WaitLoaded returns once the revocations in force are loaded (the first
// snapshot), or ctx's error: wait for it before serving, as the verifier
// answers UNAVAILABLE until then.
func (r *Revocations) WaitLoaded(ctx context.Context) error {
	select {
	case <-r.loadedCh:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// prune drops entries whose tokens have all expired anyway (r.mu is held).
// An entry without an expiry (0) is kept.
func (r *Revocations) prune() {
	now := r.now().Unix()
	for _, entries := range []map[[2]string]int64{r.tokens, r.keys} {
		for key, expiresAt := range entries {
			if expiresAt > 0 && expiresAt < now {
				delete(entries, key)
			}
		}
	}
	for key, expiresAt := range r.clientExpiry {
		if expiresAt > 0 && expiresAt < now {
			delete(r.clientExpiry, key)
			delete(r.clients, key)
		}
	}
}

// Current says whether the set is loaded and its feed confirmed it recently.
func (r *Revocations) Current() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.loaded && r.now().Sub(r.lastSync) <= r.staleAfter
}

// Denied says whether the principal's token is revoked (itself, its key, or its client's cut-off).
func (r *Revocations) Denied(p *Principal) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tokens[[2]string{p.Issuer, p.JTI}]; ok {
		return true
	}
	if _, ok := r.keys[[2]string{p.Issuer, p.KeyID}]; ok {
		return true
	}
	cutOff, ok := r.clients[[2]string{p.Issuer, p.ClientID}]
	return ok && p.IssuedAt.Unix() < cutOff
}

// onChange calls listener after every revocation until the returned function is called.
func (r *Revocations) onChange(listener func()) func() {
	r.mu.Lock()
	id := r.nextID
	r.nextID++
	r.listeners[id] = listener
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		delete(r.listeners, id)
		r.mu.Unlock()
	}
}
