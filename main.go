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
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	"github.com/orderintake/edge/idempotency/durable"
	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/intake"
	"github.com/orderintake/edge/isolate"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/queue"
	"github.com/syumai/workers/cloudflare"
)

func main() {
	settings, misconfigured := intake.ParseSettings(cloudflare.Getenv)
	namespace, err := isolate.OpenKV("ORDERS")
	if err != nil && misconfigured == nil {
		misconfigured = fmt.Errorf("the KV binding ORDERS is missing from wrangler.toml (%w)", err)
	}
	results := &kv.Store{KV: namespace}
	var store idempotency.Store = results
	cleanup := func(context.Context) error { return nil } // KV expires its own records

	// Strict mode when a D1 database is bound (wrangler.toml, env.strict).
	db, err := isolate.OpenD1("IDEMPOTENCY_DB")
	switch {
	case err == nil:
		table := d1.SQLTable{DB: db}
		store = d1.Store{Table: table, Results: results, Now: time.Now}
		cleanup = d1.CleanupJob(table, time.Now, isolate.Console)
	case !errors.Is(err, isolate.ErrNoDatabase) && misconfigured == nil:
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

	// Queue mode when a producer is bound (wrangler.toml, env.queue): the
	// intake queues each new order, and this worker consumes the queue and
	// its dead-letter queue.
	var orders queue.Sender
	switch q, err := isolate.OpenQueue("ORDER_QUEUE"); {
	case err == nil:
		orders = q
	case !errors.Is(err, isolate.ErrNoQueue) && misconfigured == nil:
		misconfigured = fmt.Errorf("the queue binding ORDER_QUEUE cannot be used (%w)", err)
	}

	if misconfigured == nil && settings.Clients == nil {
		fmt.Fprintln(isolate.Console, intake.OpenWarning)
	}
	service := intake.New(intake.Config{Settings: settings, Misconfigured: misconfigured, Store: store,
		Statuses: namespace, Queue: orders, Fetch: isolate.Fetch, Log: isolate.Console})
	isolate.Serve(service, isolate.Options{MaxBodyBytes: intake.MaxReadBytes, Headers: intake.RequestHeaders,
		Scheduled: cleanup, Queue: service.Consume, InternalError: intake.InternalErrorBody(),
		WarmUp: warmUp(settings), WarmUpRequests: warmUpRequests})
}

// warmUp is the order handler over the KV store's code on an in-memory
// namespace, open to every client, logging nothing and placing with no
// gateway: what the runtime rehearses as it starts (isolate.Options.WarmUp).
// The rehearsal's records go to that namespace, never to the bound one.
func warmUp(settings intake.Settings) http.Handler {
	settings.Clients = nil
	settings.PlacementURL = ""
	store := &kv.Store{KV: kvstore.NewFake(time.Now)}
	return intake.New(intake.Config{Settings: settings, Store: store, Log: io.Discard})
}

// warmUpRequests are a round of the rehearsal: a new order under a key of
// its round, its replay, an invalid order and a health check.
func warmUpRequests(round int) []*http.Request {
	key := "warm-up-" + strconv.Itoa(round)
	var requests []*http.Request
	for _, body := range []string{`{"symbol":"MSFT","side":"buy","quantity":1}`, `{"symbol":"MSFT","side":"buy","quantity":1}`, `{"symbol":"MSFT","side":"hold","quantity":1}`} {
		r, _ := http.NewRequest(http.MethodPost, "https://warm.up/orders", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", key)
		requests = append(requests, r)
	}
	health, _ := http.NewRequest(http.MethodGet, "https://warm.up/healthz", nil)
	return append(requests, health)
}
