package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/postgres"
	"github.com/orderintake/edge/idempotency/storetest"
	"github.com/orderintake/edge/internal/testservers"
	"github.com/orderintake/edge/kvstore"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// open connects to url, a database of the test's own, and migrates it.
func open(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := postgres.Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

// newStore is a migrated store in a schema of the test's own, on clock.
func newStore(t *testing.T, clock *kvstore.Clock) (*postgres.Store, *pgxpool.Pool) {
	t.Helper()
	pool := open(t, testservers.Postgres(t))
	return postgres.New(pool, clock.Now), pool
}

// The whole contract, with no departure: the claim is atomic, a losing
// claim is told the holder (a second read), claims keep their ids, and
// Complete is a compare-and-set on the claim id. Times are kept to the
// microsecond; the suite's are whole milliseconds.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
		store, _ := newStore(t, clock)
		return store
	}, storetest.Options{Corrupt: func(t *testing.T, store idempotency.Store, key string) {
		_, err := store.(*postgres.Store).DB.Exec(context.Background(), `
			INSERT INTO idempotency_records (record_key, fingerprint, claim_id, claimed_at, lease_until, status, header, body, expires_at)
			VALUES ($1, 'fp', 'c', now(), now(), 200, '["not", "a", "header", "map"]', '', now() + interval '100 years')`, key)
		if err != nil {
			t.Fatal(err)
		}
	}})
}

// Migrate applies each migration once, however often and from however many
// processes it runs, and records what it applied.
func TestMigrateIsVersionedAndIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testservers.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	var all []int
	for _, m := range postgres.Migrations() {
		all = append(all, m.Version)
	}
	applied := make([][]int, 8)
	var wg sync.WaitGroup
	for i := range applied {
		wg.Go(func() {
			var err error
			if applied[i], err = postgres.Migrate(ctx, pool); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	total := 0
	for _, a := range applied {
		total += len(a)
	}
	if total != len(all) {
		t.Errorf("%d concurrent Migrates applied %v between them, want each of %v once", len(applied), applied, all)
	}
	if again, err := postgres.Migrate(ctx, pool); err != nil || len(again) != 0 {
		t.Errorf("Migrate again applied %v (%v), want nothing", again, err)
	}
	var recorded int
	if err := pool.QueryRow(ctx, "SELECT max(version) FROM idempotency_schema_migrations").Scan(&recorded); err != nil || recorded != all[len(all)-1] {
		t.Errorf("recorded version %d (%v), want %d", recorded, err, all[len(all)-1])
	}
}

// DeleteExpired deletes dead rows (results past their expiry, claims past
// their lease) in bounded batches, oldest first, and keeps live ones.
func TestDeleteExpiredIsBoundedAndKeepsLiveRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := kvstore.NewClock(storetest.Start)
	store, pool := newStore(t, clock)
	now := clock.Now()
	insert := func(prefix string, n int, status any, expiresAt time.Time) {
		t.Helper()
		_, err := pool.Exec(ctx, `
			INSERT INTO idempotency_records (record_key, fingerprint, claim_id, claimed_at, lease_until, status, expires_at)
			SELECT $1 || i, 'fp', 'c' || i, $3::timestamptz, $3::timestamptz, $2::integer, $3::timestamptz - i * interval '1 second' FROM generate_series(1, $4) AS i`,
			prefix, status, expiresAt, n)
		if err != nil {
			t.Fatal(err)
		}
	}
	insert("dead-result-", 1200, 201, now)
	insert("dead-claim-", 34, nil, now)
	insert("live-result-", 10, 201, now.Add(time.Hour))
	insert("live-claim-", 10, nil, now.Add(time.Hour))

	tests := []struct {
		batch, maxBatches, want int
	}{
		{500, 2, 1000},
		{500, 2, 234},
		{500, 2, 0},
	}
	for i, tt := range tests {
		deleted, err := store.DeleteExpired(ctx, tt.batch, tt.maxBatches)
		if err != nil || deleted != tt.want {
			t.Fatalf("run %d: deleted %d (%v), want %d", i+1, deleted, err, tt.want)
		}
	}
	var left int
	pool.QueryRow(ctx, "SELECT count(*) FROM idempotency_records").Scan(&left)
	if left != 20 {
		t.Errorf("%d rows left, want the 20 live ones", left)
	}
}

// orders is the business table of the transaction tests.
func ordersTable(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), "CREATE TABLE orders (id text PRIMARY KEY, quantity integer NOT NULL CHECK (quantity > 0))"); err != nil {
		t.Fatal(err)
	}
}

func countOrders(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM orders").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// placeOrder is a function run by the engine that writes the order and its
// answer in one transaction, ending it as end says.
func placeOrder(store *postgres.Store, pool *pgxpool.Pool, quantity int, end func(context.Context, pgx.Tx) error) idempotency.Func {
	return func(ctx context.Context) (idempotency.Response, error) {
		held, _ := idempotency.HeldFrom(ctx)
		resp := idempotency.Response{Status: 201, Header: map[string]string{"Content-Type": "application/json"},
			Body: []byte(fmt.Sprintf(`{"order":%q}`, held.Key))}
		tx, err := pool.Begin(ctx)
		if err != nil {
			return idempotency.Response{Status: 503}, err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, "INSERT INTO orders (id, quantity) VALUES ($1, $2)", held.Key, quantity); err != nil {
			return idempotency.Response{Status: 503}, err
		}
		if err := store.CompleteTx(ctx, tx, held.Key, held.Claim, held.Result(resp, store.Now())); err != nil {
			return idempotency.Response{Status: 503}, err
		}
		if err := end(ctx, tx); err != nil {
			return idempotency.Response{Status: 503}, err
		}
		return resp, nil
	}
}

// The answer is stored in the handler's own transaction: it is there if
// and only if the business write committed, and the engine's own Complete
// then finds it stored. A rolled-back business write leaves no answer, and
// frees the key for the retry.
func TestCompleteTxCommitsWithTheBusinessWrite(t *testing.T) {
	t.Parallel()
	commit := func(ctx context.Context, tx pgx.Tx) error { return tx.Commit(ctx) }
	rollback := func(ctx context.Context, tx pgx.Tx) error {
		tx.Rollback(ctx)
		return errors.New("the handler rolled back")
	}
	tests := []struct {
		name       string
		quantity   int
		end        func(context.Context, pgx.Tx) error
		wantOrders int
		wantKind   idempotency.Kind
		wantFinal  bool
	}{
		{"committed", 5, commit, 1, idempotency.Executed, true},
		{"rolled back by the handler", 5, rollback, 0, idempotency.Executed, false},
		{"the business write failed (a CHECK)", -1, commit, 0, idempotency.Executed, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := kvstore.NewClock(storetest.Start)
			store, pool := newStore(t, clock)
			ordersTable(t, pool)
			engine := &idempotency.Engine{Store: store, Now: clock.Now}
			call := idempotency.Call{Operation: "place", Key: "order-1", Fingerprint: "fp"}

			out := engine.Do(ctx, call, placeOrder(store, pool, tt.quantity, tt.end))
			if out.Kind != tt.wantKind || out.Final != tt.wantFinal || (tt.wantFinal && out.Err != nil) {
				t.Fatalf("Do = %v final %v err %v, want %v final %v", out.Kind, out.Final, out.Err, tt.wantKind, tt.wantFinal)
			}
			if n := countOrders(t, pool); n != tt.wantOrders {
				t.Errorf("%d orders, want %d", n, tt.wantOrders)
			}
			result, claim, err := store.Lookup(ctx, call.RecordKey())
			switch {
			case err != nil:
				t.Fatal(err)
			case tt.wantFinal && (result == nil || result.Body != string(out.Response.Body)):
				t.Errorf("stored %+v, want the answer given", result)
			case !tt.wantFinal && (result != nil || claim != nil):
				t.Errorf("stored %+v, %+v; want no answer and the key free", result, claim)
			}
			// The retry places the order once, whatever happened first.
			retry := engine.Do(ctx, call, placeOrder(store, pool, 5, commit))
			again := engine.Do(ctx, call, placeOrder(store, pool, 5, commit))
			if countOrders(t, pool) != 1 || again.Kind != idempotency.Replayed || string(again.Response.Body) != string(retry.Response.Body) {
				t.Errorf("after retries: %d orders, last %v %s; want 1 order and the replay", countOrders(t, pool), again.Kind, again.Response.Body)
			}
		})
	}
}

// Crash-like cases on a server of the test's own: connections ended by the
// server (pg_terminate_backend), and an immediate shutdown (SIGQUIT) and
// restart with a claim in flight.
func TestCrashes(t *testing.T) {
	t.Parallel()
	storetest.RunCrashes(t, func(t *testing.T) storetest.Server {
		server := testservers.StartPostgres(t)
		return storetest.Server{
			NewStore: func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
				return postgres.New(open(t, server.URL), clock.Now)
			},
			DropConnections: func(t testing.TB) {
				ctx := context.Background()
				conn, err := pgx.Connect(ctx, server.URL)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(ctx)
				var ended int
				err = conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`).Scan(&ended)
				if err != nil {
					t.Fatalf("ended %d connections: %v", ended, err)
				}
			},
			Restart: server.Restart,
		}
	})
}
