package memory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/memory"
	"github.com/orderintake/edge/idempotency/storetest"
	"github.com/orderintake/edge/kvstore"
)

// The in-memory store keeps the whole contract: one mutex makes each method
// atomic, so of concurrent claims exactly one wins and the loser is told
// which claim holds the key.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
		return memory.New(clock.Now)
	}, storetest.Options{})
}

// A long-running process does not keep every key it saw: every 1024 claims
// the store drops the results that expired and the claims whose lease
// ended, and keeps the rest.
func TestExpiredRecordsAreSwept(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := kvstore.NewClock(storetest.Start)
	store := memory.New(clock.Now)
	claim := func(key string, lease time.Duration) idempotency.Claim {
		c := idempotency.Claim{Fingerprint: "fp", ID: key, ClaimedAt: clock.Now(), LeaseUntil: clock.Now().Add(lease)}
		if won, _, err := store.Claim(ctx, key, c); !won || err != nil {
			t.Fatalf("Claim(%q) = %v, %v", key, won, err)
		}
		return c
	}
	for i := range 1000 { // results kept a minute
		key := fmt.Sprint("done-", i)
		c := claim(key, time.Minute)
		store.Complete(ctx, key, c, idempotency.Result{Fingerprint: "fp", Status: 200, Body: "ok", CompletedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Minute)})
	}
	for i := range 17 { // claims of a minute, never completed
		claim(fmt.Sprint("crashed-", i), time.Minute)
	}
	for i := range 3 { // claims and results that outlive the sweep
		claim(fmt.Sprint("running-", i), time.Hour)
		key := fmt.Sprint("kept-", i)
		store.Complete(ctx, key, claim(key, time.Minute), idempotency.Result{Fingerprint: "fp", Status: 200, Body: "ok", CompletedAt: clock.Now(), ExpiresAt: clock.Now().Add(time.Hour)})
	}
	if store.Len() != 1023 {
		t.Fatalf("Len() = %d before the sweep, want 1023 (the 1024th claim sweeps)", store.Len())
	}
	clock.Advance(time.Minute)
	claim("the-1024th", time.Minute) // sweeps first
	if store.Len() != 7 {
		t.Errorf("Len() = %d after the sweep, want the 6 live records and the new claim", store.Len())
	}
	for i := range 3 {
		if result, c, _ := store.Lookup(ctx, fmt.Sprint("kept-", i)); result == nil || c != nil {
			t.Errorf("kept-%d: a live result was swept", i)
		}
		if _, c, _ := store.Lookup(ctx, fmt.Sprint("running-", i)); c == nil {
			t.Errorf("running-%d: a live claim was swept", i)
		}
	}
}
