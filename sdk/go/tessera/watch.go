package tessera

import (
	"context"
	"time"

	"google.golang.org/grpc"

	tesserav1 "tessera/sdk/go/tesserav1"
)

// reconnectDelay grows from 100 ms to 5 s between attempts while the token service is unreachable.
func reconnectDelay(attempt int) time.Duration {
	delay := 100 * time.Millisecond << uint(attempt)
	if attempt > 6 || delay > 5*time.Second {
		return 5 * time.Second
	}
	return delay
}

// receiver is a server stream of the token service.
type receiver[M any] interface {
	Recv() (M, error)
}

// keepFollowing reopens a stream with open and applies its messages until ctx
// ends, waiting longer between attempts while none succeeds.
func keepFollowing[M any](ctx context.Context, auth ClientAuth, open func(context.Context, *tesserav1.ClientCredentials) (receiver[M], error),
	heartbeatMs func(M) uint32, apply func(M)) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if followOnce(ctx, auth, open, heartbeatMs, apply) {
			attempt = 0
		}
		timer := time.NewTimer(reconnectDelay(attempt))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}

// followOnce follows one stream until it breaks, or stays silent for twice
// its heartbeat interval (then it is cancelled); true when a message arrived.
func followOnce[M any](ctx context.Context, auth ClientAuth, open func(context.Context, *tesserav1.ClientCredentials) (receiver[M], error),
	heartbeatMs func(M) uint32, apply func(M)) bool {
	credentials, err := auth(ctx)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := open(ctx, credentials)
	if err != nil {
		return false
	}
	heard := make(chan uint32, 1)
	go watchdog(ctx, cancel, heard)
	received := false
	for {
		message, err := stream.Recv()
		if err != nil {
			return received
		}
		received = true
		select {
		case heard <- heartbeatMs(message):
		default:
		}
		apply(message)
	}
}

// watchdog cancels a stream that stays silent for twice its heartbeat interval (default 10 s).
func watchdog(ctx context.Context, cancel context.CancelFunc, heard <-chan uint32) {
	interval := 10 * time.Second
	for {
		timer := time.NewTimer(2 * interval)
		select {
		case ms := <-heard:
			timer.Stop()
			if ms > 0 {
				interval = time.Duration(ms) * time.Millisecond
			}
		case <-timer.C:
			cancel()
			return
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}

// WatchRevocations follows TokenService/WatchRevocations into revocations
// until ctx ends: a snapshot, then each revocation as it happens, resuming
// from the last cursor after a broken stream. A stream silent for longer than
// twice its heartbeat is treated as dead and reopened; meanwhile the set goes
// stale and the verifier fails closed after its staleness bound.
func WatchRevocations(ctx context.Context, conn grpc.ClientConnInterface, auth ClientAuth, revocations *Revocations) {
	client := tesserav1.NewTokenServiceClient(conn)
	cursor := ""
	open := func(ctx context.Context, credentials *tesserav1.ClientCredentials) (receiver[*tesserav1.WatchRevocationsResponse], error) {
		return client.WatchRevocations(ctx, &tesserav1.WatchRevocationsRequest{Client: credentials, Cursor: cursor})
	}
	keepFollowing(ctx, auth, open, (*tesserav1.WatchRevocationsResponse).GetHeartbeatIntervalMs, func(message *tesserav1.WatchRevocationsResponse) {
		if message.GetReset_() {
			revocations.Reset()
		}
		for _, r := range message.GetRevocations() {
			switch {
			case r.GetToken() != nil:
				revocations.RevokeToken(r.GetToken().GetIssuer(), r.GetToken().GetJti(), r.GetToken().GetExpiresAt())
			case r.GetKey() != nil:
				revocations.RevokeKey(r.GetKey().GetIssuer(), r.GetKey().GetKid(), r.GetKey().GetExpiresAt())
			case r.GetClient() != nil:
				revocations.CutOffClient(r.GetClient().GetIssuer(), r.GetClient().GetClientId(), r.GetClient().GetIssuedBefore(), r.GetClient().GetExpiresAt())
			}
		}
		if message.GetCursor() != "" {
			cursor = message.GetCursor()
		}
		if message.GetSynced() {
			revocations.Synced()
		}
	})
}

// WatchKeys follows TokenService/WatchKeys into keys until ctx ends: every
// published key set replaces the one held, with its emergency-revoked kids.
func WatchKeys(ctx context.Context, conn grpc.ClientConnInterface, auth ClientAuth, keys *KeySet) {
	client := tesserav1.NewTokenServiceClient(conn)
	open := func(ctx context.Context, credentials *tesserav1.ClientCredentials) (receiver[*tesserav1.WatchKeysResponse], error) {
		return client.WatchKeys(ctx, &tesserav1.WatchKeysRequest{Client: credentials})
	}
	keepFollowing(ctx, auth, open, (*tesserav1.WatchKeysResponse).GetHeartbeatIntervalMs, func(message *tesserav1.WatchKeysResponse) {
		_ = keys.Replace([]byte(message.GetJwks().GetJwksJson()), message.GetRevokedKids())
	})
}
