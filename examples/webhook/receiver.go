// Command webhook is an example worker: the idempotency engine in front of a
// handler that is not an order. It receives webhook deliveries, keyed by
// their Webhook-Id header (as Standard Webhooks and most senders send one),
// and processes each delivery once however often the sender retries it.
//
// Run it with `make dev` in this directory (README.md beside this file).
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/orderintake/edge/idempotency"
)

// receiver processes one delivery. Here processing is counting it; a real
// receiver would update an account, send an email, start a job.
type receiver struct {
	processed atomic.Int64
	now       func() time.Time
}

// delivery is the part of a delivery's body this receiver reads.
type delivery struct {
	Type string `json:"type"`
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var d delivery
	if err := json.NewDecoder(r.Body).Decode(&d); err != nil || d.Type == "" {
		// A 4xx is final: the sender's retries of this delivery get the same
		// answer without running the receiver again.
		problems.Response(&idempotency.Problem{Status: http.StatusBadRequest, Code: "invalid_delivery",
			Detail: `The body must be a JSON object with a "type".`}).Write(w)
		return
	}
	call, _ := idempotency.CallFrom(r.Context())
	rc.processed.Add(1)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"received":%q,"type":%q,"processedAt":%q}`, call.Key, d.Type, rc.now().UTC().Format(time.RFC3339Nano))
}

// problems are this receiver's problem details: the engine's codes are
// documented on the project's page of problem types, so their type URIs point
// there (without this, the engine's generic about:blank).
var problems = idempotency.Problems{TypeBase: "https://github.com/orderintake/edge/blob/main/docs/problems.md#"}

// newHandler routes the example's requests: deliveries behind the
// idempotency middleware, and a count of the deliveries this isolate has
// processed, to watch retries not being processed again.
func newHandler(store idempotency.Store, now func() time.Time) http.Handler {
	rc := &receiver{now: now}
	engine := &idempotency.Engine{Store: store, Lease: 30 * time.Second, Retention: 72 * time.Hour, Now: now}
	mux := http.NewServeMux()
	mux.Handle("/webhooks", idempotency.Middleware(engine, idempotency.Options{
		Methods:      []string{http.MethodPost},
		KeyHeader:    "Webhook-Id",
		Required:     true,
		MaxBodyBytes: 64 << 10,
		Problems:     problems,
	})(rc))
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"processed":%d}`, rc.processed.Load())
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok"}`)
	})
	return mux
}
