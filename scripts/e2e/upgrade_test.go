//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/order"
)

// Records the first version of the worker wrote (intake/testdata, dumped from
// its code) keep working on workerd: replayed byte for byte with the
// Content-Type they were first sent with, refusing another order under their
// key, and an expired claim placed again under the order id the first
// version would have given.
func TestUpgradeFromTheFirstVersionsRecords(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	raw, err := os.ReadFile("../../intake/testdata/v1-kv-records.json")
	if err != nil {
		t.Fatal(err)
	}
	var dump map[string]json.RawMessage
	if err := json.Unmarshal(raw, &dump); err != nil {
		t.Fatal(err)
	}
	// Under keys of this run: the workers are shared, and the TinyGo leg
	// runs the suite again on fresh state anyway.
	records := map[string]string{}
	for _, k := range []string{"result:v1-placed", "result:v1-refused", "pending:v1-claimed"} {
		var value string
		json.Unmarshal(dump[k], &value)
		records[k] = value
	}
	kvPut(t, w, records)
	var placed, refused struct {
		Status int
		Body   string
	}
	json.Unmarshal(dump["v1-placed.response"], &placed)
	json.Unmarshal(dump["v1-refused.response"], &refused)

	r := raw1(t, w, "v1-placed", msft)
	if r.status != 200 || string(r.body) != placed.Body || r.header.Get("Idempotent-Replay") != "true" ||
		r.header.Get("Content-Type") != "application/json" {
		t.Errorf("v1 receipt: %s (%v), want 200 with the v1 bytes %s", r, r.header, placed.Body)
	}
	r = raw1(t, w, "v1-refused", `{"symbol":"AAPL","side":"sell","quantity":5}`)
	if r.status != 422 || string(r.body) != refused.Body || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("v1 refusal: %s (%v), want 422 application/json with the v1 bytes %s", r, r.header, refused.Body)
	}
	wantError(t, post(t, w, "v1-placed", `{"symbol":"MSFT","side":"buy","quantity":7}`), 422, "idempotency_key_reused")

	var claim idempotency.Claim
	json.Unmarshal([]byte(records["pending:v1-claimed"]), &claim)
	brk := `{"symbol":"BRK.B","side":"buy","quantity":3}`
	rc := wantReceipt(t, post(t, w, "v1-claimed", brk), "v1-claimed", mustOrder(t, brk))
	if want := order.OrderID("", "v1-claimed", claim.Fingerprint); rc.OrderID != want {
		t.Errorf("the expired v1 claim was placed as %s, want the v1 order id %s", rc.OrderID, want)
	}
}

// The same for a strict-mode row written before response_headers existed.
func TestUpgradeFromTheFirstVersionsD1Rows(t *testing.T) {
	t.Parallel()
	w := strictWorker.get(t)
	key := newKey()
	body := `{"error":"order_rejected","message":"The order gateway refused this order (reason says why); a new order needs a new Idempotency-Key.","reason":"market closed"}`
	fp := mustOrder(t, msft).Fingerprint()
	wrangler(t, w, "d1", "execute", "order-intake-idempotency", "--env", "strict", "--command", fmt.Sprintf(
		`INSERT INTO idempotency_records (record_key, fingerprint, status, response_status, response_body, claimed_at, lease_until, completed_at, expires_at)
		 VALUES ('%s', '%s', 'completed', 422, '%s', 1, 2, 3, 9999999999999)`, key, fp, body))
	for range 2 { // from D1, then from the KV cache it refilled
		r := raw1(t, w, key, msft)
		if r.status != 422 || string(r.body) != body || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("v1 row: %s (%v), want 422 application/json with its bytes", r, r.header)
		}
	}
}

// raw1 posts body under key without send's checks, which expect the
// Content-Type of this version's answers.
func raw1(t *testing.T, w *worker, key, body string) reply {
	t.Helper()
	w.traffic.RLock()
	defer w.traffic.RUnlock()
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/orders", strings.NewReader(body))
	req.Header.Set("Idempotency-Key", key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func mustOrder(t *testing.T, body string) order.Order {
	t.Helper()
	o, err := order.ParseOrder([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return o
}
