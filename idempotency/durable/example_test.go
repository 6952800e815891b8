package durable_test

import (
	"context"
	"fmt"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/durable"
	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/kvstore"
)

// The engine on Durable Objects with the KV cache in front, as strict mode
// wires it. In a worker, the objects are isolate.OpenDurableObjects of the
// binding of the IdempotencyRecords class and the cache a Workers KV
// namespace; here both are fakes. Two calls with one key run the function
// once; the second gets the first call's response.
func ExampleNew() {
	objects := durable.NewFake()
	cache := &kv.Store{KV: kvstore.NewFake(time.Now)}
	engine := &idempotency.Engine{Store: durable.New(objects, cache, time.Now)}

	placed := 0
	place := func(context.Context) (idempotency.Response, error) {
		placed++
		return idempotency.Response{Status: 201, Body: []byte(`{"orderId":"o-1"}`)}, nil
	}
	call := idempotency.Call{Scope: "acme", Key: "order-1001", Fingerprint: "buy 100 MSFT"}
	for range 2 {
		out := engine.Do(context.Background(), call, place)
		fmt.Println(out.Kind, out.Response.Status, string(out.Response.Body))
	}
	fmt.Println("placed", placed, "time, in object", durable.ObjectName(call.RecordKey()))
	// Output:
	// executed 201 {"orderId":"o-1"}
	// replayed 201 {"orderId":"o-1"}
	// placed 1 time, in object records-2
}
