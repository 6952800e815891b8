// Package storeurl opens the idempotency.Store that a URL names, for native
// servers that take their store from a flag or the environment:
//
//	memory:                                 package memory: one process, nothing kept across restarts
//	postgres://user:pass@host:5432/db?…     package postgres (postgresql:// too): migrated on open
//	redis://[:pass@]host:6379/0             package redis (rediss:// with TLS); Valkey alike
//
// Open reaches the server before it returns, so a server that cannot be
// reached is an error at start, not at the first request.
package storeurl

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/memory"
	"github.com/orderintake/edge/idempotency/postgres"
	"github.com/orderintake/edge/idempotency/redis"
)

// Store is an open store.
type Store struct {
	idempotency.Store
	// Kind is "memory", "postgres" or "redis".
	Kind string
	// Cleanup deletes expired records in one bounded run, for a store whose
	// server does not expire them itself (PostgreSQL); nil otherwise.
	Cleanup func(ctx context.Context) (deleted int, err error)
	// Close releases the store's connections.
	Close func()
}

// Open opens the store rawURL names, on the clock now (nil: time.Now), and
// checks that its server answers within the deadline of ctx.
func Open(ctx context.Context, rawURL string, now func() time.Time) (*Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("the store URL %q: %w", rawURL, err)
	}
	where := u.Redacted()
	switch u.Scheme {
	case "memory":
		return &Store{Store: memory.New(now), Kind: "memory", Close: func() {}}, nil
	case "postgres", "postgresql":
		pool, err := pgxpool.New(ctx, rawURL)
		if err != nil {
			return nil, fmt.Errorf("the store URL %s: %w", where, err)
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, fmt.Errorf("cannot reach PostgreSQL at %s: %w", where, err)
		}
		if _, err := postgres.Migrate(ctx, pool); err != nil {
			pool.Close()
			return nil, fmt.Errorf("migrating PostgreSQL at %s: %w", where, err)
		}
		store := postgres.New(pool, now)
		return &Store{Store: store, Kind: "postgres", Close: pool.Close,
			Cleanup: func(ctx context.Context) (int, error) {
				return store.DeleteExpired(ctx, postgres.CleanupBatch, postgres.CleanupMaxBatches)
			}}, nil
	case "redis", "rediss":
		opts, err := goredis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("the store URL %s: %w", where, err)
		}
		client := goredis.NewClient(opts)
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			return nil, fmt.Errorf("cannot reach Redis at %s: %w", where, err)
		}
		return &Store{Store: redis.New(client, now), Kind: "redis", Close: func() { client.Close() }}, nil
	default:
		return nil, fmt.Errorf("the store URL %s: want memory:, postgres://… or redis://…", where)
	}
}
