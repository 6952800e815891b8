package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderintake/edge/order"
)

const gatewayToken = "gw-t0ken-9c41e7"

// maxReasonChars is how much of a refusal's reason order.Gateway keeps.
const maxReasonChars = 200

func market(symbol, side string, quantity uint64) order.Order {
	return order.Order{Symbol: symbol, Side: side, Quantity: quantity, Type: order.TypeMarket, TimeInForce: order.TimeInForceDay}
}

func limit(symbol, side string, quantity uint64, price, timeInForce string) order.Order {
	return order.Order{Symbol: symbol, Side: side, Quantity: quantity, Type: order.TypeLimit, LimitPrice: price, TimeInForce: timeInForce}
}

// downstream is a fake order gateway: it answers each call with the next of
// its scripted answers (the last one repeats) and records what it was sent.
type downstream struct {
	*httptest.Server
	mu      sync.Mutex
	answers []func(w http.ResponseWriter, r *http.Request)
	calls   []downstreamCall
}

type downstreamCall struct {
	method, path string
	header       http.Header
	body         string
}

func answerWith(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hang answers only when the caller has gone: past any timeout.
func hang(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func newDownstream(t *testing.T, answers ...func(http.ResponseWriter, *http.Request)) *downstream {
	d := &downstream{answers: answers}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d.mu.Lock()
		d.calls = append(d.calls, downstreamCall{r.Method, r.URL.Path, r.Header.Clone(), string(body)})
		next := d.answers[min(len(d.calls), len(d.answers))-1]
		d.mu.Unlock()
		next(w, r)
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *downstream) called() []downstreamCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]downstreamCall(nil), d.calls...)
}

// clientFetch is the order.Fetcher natively, for these tests: an http.Client
// under a context deadline, the body read within it as the platform's fetch
// reads it. On Workers a Go timer would hang requests, so the worker's
// order.Fetcher is isolate.Fetch, which aborts from JavaScript.
func clientFetch(req *http.Request, timeout time.Duration) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// gatewayTo places the worker's orders through the order gateway at url,
// as main.go wires it when PLACEMENT_URL is set.
func (w *worker) gatewayTo(url string) *worker {
	w.placer.next = order.Gateway{URL: url, Token: gatewayToken, Timeout: 100 * time.Millisecond,
		Fetcher: Fetch(clientFetch), Now: w.clock.Now}
	return w
}

// docs/downstreams.md#the-order-gateway: each answer of the gateway, what the client gets, what is stored,
// and what a retry of the key does.
func TestGatewayOutcomes(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", maxReasonChars+1)
	tests := []struct {
		name    string
		answer  func(http.ResponseWriter, *http.Request)
		status  int
		code    string // "" for a receipt
		reason  string
		event   string
		retried bool // whether a retry of the key reaches the gateway again
	}{
		{"200", answerWith(200, `{"id":"oms-1"}`), 201, "", "", "placed", false},
		{"201 without a body", answerWith(201, ``), 201, "", "", "placed", false},
		{"204", answerWith(204, ``), 201, "", "", "placed", false},
		{"400 with a message", answerWith(400, `{"error":"bad_symbol","message":"Unknown symbol MSFT."}`), 422, "order_rejected", "Unknown symbol MSFT.", "order_rejected", false},
		{"403 with an error string", answerWith(403, `{"error":"account suspended"}`), 422, "order_rejected", "account suspended", "order_rejected", false},
		{"404 without a body", answerWith(404, ``), 422, "order_rejected", "Not Found", "order_rejected", false},
		{"422 with a message that is not a string", answerWith(422, `{"message":{"text":"x"},"error":"market closed"}`), 422, "order_rejected", "market closed", "order_rejected", false},
		{"422 with a blank message", answerWith(422, `{"message":"  ","error":""}`), 422, "order_rejected", "Unprocessable Entity", "order_rejected", false},
		{"422 with a long message", answerWith(422, `{"message":"`+long+`"}`), 422, "order_rejected", long[:2*maxReasonChars], "order_rejected", false},
		{"422 with plain text", answerWith(422, `market closed`), 422, "order_rejected", "Unprocessable Entity", "order_rejected", false},
		{"401", answerWith(401, `{"message":"bad token"}`), 502, "placement_failed", "", "placement_error", true},
		{"408", answerWith(408, ``), 502, "placement_failed", "", "placement_error", true},
		{"409", answerWith(409, ``), 502, "placement_failed", "", "placement_error", true},
		{"425", answerWith(425, ``), 502, "placement_failed", "", "placement_error", true},
		{"429", answerWith(429, ``), 502, "placement_failed", "", "placement_error", true},
		{"500", answerWith(500, ``), 502, "placement_failed", "", "placement_error", true},
		{"503", answerWith(503, `{"message":"try later"}`), 502, "placement_failed", "", "placement_error", true},
		{"304", answerWith(304, ``), 502, "placement_failed", "", "placement_error", true},
		{"a hang past the timeout", hang, 502, "placement_failed", "", "placement_error", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDownstream(t, tt.answer)
			w := newWorker(t).gatewayTo(d.URL)
			first := w.post("k", msft100)
			if tt.code == "" {
				if first.Code != tt.status || receiptOf(t, first).OrderID != order.OrderID("", "k", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint()) {
					t.Fatalf("got %d %s, want a %d receipt", first.Code, first.Body.String(), tt.status)
				}
			} else if e := wantError(t, first, tt.status, tt.code); e.Reason != tt.reason {
				t.Errorf("reason %q, want %q", e.Reason, tt.reason)
			}
			if lines := w.logs.lines(); len(lines) != 1 || lines[0].Event != tt.event || lines[0].Status != tt.status {
				t.Errorf("log %+v, want one %s line with status %d", lines, tt.event, tt.status)
			}
			_, stored := w.kv.Stored("result:k")
			_, claimed := w.kv.Stored("pending:k")
			if stored == tt.retried || claimed == tt.retried {
				t.Errorf("stored result %v, claim kept %v; want both %v", stored, claimed, !tt.retried)
			}

			retry := w.post("k", msft100)
			calls := d.called()
			if tt.retried {
				if len(calls) != 2 || calls[0].body != calls[1].body {
					t.Fatalf("the retry: %d calls %+v, want a second call with the same clientOrderId", len(calls), calls)
				}
				return
			}
			if len(calls) != 1 {
				t.Errorf("the gateway was called %d times, want once: a retry replays", len(calls))
			}
			wantStatus := map[int]int{201: 200, 422: 422}[tt.status]
			if retry.Code != wantStatus || retry.Body.String() != first.Body.String() || retry.Header().Get("Idempotent-Replay") != "true" {
				t.Errorf("retry: %d %s (Idempotent-Replay %q), want %d with the first answer's bytes %s",
					retry.Code, retry.Body.String(), retry.Header().Get("Idempotent-Replay"), wantStatus, first.Body.String())
			}
		})
	}
}

// docs/downstreams.md#the-order-gateway: what the worker sends the gateway.
func TestGatewayRequest(t *testing.T) {
	t.Parallel()
	id := func(scope string) string {
		return order.OrderID(scope, "k", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint())
	}
	tests := []struct {
		name     string
		worker   func(t *testing.T) *worker
		send     func(w *worker)
		token    string
		wantBody string
		wantAuth string
	}{
		{"open, with a token", newWorker, func(w *worker) { w.post("k", msft100) }, gatewayToken,
			`{"clientOrderId":"` + id("") + `","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day"}`, "Bearer " + gatewayToken},
		{"open, without a token", newWorker, func(w *worker) { w.post("k", msft100) }, "",
			`{"clientOrderId":"` + id("") + `","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day"}`, ""},
		{"client scoping on", newAuthWorker, func(w *worker) { w.postAs(acmeToken, "k", `{"quantity":1e2,"symbol":"MSFT","side":"buy"}`) }, gatewayToken,
			`{"clientOrderId":"` + id("acme") + `","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day","client":"acme"}`, "Bearer " + gatewayToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDownstream(t, answerWith(201, ``))
			w := tt.worker(t)
			w.placer.next = order.Gateway{URL: d.URL + "/v1/orders", Token: tt.token, Timeout: time.Second,
				Fetcher: Fetch(clientFetch), Now: w.clock.Now}
			tt.send(w)
			calls := d.called()
			if len(calls) != 1 {
				t.Fatalf("%d calls, want 1", len(calls))
			}
			if calls[0].method != "POST" || calls[0].path != "/v1/orders" {
				t.Errorf("sent %s %s, want POST /v1/orders", calls[0].method, calls[0].path)
			}
			var sent struct {
				ClientOrderID string `json:"clientOrderId"`
			}
			json.Unmarshal([]byte(calls[0].body), &sent)
			h := calls[0].header
			if calls[0].body != tt.wantBody {
				t.Errorf("body\n got %s\nwant %s", calls[0].body, tt.wantBody)
			}
			if h.Get("Content-Type") != "application/json" || h.Get("Idempotency-Key") != sent.ClientOrderID || h.Get("Authorization") != tt.wantAuth {
				t.Errorf("headers Content-Type %q, Idempotency-Key %q (clientOrderId %q), Authorization %q; want application/json, the clientOrderId, %q",
					h.Get("Content-Type"), h.Get("Idempotency-Key"), sent.ClientOrderID, h.Get("Authorization"), tt.wantAuth)
			}
		})
	}
}

// docs/downstreams.md#the-order-gateway: the body for every kind of order, sent by order.Gateway.Place itself.
func TestGatewayBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		o      order.Order
		client string
		want   string
	}{
		{"a market order built in Go", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}, "",
			`{"clientOrderId":"id-1","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day"}`},
		{"a market order", market("MSFT", "buy", 100), "",
			`{"clientOrderId":"id-1","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day"}`},
		{"a market order, good till cancelled, scoped", order.Order{Symbol: "MSFT", Side: "sell", Quantity: 7, Type: order.TypeMarket, TimeInForce: order.TimeInForceGTC}, "acme",
			`{"clientOrderId":"id-1","symbol":"MSFT","side":"sell","quantity":7,"type":"market","timeInForce":"gtc","client":"acme"}`},
		{"a limit order", limit("MSFT", "buy", 100, "123.45", order.TimeInForceDay), "",
			`{"clientOrderId":"id-1","symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45","timeInForce":"day"}`},
		{"a limit order, immediate or cancel, scoped", limit("BTC-USD", "buy", 2, "0.00000001", order.TimeInForceIOC), "acme",
			`{"clientOrderId":"id-1","symbol":"BTC-USD","side":"buy","quantity":2,"type":"limit","limitPrice":"0.00000001","timeInForce":"ioc","client":"acme"}`},
		{"a limit order built in Go, its price not canonical", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 1, Type: order.TypeLimit, LimitPrice: "0123.450"}, "",
			`{"clientOrderId":"id-1","symbol":"MSFT","side":"buy","quantity":1,"type":"limit","limitPrice":"123.45","timeInForce":"day"}`},
		{"a symbol marshalJSON leaves unescaped", market("A&B<C>", "buy", 1), "",
			`{"clientOrderId":"id-1","symbol":"A&B<C>","side":"buy","quantity":1,"type":"market","timeInForce":"day"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDownstream(t, answerWith(201, ``))
			at := time.Date(2026, 11, 23, 14, 30, 50, 123e6, time.UTC)
			g := order.Gateway{URL: d.URL, Timeout: time.Second, Fetcher: Fetch(clientFetch), Now: func() time.Time { return at }}
			r, err := g.Place(context.Background(), "id-1", tt.client, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if calls := d.called(); len(calls) != 1 || calls[0].body != tt.want {
				t.Fatalf("sent %+v\nwant one call with %s", calls, tt.want)
			}
			want, _ := order.MintReceipt{Now: func() time.Time { return at }}.Place(context.Background(), "id-1", tt.client, tt.o)
			if r != want {
				t.Errorf("receipt %+v, want %+v", r, want)
			}
		})
	}
}

// A downstream that fails, then recovers: the client's retries reach it under
// one clientOrderId, and the order is placed once there.
func TestGatewayFailuresThenARetryPlacesOnce(t *testing.T) {
	t.Parallel()
	d := newDownstream(t, answerWith(503, ``), hang, answerWith(201, `{}`))
	w := newWorker(t).gatewayTo(d.URL)
	wantError(t, w.post("k", msft100), 502, "placement_failed")
	wantError(t, w.post("k", msft100), 502, "placement_failed")
	placed := w.post("k", msft100)
	if placed.Code != 201 {
		t.Fatalf("third try: %d %s", placed.Code, placed.Body.String())
	}
	if replay := w.post("k", msft100); replay.Code != 200 || replay.Body.String() != placed.Body.String() {
		t.Errorf("replay: %d %s", replay.Code, replay.Body.String())
	}
	calls := d.called()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3 (503, timeout, 201) and none for the replay", len(calls))
	}
	for _, c := range calls {
		if c.header.Get("Idempotency-Key") != receiptOf(t, placed).OrderID {
			t.Errorf("a call carried Idempotency-Key %q, want the order id %s", c.header.Get("Idempotency-Key"), receiptOf(t, placed).OrderID)
		}
	}
}

// docs/contract.md#logs: no credentials in logs, nor in any answer, on every path.
func TestGatewayTokenNeverReachesLogsOrAnswers(t *testing.T) {
	t.Parallel()
	closed := newDownstream(t, answerWith(201, ``))
	closed.Close() // a network error
	for _, url := range []string{
		newDownstream(t, answerWith(201, ``)).URL,
		newDownstream(t, answerWith(422, `{"message":"no"}`)).URL,
		newDownstream(t, answerWith(503, ``)).URL,
		newDownstream(t, hang).URL,
		closed.URL,
	} {
		w := newWorker(t).gatewayTo(url)
		for _, rec := range []*httptest.ResponseRecorder{w.post("k", msft100), w.post("k", msft100)} {
			if strings.Contains(rec.Body.String(), gatewayToken) || strings.Contains(rec.Header().Get("Authorization"), gatewayToken) {
				t.Errorf("an answer carries the gateway token: %s", rec.Body.String())
			}
		}
		if raw := w.logs.b.String(); strings.Contains(raw, gatewayToken) || !strings.Contains(raw, `"event"`) {
			t.Errorf("log carries the gateway token, or nothing: %s", raw)
		}
	}
}
