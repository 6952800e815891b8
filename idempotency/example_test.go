package idempotency_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/memory"
)

// A webhook receiver behind the middleware: a delivery sent twice under one
// Webhook-Id is handled once, and the retry gets the first answer again.
func ExampleMiddleware() {
	engine := &idempotency.Engine{Store: memory.New(nil)}
	dedupe := idempotency.Middleware(engine, idempotency.Options{KeyHeader: "Webhook-Id", Required: true})

	handled := 0
	receiver := dedupe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handled++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"handled":%d}`, handled)
	}))

	for range 2 {
		req := httptest.NewRequest("POST", "/webhooks", strings.NewReader(`{"event":"invoice.paid"}`))
		req.Header.Set("Webhook-Id", "evt_1")
		rec := httptest.NewRecorder()
		receiver.ServeHTTP(rec, req)
		fmt.Printf("%d replay=%q %s\n", rec.Code, rec.Header().Get("Idempotent-Replay"), rec.Body)
	}
	// Output:
	// 200 replay="" {"handled":1}
	// 200 replay="true" {"handled":1}
}

// Any function, such as charging a card: called twice with one key, it runs
// once, and the second call gets the first call's response.
func ExampleEngine_Do() {
	engine := &idempotency.Engine{Store: memory.New(nil)}

	charges := 0
	chargeCard := func(ctx context.Context) (idempotency.Response, error) {
		charges++
		return idempotency.Response{Status: 201, Body: []byte(`{"charge":"ch_1"}`)}, nil
	}

	call := idempotency.Call{Operation: "charge", Scope: "customer-42", Key: "order-1001", Fingerprint: "EUR 10.00"}
	for range 2 {
		out := engine.Do(context.Background(), call, chargeCard)
		fmt.Println(out.Kind, out.Response.Status, string(out.Response.Body))
	}
	fmt.Println("charges:", charges)
	// Output:
	// executed 201 {"charge":"ch_1"}
	// replayed 201 {"charge":"ch_1"}
	// charges: 1
}

// A handler decides that one answer is not final: a refund the bank has not
// confirmed yet is answered, but the retry asks again instead of replaying
// "pending". Once the answer is final, it is replayed.
func ExampleSetFinal() {
	engine := &idempotency.Engine{Store: memory.New(nil)}

	asked := 0
	refunds := idempotency.Middleware(engine, idempotency.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked++
		if asked == 1 {
			idempotency.SetFinal(w, false)
			fmt.Fprint(w, `{"refund":"pending"}`)
			return
		}
		fmt.Fprint(w, `{"refund":"done"}`)
	}))

	for range 3 {
		req := httptest.NewRequest("POST", "/refunds", strings.NewReader(`{"charge":"ch_1"}`))
		req.Header.Set("Idempotency-Key", "rf-1")
		rec := httptest.NewRecorder()
		refunds.ServeHTTP(rec, req)
		fmt.Printf("replay=%q %s\n", rec.Header().Get("Idempotent-Replay"), rec.Body)
	}
	// Output:
	// replay="" {"refund":"pending"}
	// replay="" {"refund":"done"}
	// replay="true" {"refund":"done"}
}

// The handler learns which call it runs for: its key can go downstream, so
// that a retry after a lost answer is deduplicated there too.
func ExampleCallFrom() {
	engine := &idempotency.Engine{Store: memory.New(nil)}
	handler := idempotency.Middleware(engine, idempotency.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call, _ := idempotency.CallFrom(r.Context())
		fmt.Printf("operation %q, key %q\n", call.Operation, call.Key)
	}))

	req := httptest.NewRequest("POST", "/refunds", nil)
	req.Header.Set("Idempotency-Key", "rf-1")
	handler.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// operation "POST /refunds", key "rf-1"
}
