package redis_test

import (
	"context"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/redis"
	"github.com/orderintake/edge/idempotency/storetest"
	"github.com/orderintake/edge/internal/testservers"
	"github.com/orderintake/edge/kvstore"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// client connects to url and closes when the test ends.
func client(t testing.TB, url string) *goredis.Client {
	t.Helper()
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// newStore is a store with a key prefix of the test's own, on clock.
func newStore(t *testing.T, clock *kvstore.Clock) *redis.Store {
	t.Helper()
	url, prefix := testservers.Redis(t)
	return &redis.Store{Client: client(t, url), Prefix: prefix, Now: clock.Now}
}

// The whole contract, with no departure: SET NX PX lets exactly one claim
// create a key, a losing claim reads the holder, and completion and release
// compare the claim id inside Redis. The suite's clock runs hours ahead of
// the server's, so it also shows that expiry follows the Store's clock
// while the server's TTLs have not run out.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
		return newStore(t, clock)
	}, storetest.Options{Corrupt: func(t *testing.T, store idempotency.Store, key string) {
		s := store.(*redis.Store)
		if err := s.Client.Set(context.Background(), s.Prefix+key, `r{"fingerprint":`, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}})
}

// Crash-like cases on a server of the test's own, which writes every
// change to its append-only file before answering: connections ended by
// the server (CLIENT KILL), and a SIGKILL and restart with a claim in
// flight.
func TestCrashes(t *testing.T) {
	t.Parallel()
	storetest.RunCrashes(t, func(t *testing.T) storetest.Server {
		server := testservers.StartRedis(t, true)
		return storetest.Server{
			NewStore: func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
				return redis.New(client(t, server.URL), clock.Now)
			},
			DropConnections: func(t testing.TB) {
				admin := client(t, server.URL)
				if ended, err := admin.ClientKillByFilter(context.Background(), "TYPE", "normal", "SKIPME", "yes").Result(); err != nil {
					t.Fatalf("ended %d connections: %v", ended, err)
				}
				admin.Close()
			},
			Restart: server.Restart,
		}
	})
}
