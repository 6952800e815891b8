//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
)

// The timing rules (docs/contract.md), on leaseWorker (PENDING_LEASE_SECONDS=2).

// The claim's lease comes from the setting, its KV expiry is floored at 60 s
// (local KV, like the real one, refuses a 2-second expirationTtl, so without
// the floor this order would fail with 503), and the result is kept for
// RESULT_TTL_SECONDS.
func TestLeaseSettingAndKVExpiry(t *testing.T) {
	t.Parallel()
	w := leaseWorker.get(t)
	key := newKey()
	rc := wantReceipt(t, post(t, w, key, msft), key, msftOrder)

	var claim idempotency.Claim
	if err := json.Unmarshal([]byte(wrangler(t, w, "kv", "key", "get", "pending:"+key, "--binding", "ORDERS")), &claim); err != nil {
		t.Fatalf("reading the claim: %v", err)
	}
	if lease := claim.LeaseUntil.Sub(claim.ClaimedAt); lease != 2*time.Second {
		t.Errorf("claim lease %v, want 2s from PENDING_LEASE_SECONDS", lease)
	}

	var listed []struct {
		Name       string `json:"name"`
		Expiration int64  `json:"expiration"`
	}
	if err := json.Unmarshal([]byte(wrangler(t, w, "kv", "key", "list", "--binding", "ORDERS")), &listed); err != nil {
		t.Fatalf("listing keys: %v", err)
	}
	accepted, _ := time.Parse(time.RFC3339Nano, rc.AcceptedAt)
	want := map[string]int64{
		"pending:" + key: claim.ClaimedAt.Unix() + 60,
		"result:" + key:  accepted.Unix() + 86400,
	}
	for _, k := range listed {
		if expected, ok := want[k.Name]; ok {
			if d := k.Expiration - expected; d < -2 || d > 2 {
				t.Errorf("%s expires at %d, want about %d", k.Name, k.Expiration, expected)
			}
			delete(want, k.Name)
		}
	}
	for name := range want {
		t.Errorf("%s is not in the namespace", name)
	}
}

// A result write lost after placement (docs/contract.md#failures-fail-closed): here the result is deleted
// behind the worker's back. The claim alone holds retries until the lease
// ends; then a retry places the order again under the same order id.
func TestLostResultWrite(t *testing.T) {
	t.Parallel()
	w := leaseWorker.get(t)
	key := newKey()
	start := time.Now()
	first := post(t, w, key, msft)
	rc := wantReceipt(t, first, key, msftOrder)
	wrangler(t, w, "kv", "key", "delete", "result:"+key, "--binding", "ORDERS")

	// Deleting takes a wrangler start, often longer than the 2-second lease;
	// the 409 of a live claim is checked in TestPendingClaims either way.
	if time.Since(start) < 1500*time.Millisecond {
		r := post(t, w, key, msft)
		wantError(t, r, http.StatusConflict, "in_progress", "retryAfter")
		if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 1 || ra > 2 {
			t.Errorf("Retry-After %q during a 2-second lease", r.header.Get("Retry-After"))
		}
	} else {
		t.Logf("the delete took %v: the lease had ended, no 409 to see", time.Since(start).Round(time.Millisecond))
	}

	time.Sleep(time.Until(start.Add(2*time.Second + 500*time.Millisecond)))
	again := post(t, w, key, msft)
	if rc2 := wantReceipt(t, again, key, msftOrder); rc2.OrderID != rc.OrderID {
		t.Errorf("the second placement has order id %s, the first %s; want the same", rc2.OrderID, rc.OrderID)
	}
	wantReplay(t, post(t, w, key, msft), again.body)
	waitLog(t, w, 2, func(e logEntry) bool { return e.OrderID == rc.OrderID && e.Event == "placed" })
}

// The local result cache serves a replay only until the result's own
// expiry: a minute after the order, with the cache on and the entry in it,
// the same key places anew (docs/contract.md: The local result cache).
func TestCachedResultIsNotServedAfterItExpires(t *testing.T) {
	t.Parallel()
	w := cacheWorker.get(t)
	key := newKey()
	created := post(t, w, key, msft)
	first := wantReceipt(t, created, key, msftOrder)
	deadline := time.Now().Add(90 * time.Second)
	for {
		r := post(t, w, key, msft)
		if r.status == http.StatusCreated {
			again := wantReceipt(t, r, key, msftOrder)
			if again.OrderID != first.OrderID || again.AcceptedAt == first.AcceptedAt {
				t.Errorf("after expiry: %+v, want a new placement under the same order id", again)
			}
			accepted, _ := time.Parse(time.RFC3339Nano, first.AcceptedAt)
			if since := time.Since(accepted); since < 60*time.Second {
				t.Errorf("placed anew %v after the first, before the result's 60 s were up", since)
			}
			return
		}
		if r.status != http.StatusOK || string(r.body) != string(created.body) || time.Now().After(deadline) {
			t.Fatalf("%s; want replays of %s until the result expires, then a new placement", r, created.body)
		}
		time.Sleep(2 * time.Second)
	}
}
