package intake

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/orderintake/edge/order"
)

// The worker's glue hands the handler only RequestHeaders. Every answer and
// log line must be the same as with every header: a sequence of requests,
// each with headers the handler has no use for, served by two workers, one
// of which gets only RequestHeaders.
func TestRequestHeadersAreAllTheHandlerReads(t *testing.T) {
	t.Parallel()
	clients, err := ParseClients(twoClients)
	if err != nil {
		t.Fatal(err)
	}
	extra := []string{"Accept", "*/*", "User-Agent", "curl/8", "X-Forwarded-For", "203.0.113.7", "Cookie", "a=b",
		"Content-Length", "45", "Cf-Connecting-Ip", "203.0.113.7", "Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	type request struct {
		method, path, body string
		headers            []string
	}
	requests := []request{
		{"POST", "/orders", msft100, []string{"Idempotency-Key", "k1", "Content-Type", "application/json"}},
		{"POST", "/orders", msft100, []string{"Idempotency-Key", "k1", "Content-Type", "application/json; charset=utf-8"}},
		{"POST", "/orders", msft100, []string{"idempotency-key", "k1"}},
		{"POST", "/orders", `{"symbol":"MSFT","side":"sell","quantity":1}`, []string{"Idempotency-Key", "k1"}},
		{"POST", "/orders", msft100, []string{"Idempotency-Key", "k1", "Idempotency-Key", "k2"}},
		{"POST", "/orders", msft100, []string{"Idempotency-Key", "k2, k3"}},
		{"POST", "/orders", msft100, []string{"Content-Type", "text/plain", "Idempotency-Key", "k4"}},
		{"POST", "/orders", msft100, []string{"Content-Type", "application/json", "Content-Type", "application/json", "Idempotency-Key", "k5"}},
		{"POST", "/orders", msft100, nil},
		{"POST", "/orders", `{"symbol":"MSFT","side":"hold","quantity":100}`, []string{"Idempotency-Key", "k6"}},
		{"POST", "/", "{", []string{"Idempotency-Key", "k7"}},
		{"GET", "/orders", "", []string{"Idempotency-Key", "k8"}},
		{"GET", "/healthz", "", nil},
		{"HEAD", "/healthz", "", nil},
		{"GET", "/nowhere", "", nil},
	}
	for _, auth := range []bool{false, true} {
		all, only := newWorker(t), newWorker(t)
		if auth {
			all.reconfigure(Settings{Clients: clients}, nil)
			only.reconfigure(Settings{Clients: clients}, nil)
		}
		for _, r := range requests {
			headers := r.headers
			if auth {
				headers = append(slices.Clone(headers), "Authorization", "Bearer "+acmeToken)
			}
			headers = append(slices.Clone(headers), extra...)
			a := serveWith(all, r.method, r.path, r.body, headers, nil)
			b := serveWith(only, r.method, r.path, r.body, headers, RequestHeaders)
			if a.Code != b.Code || !reflect.DeepEqual(a.Header(), b.Header()) || a.Body.String() != b.Body.String() {
				t.Errorf("auth %v, %s %s %v:\nevery header:   %d %v %s\nRequestHeaders: %d %v %s",
					auth, r.method, r.path, r.headers, a.Code, a.Header(), a.Body, b.Code, b.Header(), b.Body)
			}
		}
		if a, b := all.logs.lines(), only.logs.lines(); !reflect.DeepEqual(a, b) {
			t.Errorf("auth %v: log lines differ:\nevery header:   %+v\nRequestHeaders: %+v", auth, a, b)
		}
	}
}

// serveWith sends a request with headers (name, value pairs), keeping only
// those named in keep unless keep is nil.
func serveWith(w *worker, method, path, body string, headers, keep []string) *httptest.ResponseRecorder {
	return serveWithHandler(w.handler, method, path, body, headers, keep)
}

func serveWithHandler(h http.Handler, method, path, body string, headers, keep []string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i < len(headers); i += 2 {
		if keep == nil || slices.ContainsFunc(keep, func(k string) bool { return strings.EqualFold(k, headers[i]) }) {
			req.Header.Add(headers[i], headers[i+1])
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// The same in queue mode: the 202 at the intake, GET /orders/<orderId>
// before and after the consumer placed the order, scoped to its client.
func TestRequestHeadersAreAllTheQueueModeReads(t *testing.T) {
	t.Parallel()
	clients, err := ParseClients(twoClients)
	if err != nil {
		t.Fatal(err)
	}
	extra := []string{"Accept", "*/*", "User-Agent", "curl/8", "Cookie", "a=b", "Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
	acme, globex := []string{"Authorization", "Bearer " + acmeToken}, []string{"Authorization", "Bearer " + globexToken}
	all, only := newQueueWorld(t, Settings{Clients: clients}, nil), newQueueWorld(t, Settings{Clients: clients}, nil)
	send := func(method, path, body string, headers ...string) {
		t.Helper()
		headers = append(slices.Clone(headers), extra...)
		a := serveWithHandler(all.handler, method, path, body, headers, nil)
		b := serveWithHandler(only.handler, method, path, body, headers, RequestHeaders)
		if a.Code != b.Code || !reflect.DeepEqual(a.Header(), b.Header()) || a.Body.String() != b.Body.String() {
			t.Errorf("%s %s %v:\nevery header:   %d %v %s\nRequestHeaders: %d %v %s",
				method, path, headers, a.Code, a.Header(), a.Body, b.Code, b.Header(), b.Body)
		}
	}
	json := append([]string{"Idempotency-Key", "q1", "Content-Type", "application/json"}, acme...)
	send("POST", "/orders", msft100, json...)
	send("POST", "/orders", msft100, json...)
	send("POST", "/orders", msft100, "Idempotency-Key", "q2")
	o, err := order.ParseOrder([]byte(msft100))
	if err != nil {
		t.Fatal(err)
	}
	orderID := order.OrderID("acme", "q1", o.Fingerprint())
	for _, headers := range [][]string{acme, globex, nil} {
		send("GET", "/orders/"+orderID, "", headers...)
	}
	for _, w := range []*queueWorld{all, only} {
		for _, m := range w.sender.sent() {
			w.deliver("order-intake-placements", 1, m)
		}
	}
	if code, doc := all.status(orderID, acme...); code != http.StatusOK || doc.Status != "placed" {
		t.Fatalf("the order is %d %q after the consumer ran, want 200 placed", code, doc.Status)
	}
	for _, headers := range [][]string{acme, globex, nil} {
		send("GET", "/orders/"+orderID, "", headers...)
	}
	send("GET", "/orders/not-an-order-id", "", acme...)
	if a, b := all.intakeLog.b.String(), only.intakeLog.b.String(); a != b {
		t.Errorf("intake log lines differ:\nevery header:   %s\nRequestHeaders: %s", a, b)
	}
	if a, b := all.consumerLog.b.String(), only.consumerLog.b.String(); a != b {
		t.Errorf("consumer log lines differ:\nevery header:   %s\nRequestHeaders: %s", a, b)
	}
}
