package storeurl_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/storeurl"
)

// A server takes its store from a flag or the environment, and fails at
// start when it cannot reach it.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	store, err := storeurl.Open(ctx, os.Getenv("STORE_URL"), nil) // memory:, postgres://…, redis://…
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	engine := &idempotency.Engine{Store: store}
	fmt.Println("records in", store.Kind, engine.Store != nil)
}
