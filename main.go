//go:build js && wasm

// Command edge is the Wasm entry of the order-intake worker: it only wires the
// pieces together. syumai/workers runs main once per request.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
	"github.com/syumai/workers"
	"github.com/syumai/workers/cloudflare"
)

func main() {
	settings, misconfigured := order.ParseSettings(cloudflare.Getenv)
	store, err := kvstore.OpenWorkersKV("ORDERS")
	if err != nil && misconfigured == nil {
		misconfigured = fmt.Errorf("the KV binding ORDERS is missing from wrangler.toml (%w)", err)
	}
	if misconfigured == nil && settings.Clients == nil {
		fmt.Println(order.OpenWarning)
	}
	workers.Serve(order.Handler{
		Intake: order.Intake{
			Records:  order.KVRecords{Store: store},
			Placer:   order.MintReceipt{Now: time.Now},
			Settings: settings,
			Now:      time.Now,
		},
		Misconfigured: misconfigured,
		Log:           os.Stdout,
	})
}
