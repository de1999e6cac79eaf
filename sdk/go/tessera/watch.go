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

func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
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
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if received := followRevocations(ctx, client, auth, revocations, &cursor); received {
			attempt = 0
		}
		if !sleep(ctx, reconnectDelay(attempt)) {
			return
		}
	}
}

func followRevocations(ctx context.Context, client tesserav1.TokenServiceClient, auth ClientAuth, revocations *Revocations, cursor *string) bool {
	credentials, err := auth(ctx)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.WatchRevocations(ctx, &tesserav1.WatchRevocationsRequest{Client: credentials, Cursor: *cursor})
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
		case heard <- message.GetHeartbeatIntervalMs():
		default:
		}
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
				revocations.CutOffClient(r.GetClient().GetIssuer(), r.GetClient().GetClientId(), r.GetClient().GetIssuedBefore())
			}
		}
		if message.GetCursor() != "" {
			*cursor = message.GetCursor()
		}
		if message.GetSynced() {
			revocations.Synced()
		}
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

// WatchKeys follows TokenService/WatchKeys into keys until ctx ends: every
// published key set replaces the one held, with its emergency-revoked kids.
func WatchKeys(ctx context.Context, conn grpc.ClientConnInterface, auth ClientAuth, keys *KeySet) {
	client := tesserav1.NewTokenServiceClient(conn)
	for attempt := 0; ctx.Err() == nil; attempt++ {
		if received := followKeys(ctx, client, auth, keys); received {
			attempt = 0
		}
		if !sleep(ctx, reconnectDelay(attempt)) {
			return
		}
	}
}

func followKeys(ctx context.Context, client tesserav1.TokenServiceClient, auth ClientAuth, keys *KeySet) bool {
	credentials, err := auth(ctx)
	if err != nil {
		return false
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := client.WatchKeys(ctx, &tesserav1.WatchKeysRequest{Client: credentials})
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
		case heard <- message.GetHeartbeatIntervalMs():
		default:
		}
		_ = keys.Replace([]byte(message.GetJwks().GetJwksJson()), message.GetRevokedKids())
	}
}
