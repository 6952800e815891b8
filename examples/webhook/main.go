//go:build js && wasm

package main

import (
	"net/http"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/isolate"
)

func main() {
	namespace, err := isolate.OpenKV("WEBHOOKS")
	if err != nil {
		panic("the KV binding WEBHOOKS is missing from wrangler.toml: " + err.Error())
	}
	// The glue's answer when Go gives none (a panic outside the handler).
	internal := &idempotency.Problem{Status: http.StatusInternalServerError, Code: "internal_error",
		Detail: "An internal error occurred. The sender may retry the delivery under the same Webhook-Id."}
	isolate.Serve(newHandler(&kv.Store{KV: namespace}, time.Now),
		isolate.Options{MaxBodyBytes: 1 << 20, InternalError: problems.Response(internal).Body})
}
