package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/kvstore"
)

// Server is a store's server as RunCrashes drives it.
type Server struct {
	// NewStore returns a store on the server whose records expire on clock.
	NewStore NewStore
	// DropConnections ends every connection between the stores and the
	// server, as a network fault or an administrator would; the server
	// stays up and accepts new ones.
	DropConnections func(t testing.TB)
	// Restart ends the server at once, as a crash would, and starts it
	// again with what it had made durable.
	Restart func(t testing.TB)
}

// RunCrashes runs the crash-like cases of a store on a server, through
// the engine, each on a server of its own from start:
//
//   - connections dropped before the lookup, between the claim and the
//     completion, and before a replay: the store reconnects, the function
//     runs once, and its answer is stored and replayed;
//   - the server restarted while a claim is in flight (its call died with
//     it): the claim survives, keeps retries out until its lease ends, and
//     then the key is run once and replayed, across a second restart too;
//   - a claim, a completion and a release each sent twice, as a store or its
//     driver sends one again when the connection broke before the answer
//     came: each does what it does once.
func RunCrashes(t *testing.T, start func(t *testing.T) Server) {
	t.Helper()
	tests := []struct {
		name string
		test func(*crash)
	}{
		{"connections dropped around the claim and the completion", droppedConnections},
		{"a server restart with a claim in flight", restartWithClaimInFlight},
		{"calls sent twice", sentTwice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			server := start(t)
			clock := kvstore.NewClock(Start)
			store := server.NewStore(t, clock)
			c := &crash{t: t, clock: clock, store: store, server: server,
				engine: &idempotency.Engine{Store: store, Now: clock.Now, Lease: Lease}}
			tt.test(c)
		})
	}
}

type crash struct {
	t      *testing.T
	clock  *kvstore.Clock
	store  idempotency.Store
	server Server
	engine *idempotency.Engine
	runs   atomic.Int32
}

var crashCall = idempotency.Call{Operation: "place", Scope: "acme", Key: "order-1", Fingerprint: "fp"}

// place is the function run at most once: it counts its runs, and calls
// during, if set, while it runs.
func (c *crash) place(during func()) idempotency.Func {
	return func(context.Context) (idempotency.Response, error) {
		n := c.runs.Add(1)
		if during != nil {
			during()
		}
		return idempotency.Response{Status: 201, Header: map[string]string{"Content-Type": "application/json"},
			Body: fmt.Appendf(nil, `{"placed":%d}`, n)}, nil
	}
}

// do runs the call and fails the test unless its outcome is of kind want.
func (c *crash) do(when string, want idempotency.Kind, during func()) idempotency.Outcome {
	c.t.Helper()
	out := c.engine.Do(context.Background(), crashCall, c.place(during))
	if out.Kind != want || out.Err != nil {
		c.t.Fatalf("%s: %v (%v), want %v", when, out.Kind, out.Err, want)
	}
	return out
}

func (c *crash) wantRuns(when string, want int32) {
	c.t.Helper()
	if n := c.runs.Load(); n != want {
		c.t.Errorf("%s: the function ran %d times, want %d", when, n, want)
	}
}

func droppedConnections(c *crash) {
	c.server.DropConnections(c.t)
	first := c.do("the first call, its connections dropped before it", idempotency.Executed, func() { c.server.DropConnections(c.t) })
	if !first.Final {
		c.t.Fatal("the first call's answer is not final")
	}
	c.server.DropConnections(c.t)
	replay := c.do("the retry", idempotency.Replayed, nil)
	if string(replay.Response.Body) != string(first.Response.Body) {
		c.t.Errorf("the retry got %s, want the first answer %s", replay.Response.Body, first.Response.Body)
	}
	c.wantRuns("after the retry", 1)
}

func restartWithClaimInFlight(c *crash) {
	ctx := context.Background()
	now := c.clock.Now()
	inFlight := idempotency.Claim{Fingerprint: crashCall.Fingerprint, ID: "the-call-that-died", ClaimedAt: now, LeaseUntil: now.Add(Lease)}
	if won, _, err := c.store.Claim(ctx, crashCall.RecordKey(), inFlight); !won || err != nil {
		c.t.Fatalf("the claim in flight: won %v, %v", won, err)
	}
	c.server.Restart(c.t)
	busy := c.do("a retry right after the restart", idempotency.InFlight, nil)
	if !busy.LeaseUntil.Equal(inFlight.LeaseUntil) {
		c.t.Errorf("the retry waits until %v, want the claim's lease end %v", busy.LeaseUntil, inFlight.LeaseUntil)
	}
	c.clock.Advance(Lease - time.Millisecond)
	c.do("a retry just before the lease ends", idempotency.InFlight, nil)
	c.clock.Advance(time.Millisecond)
	first := c.do("a retry when the lease has ended", idempotency.Executed, nil)
	c.server.Restart(c.t)
	replay := c.do("a retry after a second restart", idempotency.Replayed, nil)
	if string(replay.Response.Body) != string(first.Response.Body) {
		c.t.Errorf("the retry after the second restart got %s, want %s", replay.Response.Body, first.Response.Body)
	}
	c.wantRuns("at the end", 1)
}

func sentTwice(c *crash) {
	ctx := context.Background()
	now := c.clock.Now()
	key := crashCall.RecordKey()
	claim := idempotency.Claim{Fingerprint: "fp", ID: "sent-twice", ClaimedAt: now, LeaseUntil: now.Add(Lease)}
	result := idempotency.Result{Fingerprint: "fp", Status: 201, Body: "placed", CompletedAt: now, ExpiresAt: now.Add(time.Hour)}
	for i := range 2 {
		if won, _, err := c.store.Claim(ctx, key, claim); !won || err != nil {
			c.t.Fatalf("Claim, sent %d times: won %v, %v", i+1, won, err)
		}
	}
	for i := range 2 {
		if err := c.store.Complete(ctx, key, claim, result); err != nil {
			c.t.Fatalf("Complete, sent %d times: %v", i+1, err)
		}
	}
	for i := range 2 {
		if err := c.store.Release(ctx, key, claim); err != nil {
			c.t.Fatalf("Release, sent %d times: %v", i+1, err)
		}
	}
	if won, _, err := c.store.Claim(ctx, key, claim); won || err != nil {
		c.t.Errorf("Claim of a completed key by the claim that completed it: won %v, %v; want it to lose", won, err)
	}
	if got, _, err := c.store.Lookup(ctx, key); err != nil || got == nil || got.Body != "placed" {
		c.t.Errorf("Lookup = %s, %v; want the result", showResult(got), err)
	}
}
