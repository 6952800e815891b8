package durable_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	"github.com/orderintake/edge/idempotency/durable"
	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/idempotency/storetest"
	"github.com/orderintake/edge/kvstore"
)

// The store over the fake objects, whose methods are atomic as the class's
// are: of concurrent claims exactly one wins. As on D1, a claim does not
// say who holds a key it refused, and claims carry no id ((claimedAt,
// fingerprint) names one). With the KV cache in front it promises the same.
func TestConformance(t *testing.T) {
	t.Parallel()
	newStore := func(cached bool) storetest.NewStore {
		return func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
			var cache *kv.Store
			if cached {
				cache = &kv.Store{KV: kvstore.NewFake(clock.Now)}
			}
			return durable.New(durable.NewFake(), cache, clock.Now)
		}
	}
	opts := storetest.Options{NoHolder: true, NoClaimID: true,
		Corrupt: func(t *testing.T, store idempotency.Store, key string) {
			objects := store.(d1.Store).Table.(durable.Records).Objects.(*durable.Fake)
			objects.Corrupt(key, storetest.Start.Add(time.Hour))
		}}
	t.Run("without a cache", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, newStore(false), opts)
	})
	t.Run("with the KV cache", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, newStore(true), opts)
	})
}

// Record keys are spread over the Shards objects by hash, every object used.
func TestRecordKeysSpreadOverTheShards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := kvstore.NewClock(storetest.Start)
	objects := durable.NewFake()
	store := durable.New(objects, nil, clock.Now)
	const keys = 100 * durable.Shards
	for i := range keys {
		key := fmt.Sprintf("acme:key-%d", i)
		c := idempotency.Claim{Fingerprint: "fp", ClaimedAt: clock.Now(), LeaseUntil: clock.Now().Add(storetest.Lease)}
		if won, _, err := store.Claim(ctx, key, c); !won || err != nil {
			t.Fatalf("Claim(%q): %v, %v", key, won, err)
		}
	}
	names := objects.Objects()
	if len(names) != durable.Shards {
		t.Fatalf("%d keys landed in %d objects, want all %d", keys, len(names), durable.Shards)
	}
	// A change of the hash would move every stored key: pin it (FNV-1a of
	// the key, modulo 64, computed apart from Go).
	for key, want := range map[string]string{"k": "records-42", "acme:k": "records-44", "POST /webhooks acme k": "records-63"} {
		if got := durable.ObjectName(key); got != want {
			t.Errorf("ObjectName(%q) = %q, want %q", key, got, want)
		}
	}
}

// An object that throws, or cannot be reached, fails the call that needed
// it, and that call only: the engine answers 503 and places nothing.
func TestAFailingObjectFailsClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := kvstore.NewClock(storetest.Start)
	objects := durable.NewFake()
	engine := &idempotency.Engine{Store: durable.New(objects, &kv.Store{KV: kvstore.NewFake(clock.Now)}, clock.Now), Now: clock.Now}
	placed := 0
	place := func(context.Context) (idempotency.Response, error) {
		placed++
		return idempotency.Response{Status: http.StatusCreated, Body: []byte(`{"orderId":"o-1"}`)}, nil
	}
	call := idempotency.Call{Key: "k", Fingerprint: "fp"}
	unreachable := errors.New("Durable Object reset because its code was updated")
	for _, method := range []string{"get", "claim"} {
		objects.Fail(method, unreachable)
		if out := engine.Do(ctx, call, place); out.Kind != idempotency.StorageFailed || !errors.Is(out.Err, unreachable) {
			t.Errorf("%s failing: %v (%v), want StorageFailed", method, out.Kind, out.Err)
		}
	}
	if placed != 0 {
		t.Fatalf("placed %d times while the object failed, want 0", placed)
	}
	if out := engine.Do(ctx, call, place); out.Kind != idempotency.Executed || placed != 1 {
		t.Fatalf("once the object is back: %v, placed %d times; want Executed, once", out.Kind, placed)
	}
	// A result the object could not store is still given; the claim keeps
	// retries out until its lease ends, and nothing is placed twice meanwhile.
	other := idempotency.Call{Key: "k2", Fingerprint: "fp"}
	objects.Fail("complete", unreachable)
	if out := engine.Do(ctx, other, place); out.Kind != idempotency.Executed || out.Err == nil || placed != 2 {
		t.Fatalf("complete failing: %v (%v), placed %d; want Executed with the error, placed once more", out.Kind, out.Err, placed)
	}
	if out := engine.Do(ctx, other, place); out.Kind != idempotency.InFlight || placed != 2 {
		t.Errorf("the retry while the claim lives: %v, placed %d; want InFlight, no new placement", out.Kind, placed)
	}
}
