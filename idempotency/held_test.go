package idempotency_test

import (
	"context"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/memory"
	"github.com/orderintake/edge/kvstore"
)

// The function Do runs finds the claim it holds, and the result it would
// store, with HeldFrom; nowhere else is a claim held.
func TestHeldFromGivesTheFunctionItsClaim(t *testing.T) {
	t.Parallel()
	clock := kvstore.NewClock(t0)
	store := memory.New(clock.Now)
	engine := &idempotency.Engine{Store: store, Now: clock.Now, Retention: time.Hour, NewClaimID: func() string { return "claim-1" }}
	call := idempotency.Call{Operation: "charge", Scope: "acme", Key: "k", Fingerprint: "fp"}
	if _, ok := idempotency.HeldFrom(context.Background()); ok {
		t.Error("HeldFrom outside Do found a claim")
	}
	var held idempotency.Held
	out := engine.Do(context.Background(), call, func(ctx context.Context) (idempotency.Response, error) {
		var ok bool
		if held, ok = idempotency.HeldFrom(ctx); !ok {
			t.Error("HeldFrom inside the function found no claim")
		}
		return idempotency.Response{Status: 201, Body: []byte("done")}, nil
	})
	if out.Kind != idempotency.Executed || !out.Final {
		t.Fatalf("Do = %v", out.Kind)
	}
	want := idempotency.Claim{Fingerprint: "fp", ID: "claim-1", ClaimedAt: t0, LeaseUntil: t0.Add(idempotency.DefaultLease)}
	if held.Key != call.RecordKey() || held.Claim != want || held.Retention != time.Hour {
		t.Errorf("held %+v, want key %q, claim %+v and an hour's retention", held, call.RecordKey(), want)
	}
	stored, _, _ := store.Lookup(context.Background(), call.RecordKey())
	if r := held.Result(idempotency.Response{Status: 201, Body: []byte("done")}, t0); stored == nil ||
		r.Fingerprint != stored.Fingerprint || r.Status != stored.Status || r.Body != stored.Body || !r.ExpiresAt.Equal(stored.ExpiresAt) {
		t.Errorf("Held.Result = %+v, want what Do stored: %+v", r, stored)
	}
}
