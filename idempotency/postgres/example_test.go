package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/postgres"
)

// The engine over PostgreSQL: migrate once at start, then every call of a
// key runs at most once across all the processes sharing the database.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	if _, err := postgres.Migrate(ctx, pool); err != nil {
		log.Fatal(err)
	}
	engine := &idempotency.Engine{Store: postgres.New(pool, nil)}

	call := idempotency.Call{Operation: "charge", Scope: "customer-42", Key: "order-1001", Fingerprint: "EUR 10.00"}
	out := engine.Do(ctx, call, func(ctx context.Context) (idempotency.Response, error) {
		return idempotency.Response{Status: 201, Body: []byte(`{"charge":"ch_1"}`)}, nil
	})
	fmt.Println(out.Kind, out.Response.Status)
}

// The order and the answer replayed to its retries commit together: the
// function writes both in one transaction, and a rollback leaves neither.
func ExampleStore_CompleteTx() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store := postgres.New(pool, nil)
	engine := &idempotency.Engine{Store: store}

	call := idempotency.Call{Operation: "place", Key: "order-1001", Fingerprint: "buy 100 MSFT"}
	out := engine.Do(ctx, call, func(ctx context.Context) (idempotency.Response, error) {
		held, _ := idempotency.HeldFrom(ctx)
		resp := idempotency.Response{Status: 201, Body: []byte(`{"orderId":"ord_1"}`)}
		tx, err := pool.Begin(ctx)
		if err != nil {
			return idempotency.Response{Status: 503}, err
		}
		defer tx.Rollback(ctx) // after Commit, does nothing
		if _, err := tx.Exec(ctx, "INSERT INTO orders (id, symbol, quantity) VALUES ('ord_1', 'MSFT', 100)"); err != nil {
			return idempotency.Response{Status: 503}, err // retryable: the claim is released
		}
		if err := store.CompleteTx(ctx, tx, held.Key, held.Claim, held.Result(resp, time.Now())); err != nil {
			return idempotency.Response{Status: 503}, err
		}
		return resp, tx.Commit(ctx)
	})
	fmt.Println(out.Kind, out.Final)
}

// The cleanup, run on a schedule: bounded, so a large backlog is worked off
// over several runs.
func ExampleStore_DeleteExpired() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	store := postgres.New(pool, nil)
	for range time.Tick(time.Minute) {
		deleted, err := store.DeleteExpired(ctx, postgres.CleanupBatch, postgres.CleanupMaxBatches)
		log.Printf("deleted %d expired records (%v)", deleted, err)
	}
}
