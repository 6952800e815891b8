//go:build e2e

package e2e

import (
	"net/http"
	"testing"
)

// strictWorkers are strict mode's, on D1 and on Durable Objects.
var strictWorkers = []*worker{strictWorker, durableWorker}

// Strict mode (docs/strict-mode.md) keeps the same contract with the records
// in D1 or in Durable Objects; the state machine is shared, so this checks
// each store's path end to end rather than every rule again. Their race is
// in race_test.go.
func TestStrictReceiptReplayReuse(t *testing.T) {
	t.Parallel()
	for _, w := range strictWorkers {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			checkReceiptReplayReuse(t, w.get(t))
		})
	}
}

func checkReceiptReplayReuse(t *testing.T, w *worker) {
	t.Helper()
	key := newKey()
	first := post(t, w, key, msft)
	wantReceipt(t, first, key, msftOrder)
	wantReplay(t, post(t, w, key, msft), first.body)
	wantReplay(t, post(t, w, key, `{"quantity":1e2,"side":"buy","symbol":"MSFT"}`), first.body)
	wantError(t, post(t, w, key, aapl), http.StatusUnprocessableEntity, "idempotency_key_reused")
	wantReplay(t, send(t, w, http.MethodPost, "/", msft, "Idempotency-Key", key), first.body)
	// Refused requests touch no storage in strict mode either.
	wantError(t, post(t, w, newKey(), `{"symbol":"MSFT"}`), http.StatusUnprocessableEntity, "invalid_order", "fields")
}
