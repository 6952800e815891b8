package d1_test

import (
	"context"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/idempotency/storetest"
	"github.com/orderintake/edge/kvstore"
)

// The D1 store over the fake table, whose methods are atomic as SQLite's
// statements are: of concurrent claims exactly one wins, everywhere. Its
// claim does not say who holds a key it refused, and its claims carry no id
// ((claimed_at, fingerprint) names one). With the KV cache in front it must
// promise the same: the cache may lag the table, never outlive it.
func TestConformance(t *testing.T) {
	t.Parallel()
	opts := storetest.Options{NoHolder: true, NoClaimID: true}
	t.Run("without a cache", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
			return d1.Store{Table: d1.NewFakeTable(), Now: clock.Now}
		}, opts)
	})
	t.Run("with the KV cache", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
			return d1.Store{Table: d1.NewFakeTable(), Results: &kv.Store{KV: kvstore.NewFake(clock.Now)}, Now: clock.Now}
		}, opts)
	})
}

// A result refilled into the KV cache by a Lookup that found it only in the
// table is cached for what the row has left, rounded down: the cache may lag
// the table, never outlive it.
func TestTheCacheRefilledByLookupNeverOutlivesTheRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := kvstore.NewClock(storetest.Start)
	cache := kvstore.NewFake(clock.Now)
	store := d1.Store{Table: d1.NewFakeTable(), Results: &kv.Store{KV: cache}, Now: clock.Now}
	c := idempotency.Claim{Fingerprint: "fp", ID: "c", ClaimedAt: clock.Now(), LeaseUntil: clock.Now().Add(storetest.Lease)}
	if won, _, err := store.Claim(ctx, "k", c); !won || err != nil {
		t.Fatalf("Claim: %v, %v", won, err)
	}
	r := idempotency.Result{Fingerprint: "fp", Status: 200, Body: "ok", CompletedAt: clock.Now(), ExpiresAt: clock.Now().Add(2 * time.Hour)}
	if err := store.Complete(ctx, "k", c, r); err != nil {
		t.Fatal(err)
	}
	cache.Delete(ctx, kv.ResultPrefix+"k") // evicted, or not yet propagated here
	clock.Advance(time.Hour + 300*time.Millisecond)
	puts := cache.Calls(kvstore.OpPut)
	if result, _, err := store.Lookup(ctx, "k"); err != nil || result == nil {
		t.Fatalf("Lookup from the table: %v, %v", result, err)
	}
	if cache.Calls(kvstore.OpPut) != puts+1 {
		t.Fatal("the Lookup did not refill the cache")
	}
	clock.Advance(time.Hour - 300*time.Millisecond)
	if result, _, err := store.Lookup(ctx, "k"); err != nil || result != nil {
		t.Errorf("Lookup when the row has expired: %v, %v; want nothing (the cache outlived the row)", result, err)
	}
}
