package intake

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	"github.com/orderintake/edge/order"
)

// v1Records are KV records as the first version of the worker wrote them
// (testdata/v1-kv-records.json, dumped from its code): a placed order, a
// refusal by the gateway, and a claim, with the answers it gave.
func v1Records(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile("testdata/v1-kv-records.json")
	if err != nil {
		t.Fatal(err)
	}
	var records map[string]json.RawMessage
	if err := json.Unmarshal(raw, &records); err != nil {
		t.Fatal(err)
	}
	return records
}

// v1Answer is an answer the first version gave.
type v1Answer struct {
	Status int
	Body   string
}

// seedV1 writes the first version's records into w's KV and returns the
// answers it gave for the placed and the refused order.
func (w *worker) seedV1(t *testing.T) (placed, refused v1Answer) {
	t.Helper()
	records := v1Records(t)
	for _, key := range []string{"result:v1-placed", "result:v1-refused", "pending:v1-claimed"} {
		var value string
		if err := json.Unmarshal(records[key], &value); err != nil {
			t.Fatal(err)
		}
		if err := w.kv.Put(context.Background(), key, value, 86400); err != nil {
			t.Fatal(err)
		}
	}
	json.Unmarshal(records["v1-placed.response"], &placed)
	json.Unmarshal(records["v1-refused.response"], &refused)
	return placed, refused
}

// Records the first version wrote keep working after the upgrade: they
// replay byte for byte with the Content-Type they were first sent with, a
// different order under their key is refused, and an expired claim is placed
// again under the order id the first version would have given.
func TestRecordsOfTheFirstVersionKeepWorking(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	placed, refused := w.seedV1(t)

	replay := w.do("POST", "/orders", msft100, "Idempotency-Key", "v1-placed")
	if replay.Code != 200 || replay.Body.String() != placed.Body || replay.Header().Get("Idempotent-Replay") != "true" {
		t.Errorf("v1 receipt replay: %d %s, want 200 and the v1 bytes %s", replay.Code, replay.Body.String(), placed.Body)
	}
	rec := w.do("POST", "/orders", `{"symbol":"AAPL","side":"sell","quantity":5}`, "Idempotency-Key", "v1-refused")
	if rec.Code != 422 || rec.Body.String() != refused.Body || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("v1 refusal replay: %d %q %s, want 422 application/json and the v1 bytes %s",
			rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(), refused.Body)
	}
	wantError(t, w.post("v1-placed", `{"symbol":"MSFT","side":"buy","quantity":101}`), 422, "idempotency_key_reused")

	// The v1 claim (BRK.B buy 3) holds its key until its lease ends, then the
	// order is placed under the id derived from the fingerprint v1 stored.
	var claim idempotency.Claim
	var raw string
	json.Unmarshal(v1Records(t)["pending:v1-claimed"], &raw)
	json.Unmarshal([]byte(raw), &claim)
	brk := `{"symbol":"BRK.B","side":"buy","quantity":3}`
	wantError(t, w.post("v1-claimed", brk), 409, "in_progress")
	w.clock.Advance(claim.LeaseUntil.Sub(w.clock.Now()))
	again := w.post("v1-claimed", brk)
	if again.Code != 201 || receiptOf(t, again).OrderID != order.OrderID("", "v1-claimed", claim.Fingerprint) {
		t.Errorf("after the v1 lease: %d %s, want 201 under order id %s", again.Code, again.Body.String(), order.OrderID("", "v1-claimed", claim.Fingerprint))
	}
	if w.placer.placed() != 1 {
		t.Errorf("placed %d orders, want only the reclaimed one", w.placer.placed())
	}
}

// The same in strict mode: a D1 row written before response_headers existed
// (NULL) replays as application/json, byte for byte.
func TestStrictRowsOfTheFirstVersionKeepWorking(t *testing.T) {
	t.Parallel()
	w := newStrictWorker(t, nil)
	_, refused := newWorker(t).seedV1(t)
	fp := mustOrder(t, `{"symbol":"AAPL","side":"sell","quantity":5}`).Fingerprint()
	w.table.Put("v1-refused", d1.Row{Fingerprint: fp, Completed: true, ResponseStatus: 422, ResponseBody: refused.Body,
		ClaimedAt: t0, LeaseUntil: t0.Add(30 * time.Second), CompletedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)})
	rec := w.post("v1-refused", `{"symbol":"AAPL","side":"sell","quantity":5}`)
	if rec.Code != 422 || rec.Body.String() != refused.Body || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("v1 row replay: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	// Served from D1, then from the KV cache it refilled: the same both times.
	if again := w.post("v1-refused", `{"symbol":"AAPL","side":"sell","quantity":5}`); again.Body.String() != refused.Body ||
		again.Header().Get("Content-Type") != "application/json" {
		t.Errorf("v1 row replayed from the cache: %q %s", again.Header().Get("Content-Type"), again.Body.String())
	}
}
