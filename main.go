//go:build js && wasm

// Command edge is the Wasm entry of the order-intake worker: it only wires the
// pieces together. It runs once per Go runtime, and one runtime serves every
// event of its Workers isolate (isolate/worker.mjs), so what it sets up lives
// across requests and queue batches.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	"github.com/orderintake/edge/idempotency/durable"
	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/isolate"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
	"github.com/syumai/workers/cloudflare"
)

func main() {
	settings, misconfigured := order.ParseSettings(cloudflare.Getenv)
	namespace, err := kvstore.OpenWorkersKV("ORDERS")
	if err != nil && misconfigured == nil {
		misconfigured = fmt.Errorf("the KV binding ORDERS is missing from wrangler.toml (%w)", err)
	}
	results := &kv.Store{KV: namespace}
	var store idempotency.Store = results
	cleanup := func(context.Context) error { return nil } // KV expires its own records

	// Strict mode when a D1 database is bound (wrangler.toml, env.strict).
	db, err := d1.Open("IDEMPOTENCY_DB")
	switch {
	case err == nil:
		table := d1.SQLTable{DB: db}
		store = d1.Store{Table: table, Cache: results, Now: time.Now}
		cleanup = d1.CleanupJob(table, time.Now, isolate.Console)
	case !errors.Is(err, d1.ErrNoDatabase) && misconfigured == nil:
		misconfigured = fmt.Errorf("the D1 binding IDEMPOTENCY_DB cannot be opened (%w)", err)
	}
	// Strict mode on Durable Objects when their namespace is bound
	// (env.durable); bound beside D1, they hold the claims while D1's cron
	// job goes on cleaning its rows.
	switch objects, err := isolate.OpenDurableObjects("IDEMPOTENCY_OBJECTS"); {
	case err == nil:
		store = durable.New(objects, results, time.Now)
	case !errors.Is(err, isolate.ErrNoDurableObjects) && misconfigured == nil:
		misconfigured = fmt.Errorf("the Durable Object binding IDEMPOTENCY_OBJECTS cannot be used (%w)", err)
	}

	// Through the order gateway when one is configured. Its timeout is
	// enforced by the platform's fetch: no Go timer on the request path.
	var placer order.Placer = order.MintReceipt{Now: time.Now}
	if settings.PlacementURL != "" {
		placer = order.Gateway{URL: settings.PlacementURL, Token: settings.PlacementToken,
			Timeout: settings.PlacementTimeout, Fetcher: order.FetchFunc(isolate.Fetch), Now: time.Now}
	}

	// Queue mode when a producer is bound (wrangler.toml, env.queue): the
	// intake queues each new order, and this worker consumes the queue and
	// its dead-letter queue.
	var queue order.Sender
	switch q, err := isolate.OpenQueue("ORDER_QUEUE"); {
	case err == nil:
		queue = q
	case !errors.Is(err, isolate.ErrNoQueue) && misconfigured == nil:
		misconfigured = fmt.Errorf("the queue binding ORDER_QUEUE cannot be used (%w)", err)
	}

	if misconfigured == nil && settings.Clients == nil {
		fmt.Fprintln(isolate.Console, order.OpenWarning)
	}
	engine := &idempotency.Engine{Store: store, Lease: settings.Lease, Retention: settings.ResultTTL, Now: time.Now,
		Cache: idempotency.NewResultCache(settings.ResultCacheEntries)}
	consumer := &order.Consumer{Engine: engine, Placer: placer, MaxRetries: settings.QueueMaxRetries,
		RetryBase: settings.QueueRetryBase, DeadLetterQueue: settings.QueueDeadLetter, Misconfigured: misconfigured, Log: isolate.Console}
	isolate.Serve(order.NewHandler(order.Config{
		Engine:        engine,
		Placer:        placer,
		Settings:      settings,
		Misconfigured: misconfigured,
		Log:           isolate.Console,
		Queue:         queue,
		Orders:        namespace,
	}), isolate.Options{MaxBodyBytes: order.MaxReadBytes, Headers: order.RequestHeaders, Scheduled: cleanup,
		Queue: func(ctx context.Context, name string, batch []isolate.QueueMessage) []isolate.QueueVerdict {
			deliveries := make([]order.Delivery, len(batch))
			for i, m := range batch {
				deliveries[i] = order.Delivery(m)
			}
			verdicts := make([]isolate.QueueVerdict, len(batch))
			for i, v := range consumer.Consume(ctx, name, deliveries) {
				verdicts[i] = isolate.QueueVerdict(v)
			}
			return verdicts
		}})
}
