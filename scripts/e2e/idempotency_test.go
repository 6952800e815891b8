//go:build e2e

package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/order"
)

// The idempotency state machine and the receipt (docs/contract.md).

const aapl = `{"symbol":"AAPL","side":"sell","quantity":5}`

var aaplOrder = order.Order{Symbol: "AAPL", Side: "sell", Quantity: 5}

func TestReceiptAndReplay(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	key := newKey()
	first := post(t, w, key, msft)
	rc := wantReceipt(t, first, key, msftOrder)

	wantReplay(t, post(t, w, key, msft), first.body)
	// POST / is the same intake as POST /orders.
	wantReplay(t, send(t, w, http.MethodPost, "/", msft, "Idempotency-Key", key), first.body)
	// Another order under a completed key is refused and changes nothing.
	wantError(t, post(t, w, key, aapl), http.StatusUnprocessableEntity, "idempotency_key_reused")
	wantReplay(t, post(t, w, key, msft), first.body)

	// docs/contract.md#logs: one line per intake request, the order placed exactly once.
	replayed := waitLog(t, w, 3, func(e logEntry) bool { return e.OrderID == rc.OrderID && e.Event == "replayed" })
	placed := waitLog(t, w, 1, func(e logEntry) bool { return e.OrderID == rc.OrderID && e.Event == "placed" })
	for _, e := range append(replayed, placed...) {
		if e.ElapsedMs == nil || (e.Event == "placed") != (e.Status == http.StatusCreated) {
			t.Errorf("log line %+v: want status 201 for placed, 200 for replayed, and elapsedMs", e)
		}
	}
}

// docs/contract.md#logs: the log carries the outcome, never the order.
func TestLogOmitsTheOrder(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	key := newKey()
	o := order.Order{Symbol: "LOGPROBE7", Side: "sell", Quantity: 31337}
	rc := wantReceipt(t, post(t, w, key, `{"symbol":"LOGPROBE7","side":"sell","quantity":31337}`), key, o)
	waitLog(t, w, 1, func(e logEntry) bool {
		return e.OrderID == rc.OrderID && e.Event == "placed" && e.Status == http.StatusCreated && e.ElapsedMs != nil
	})
	if strings.Contains(w.srv.Log(), "LOGPROBE7") {
		t.Error("the order's symbol is in the worker's log")
	}
}

// Different keys give different order ids, each one derived from the key
// and the order (wantReceipt checks the derivation).
func TestOrderIDsDiffer(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	k1, k2, k3 := newKey(), newKey(), newKey()
	ids := map[string]string{}
	for name, r := range map[string]order.Receipt{
		"k1 MSFT": wantReceipt(t, post(t, w, k1, msft), k1, msftOrder),
		"k2 MSFT": wantReceipt(t, post(t, w, k2, msft), k2, msftOrder),
		"k3 AAPL": wantReceipt(t, post(t, w, k3, aapl), k3, aaplOrder),
	} {
		if other, dup := ids[r.OrderID]; dup {
			t.Errorf("%s and %s got the same order id %s", name, other, r.OrderID)
		}
		ids[r.OrderID] = name
	}
}

// A claim is written and completed within milliseconds over HTTP, so these
// states are set up by writing the claim into the worker's local KV.
func TestPendingClaims(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	live, expired := newKey(), newKey()
	claimedAt := time.Now()
	leaseUntil := claimedAt.Add(15 * time.Second) // a wrangler kv command can take 9 s on a loaded machine
	kvPut(t, w, map[string]string{
		"pending:" + live:    claimRecord(t, msftOrder, claimedAt, leaseUntil),
		"pending:" + expired: claimRecord(t, aaplOrder, claimedAt.Add(-time.Minute), claimedAt.Add(-time.Second)),
	})
	if left := time.Until(leaseUntil); left < 3*time.Second {
		t.Fatalf("writing the claims took until %v before the lease ends; too late to test it", left)
	}

	before := time.Now()
	r := post(t, w, live, msft)
	after := time.Now()
	body := wantError(t, r, http.StatusConflict, "in_progress", "retryAfter")
	header, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil {
		t.Errorf("Retry-After %q is not whole seconds", r.header.Get("Retry-After"))
	}
	if n, _ := body["retryAfter"].(float64); int(n) != header || float64(header) != n {
		t.Errorf("body retryAfter %v, header Retry-After %d; want the same whole number", body["retryAfter"], header)
	}
	// Seconds until the lease ends, rounded up, as seen between send and answer.
	lo, hi := max(1, idempotency.CeilSeconds(leaseUntil.Sub(after))), max(1, idempotency.CeilSeconds(leaseUntil.Sub(before)))
	if header < lo || header > hi {
		t.Errorf("Retry-After %d, want %d..%d (the lease ends at %s)", header, lo, hi, leaseUntil.Format(time.StampMilli))
	}

	// 422 outranks 409: another order under a live claim is a reused key.
	wantError(t, post(t, w, live, aapl), http.StatusUnprocessableEntity, "idempotency_key_reused")

	// A claim whose lease has ended blocks nothing, whatever it claimed.
	wantReceipt(t, post(t, w, expired, msft), expired, msftOrder)

	time.Sleep(time.Until(leaseUntil) + 200*time.Millisecond)
	first := post(t, w, live, msft)
	wantReceipt(t, first, live, msftOrder)
	wantReplay(t, post(t, w, live, msft), first.body)
}

func TestCorruptRecord(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	badResult, badClaim, emptyResult := newKey(), newKey(), newKey()
	kvPut(t, w, map[string]string{
		"result:" + badResult:   "not json",
		"pending:" + badClaim:   `{"fingerprint":""}`,
		"result:" + emptyResult: `{"fingerprint":"x","status":201,"body":""}`,
	})
	keys := []string{badResult, badClaim, emptyResult}
	for _, key := range keys {
		wantError(t, post(t, w, key, msft), http.StatusInternalServerError, "corrupt_record")
	}
	if out := wrangler(t, w, "kv", "key", "get", "result:"+badResult, "--binding", "ORDERS"); !strings.Contains(out, "not json") {
		t.Errorf("the corrupt record was changed; it now reads:\n%s", out)
	}
	// Logged, and nothing placed.
	for _, key := range keys {
		waitLog(t, w, 1, func(e logEntry) bool {
			return e.Code == "corrupt_record" && e.Status == http.StatusInternalServerError && strings.Contains(e.Error, key)
		})
		id := order.OrderID("", key, msftOrder.Fingerprint())
		for _, e := range logEntries(w) {
			if e.OrderID == id && (e.Event == "placed" || e.Event == "result_write_error") {
				t.Errorf("key %s: placed, logged %+v", key, e)
			}
		}
	}
}
