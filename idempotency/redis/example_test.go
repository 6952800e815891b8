package redis_test

import (
	"context"
	"fmt"
	"log"
	"os"

	goredis "github.com/redis/go-redis/v9"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/redis"
)

// The engine over Redis (or Valkey): every call of a key runs at most once
// across all the processes sharing the server.
func Example() {
	opts, err := goredis.ParseURL(os.Getenv("REDIS_URL"))
	if err != nil {
		log.Fatal(err)
	}
	client := goredis.NewClient(opts)
	defer client.Close()
	engine := &idempotency.Engine{Store: &redis.Store{Client: client, Prefix: "payments:"}}

	call := idempotency.Call{Operation: "charge", Scope: "customer-42", Key: "order-1001", Fingerprint: "EUR 10.00"}
	out := engine.Do(context.Background(), call, func(ctx context.Context) (idempotency.Response, error) {
		return idempotency.Response{Status: 201, Body: []byte(`{"charge":"ch_1"}`)}, nil
	})
	fmt.Println(out.Kind, out.Response.Status)
}
