package storeurl_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/storeurl"
	"github.com/orderintake/edge/internal/testservers"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// Each URL opens its store, which keeps a claim; PostgreSQL's is migrated
// and has a cleanup.
func TestOpenEachStore(t *testing.T) {
	t.Parallel()
	redisURL, _ := testservers.Redis(t)
	tests := []struct {
		url         string
		kind        string
		withCleanup bool
	}{
		{"memory:", "memory", false},
		{testservers.Postgres(t), "postgres", true},
		{redisURL, "redis", false},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store, err := storeurl.Open(ctx, tt.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			if store.Kind != tt.kind || (store.Cleanup != nil) != tt.withCleanup {
				t.Errorf("kind %q, cleanup %v; want %q, %v", store.Kind, store.Cleanup != nil, tt.kind, tt.withCleanup)
			}
			now := time.Now()
			key := fmt.Sprint("storeurl-", now.UnixNano())
			c := idempotency.Claim{Fingerprint: "fp", ID: key, ClaimedAt: now, LeaseUntil: now.Add(time.Minute)}
			if won, _, err := store.Claim(ctx, key, c); !won || err != nil {
				t.Errorf("Claim: %v, %v", won, err)
			}
			if store.Cleanup != nil {
				if _, err := store.Cleanup(ctx); err != nil {
					t.Errorf("Cleanup: %v", err)
				}
			}
		})
	}
}

// A URL that names no store, or a server that does not answer, is an error
// that says which, without the password.
func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	port, err := testservers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		want string
	}{
		{"mysql://db/orders", "want memory:, postgres://… or redis://…"},
		{"orders.db", "want memory:, postgres://… or redis://…"},
		{fmt.Sprintf("postgres://app:secret@127.0.0.1:%d/orders", port), fmt.Sprintf("cannot reach PostgreSQL at postgres://app:xxxxx@127.0.0.1:%d/orders", port)},
		{fmt.Sprintf("redis://:secret@127.0.0.1:%d/0", port), fmt.Sprintf("cannot reach Redis at redis://:xxxxx@127.0.0.1:%d/0", port)},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			store, err := storeurl.Open(ctx, tt.url, nil)
			if err == nil {
				store.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q, want it to say %q, and no password", err, tt.want)
			}
		})
	}
}
