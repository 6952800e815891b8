//go:build js && wasm

// Command edge is the Wasm entry of the order-intake worker: it only wires the
// pieces together. It runs once per Go runtime, and one runtime serves every
// event of its Workers isolate (isolate/worker.mjs), so what it sets up lives
// across requests.
package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/orderintake/edge/isolate"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/order/strict"
	"github.com/syumai/workers/cloudflare"
)

func main() {
	settings, misconfigured := order.ParseSettings(cloudflare.Getenv)
	store, err := kvstore.OpenWorkersKV("ORDERS")
	if err != nil && misconfigured == nil {
		misconfigured = fmt.Errorf("the KV binding ORDERS is missing from wrangler.toml (%w)", err)
	}
	kvRecords := order.KVRecords{Store: store}
	var records order.Records = kvRecords
	cleanup := func(context.Context) error { return nil } // KV expires its own records

	// Strict mode when a D1 database is bound (wrangler.toml, env.strict).
	db, err := strict.OpenD1("IDEMPOTENCY_DB")
	switch {
	case err == nil:
		table := strict.SQLTable{DB: db}
		records = strict.Records{Table: table, Cache: kvRecords, Now: time.Now}
		cleanup = strict.CleanupJob(table, time.Now, isolate.Console)
	case !errors.Is(err, strict.ErrNoDatabase) && misconfigured == nil:
		misconfigured = fmt.Errorf("the D1 binding IDEMPOTENCY_DB cannot be opened (%w)", err)
	}

	// Through the order gateway when one is configured (SPEC §5). Its timeout
	// is enforced by the platform's fetch: no Go timer on the request path.
	var placer order.Placer = order.MintReceipt{Now: time.Now}
	if settings.PlacementURL != "" {
		placer = order.Gateway{URL: settings.PlacementURL, Token: settings.PlacementToken,
			Timeout: settings.PlacementTimeout, Fetcher: order.FetchFunc(isolate.Fetch), Now: time.Now}
	}

	if misconfigured == nil && settings.Clients == nil {
		fmt.Fprintln(isolate.Console, order.OpenWarning)
	}
	isolate.Serve(order.Handler{
		Intake: order.Intake{
			Records:  records,
			Placer:   placer,
			Settings: settings,
			Now:      time.Now,
		},
		Misconfigured: misconfigured,
		Log:           isolate.Console,
	}, isolate.Options{MaxBodyBytes: order.MaxReadBytes, Scheduled: cleanup})
}
