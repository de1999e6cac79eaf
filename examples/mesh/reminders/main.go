// The Reminders service of the example mesh, in Go: grpc-go protected by
// Tessera's Go SDK (sdk/go) with the scopes reminders.proto declares, and
// calling the Node CalendarService with its own least-privilege tokens.
// examples/mesh/polyglot.ts generates its code and builds it (GOPATH mode,
// Debian's Go packages), and starts it:
//
//	TESSERA_GRPC=127.0.0.1:9090 TESSERA_ISSUER=http://127.0.0.1:8080 CALENDAR=127.0.0.1:50051 \
//	CLIENT_ID=reminders CLIENT_SECRET=... reminders
//
// It prints "LISTENING host:port" once serving, and exits when its stdin closes.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/local"
	"google.golang.org/grpc/status"

	calendarv1 "tessera/examples/gen/example/calendar/v1"
	remindersv1 "tessera/examples/gen/example/reminders/v1"
	"tessera/sdk/go/tessera"
)

type reminders struct {
	remindersv1.UnimplementedRemindersServiceServer
	calendar calendarv1.CalendarServiceClient
	count    int64
}

// SetReminder reads the event from Calendar with Reminders' own token (the
// Caller's interceptor attaches it), never with its caller's.
func (r *reminders) SetReminder(ctx context.Context, req *remindersv1.SetReminderRequest) (*remindersv1.SetReminderResponse, error) {
	caller, _ := tessera.PrincipalFrom(ctx) // the guard put it there: a verified token with reminder.set
	calling, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := r.calendar.GetEvent(calling, &calendarv1.GetEventRequest{Id: req.GetEventId()})
	if err != nil {
		// The same code, without Calendar's AuthErrorDetail: the refusal was Reminders', not its caller's.
		return nil, status.Errorf(status.Code(err), "calendar: %s", status.Convert(err).Message())
	}
	event := res.GetEvent()
	return &remindersv1.SetReminderResponse{Reminder: &remindersv1.Reminder{
		Id:           fmt.Sprintf("rem-%d", atomic.AddInt64(&r.count, 1)),
		EventId:      event.GetId(),
		EventTitle:   event.GetTitle(),
		RemindAtUnix: event.GetStartUnix() - 60*req.GetMinutesBefore(),
		SetBy:        caller.ClientID,
	}}, nil
}

func (r *reminders) DeleteReminder(context.Context, *remindersv1.DeleteReminderRequest) (*remindersv1.DeleteReminderResponse, error) {
	return &remindersv1.DeleteReminderResponse{}, nil
}

func main() {
	ctx := context.Background()

	// [START protect]
	// Keys and revocations pushed by Tessera's streams, to this service as its own client.
	conn, err := grpc.Dial(os.Getenv("TESSERA_GRPC"), grpc.WithTransportCredentials(local.NewCredentials())) // loopback; TLS elsewhere
	if err != nil {
		log.Fatal(err)
	}
	auth := tessera.ClientSecret(os.Getenv("CLIENT_ID"), os.Getenv("CLIENT_SECRET"))
	keys, revocations := tessera.NewKeySet(tessera.JWKSFromTokenService(conn), 0), tessera.NewRevocations(0)
	go tessera.WatchRevocations(ctx, conn, auth, revocations)
	go tessera.WatchKeys(ctx, conn, auth, keys)
	if err := revocations.WaitLoaded(ctx); err != nil {
		log.Fatal(err)
	}
	verifier, err := tessera.NewVerifier(tessera.VerifierOptions{Issuer: os.Getenv("TESSERA_ISSUER"), Keys: keys, Revocations: revocations})
	if err != nil {
		log.Fatal(err)
	}
	// Each method's rule, from the descriptors; a method without one: *tessera.RuleError, never open.
	guard, err := tessera.NewGuard(verifier, remindersv1.File_example_reminders_v1_reminders_proto.Services().ByName("RemindersService"))
	if err != nil {
		log.Fatal(err)
	}
	server := grpc.NewServer(grpc.UnaryInterceptor(guard.Unary), grpc.StreamInterceptor(guard.Stream))
	// [END protect]

	// [START call]
	// Reminders' own tokens, with the scopes of each called method's rule.
	caller := tessera.NewCaller(tessera.NewTokenSource(conn, auth))
	calendar, err := grpc.Dial(os.Getenv("CALENDAR"), grpc.WithTransportCredentials(local.NewCredentials()),
		grpc.WithUnaryInterceptor(caller.Unary), grpc.WithStreamInterceptor(caller.Stream))
	// [END call]
	if err != nil {
		log.Fatal(err)
	}

	remindersv1.RegisterRemindersServiceServer(server, &reminders{calendar: calendarv1.NewCalendarServiceClient(calendar)})
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // the mesh that started it is gone: stop
		os.Exit(0)
	}()
	fmt.Printf("LISTENING %s\n", listener.Addr())
	log.Fatal(server.Serve(listener))
}
