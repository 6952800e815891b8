//go:build js && wasm

package main

import (
	"time"

	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/isolate"
)

func main() {
	namespace, err := isolate.OpenKV("WEBHOOKS")
	if err != nil {
		panic("the KV binding WEBHOOKS is missing from wrangler.toml: " + err.Error())
	}
	isolate.Serve(newHandler(&kv.Store{KV: namespace}, time.Now), isolate.Options{MaxBodyBytes: 1 << 20})
}
