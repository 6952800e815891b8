//go:build e2e

package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/scripts/internal/oms"
)

// gatewayToken is the gateway workers' PLACEMENT_TOKEN; the stand-in refuses
// calls without it (401, which the worker answers with 502).
const gatewayToken = "e2e-gateway-t0ken-5d1f"

var (
	standInOnce   sync.Once
	standInServer *httptest.Server
	standInOMS    *oms.Server
)

// standIn is the stand-in order gateway (scripts/internal/oms) in this
// process, on 127.0.0.1, shared by the gateway workers; each test plans the
// answers for its own clientOrderId, so tests share it safely.
func standIn() *httptest.Server {
	standInOnce.Do(func() {
		standInOMS = oms.New(gatewayToken, oms.Plan{}, nil)
		standInServer = httptest.NewServer(standInOMS)
	})
	return standInServer
}

// workerLogLeaks reports whether any of the worker's own JSON log lines
// carries the gateway token. (wrangler's banner lists --var values; on
// Cloudflare the token is a secret and is not printed.)
func workerLogLeaks(w *worker) bool {
	for line := range strings.Lines(w.srv.Log()) {
		if strings.HasPrefix(line, "{") && strings.Contains(line, gatewayToken) {
			return true
		}
	}
	return false
}

// docs/downstreams.md#the-order-gateway, first row: one call downstream, then replays that call nobody.
func TestGatewayPlacesOnceAndReplays(t *testing.T) {
	t.Parallel()
	w := gatewayWorker.get(t)
	key := newKey()
	id := order.OrderID("", key, msftOrder.Fingerprint())
	first := post(t, w, key, msft)
	wantReceipt(t, first, key, msftOrder)
	wantReplay(t, post(t, w, key, msft), first.body)
	wantReplay(t, post(t, w, key, `{"quantity":1e2,"side":"buy","symbol":"MSFT"}`), first.body)
	if n := standInOMS.Calls(id); n != 1 {
		t.Errorf("the gateway saw %d calls under clientOrderId %s, want 1", n, id)
	}
	waitLog(t, w, 1, func(e logEntry) bool { return e.Event == "placed" && e.OrderID == id })
	if workerLogLeaks(w) {
		t.Error("a log line of the worker carries the gateway token")
	}
}

// docs/downstreams.md#the-order-gateway, second row: a refusal is stored and replayed, byte for byte, with
// its own status; the gateway is asked once.
func TestGatewayRefusalIsStoredAndReplayed(t *testing.T) {
	t.Parallel()
	w := gatewayWorker.get(t)
	key := newKey()
	id := order.OrderID("", key, msftOrder.Fingerprint())
	standInOMS.SetPlan(id, oms.Plan{Refuse: "market closed for MSFT"})
	first := post(t, w, key, msft)
	body := wantError(t, first, http.StatusUnprocessableEntity, "order_rejected", "reason")
	if body["reason"] != "market closed for MSFT" {
		t.Errorf("reason %v, want the gateway's message", body["reason"])
	}
	if v := first.header.Get("Idempotent-Replay"); v != "" {
		t.Errorf("the first answer carries Idempotent-Replay: %q", v)
	}
	for range 2 {
		replay := post(t, w, key, msft)
		if replay.status != http.StatusUnprocessableEntity || string(replay.body) != string(first.body) || replay.header.Get("Idempotent-Replay") != "true" {
			t.Errorf("replay: %s (Idempotent-Replay %q), want the refusal's 422 and bytes %s", replay, replay.header.Get("Idempotent-Replay"), first.body)
		}
	}
	if n := standInOMS.Calls(id); n != 1 {
		t.Errorf("the gateway saw %d calls, want 1", n)
	}
	waitLog(t, w, 1, func(e logEntry) bool { return e.Event == "order_rejected" && e.OrderID == id && e.Status == 422 })
}

// docs/downstreams.md#the-order-gateway, third row: a failing gateway releases the claim; the client's
// retries reach it under one clientOrderId until it places the order.
func TestGatewayFailsTwiceThenPlaces(t *testing.T) {
	t.Parallel()
	w := gatewayWorker.get(t)
	key := newKey()
	id := order.OrderID("", key, msftOrder.Fingerprint())
	standInOMS.SetPlan(id, oms.Plan{First: []string{"503", "503"}})
	wantError(t, post(t, w, key, msft), http.StatusBadGateway, "placement_failed")
	wantError(t, post(t, w, key, msft), http.StatusBadGateway, "placement_failed")
	wantReceipt(t, post(t, w, key, msft), key, msftOrder)
	if n := standInOMS.Calls(id); n != 3 {
		t.Errorf("the gateway saw %d calls under clientOrderId %s, want 3", n, id)
	}
	waitLog(t, w, 2, func(e logEntry) bool { return e.Event == "placement_error" && e.OrderID == id })
}

// A gateway that never answers: the platform's fetch is aborted at
// PLACEMENT_TIMEOUT_MS (3 s here, long enough for the requests sent
// meanwhile to be answered on a loaded machine), the client gets 502 and the claim is
// released; requests in flight meanwhile are served, and workerd cancels none
// as hung (which Go timers on the request path would cause).
func TestGatewayHangIsCutAtTheTimeout(t *testing.T) {
	t.Parallel()
	w := gatewayWorker.get(t)
	key := newKey()
	id := order.OrderID("", key, msftOrder.Fingerprint())
	standInOMS.SetPlan(id, oms.Plan{First: []string{"hang"}})

	type answer struct {
		status int
		took   time.Duration
		err    error
	}
	hung := make(chan answer, 1)
	go func() { // not post: t.Fatal must not run outside the test's goroutine
		w.traffic.RLock()
		defer w.traffic.RUnlock()
		req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/orders", strings.NewReader(msft))
		req.Header.Set("Idempotency-Key", key)
		start := time.Now()
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			hung <- answer{resp.StatusCode, time.Since(start), nil}
			return
		}
		hung <- answer{err: err}
	}()
	// Served while the hang is in flight, before it ends.
	for deadline := time.Now().Add(5 * time.Second); standInOMS.Calls(id) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	other := newKey()
	wantReceipt(t, post(t, w, other, msft), other, msftOrder)
	if r := send(t, w, http.MethodGet, "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("GET /healthz during the hang: %s", r)
	}
	select {
	case a := <-hung:
		t.Fatalf("the hanging placement answered (%d, %v) before the requests sent during it", a.status, a.err)
	default:
	}

	if a := <-hung; a.err != nil || a.status != http.StatusBadGateway || a.took < 3*time.Second || a.took > 6*time.Second {
		t.Errorf("the hanging placement: %d (%v) after %v, want 502 after the 3 s timeout plus at most a 3 s margin", a.status, a.err, a.took)
	}
	wantReceipt(t, post(t, w, key, msft), key, msftOrder)
	if n := standInOMS.Calls(id); n != 2 {
		t.Errorf("the gateway saw %d calls under clientOrderId %s, want 2 (the hang, the retry)", n, id)
	}
	waitLog(t, w, 1, func(e logEntry) bool { return e.Event == "placement_error" && e.OrderID == id })
	for _, hungMark := range []string{"never generate a response", "hung", "canceled"} {
		if strings.Contains(strings.ToLower(w.srv.Log()), hungMark) {
			t.Errorf("the worker's log mentions %q:\n%s", hungMark, w.srv.LogTail(30))
		}
	}
}

// Strict mode through the gateway: 50 concurrent duplicates per key reach
// the gateway exactly once.
func TestGatewayStrictConcurrentDuplicatesCallOnce(t *testing.T) {
	t.Parallel()
	res := runRace(t, strictGatewayWorker.get(t), 50, 5)
	for _, r := range res.Rounds {
		id := order.OrderID("", r.Key, msftOrder.Fingerprint())
		if n := standInOMS.Calls(id); n != 1 || r.Placements != 1 {
			t.Errorf("key %s: the gateway saw %d calls, the worker logged %d placements; want 1 and 1", r.Key, n, r.Placements)
		}
	}
}
