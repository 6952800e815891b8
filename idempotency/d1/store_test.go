package d1_test

import (
	"testing"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/idempotency/storetest"
	"github.com/orderintake/edge/kvstore"
)

// The D1 store over the fake table, whose methods are atomic as SQLite's
// statements are: of concurrent claims exactly one wins, everywhere. Its
// claim does not say who holds a key it refused, and its claims carry no id
// ((claimed_at, fingerprint) names one). With the KV cache in front it must
// promise the same: the cache may lag the table, never outlive it.
func TestConformance(t *testing.T) {
	t.Parallel()
	opts := storetest.Options{NoHolder: true, NoClaimID: true}
	t.Run("without a cache", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
			return d1.Store{Table: d1.NewFakeTable(), Now: clock.Now}
		}, opts)
	})
	t.Run("with the KV cache", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
			return d1.Store{Table: d1.NewFakeTable(), Cache: &kv.Store{KV: kvstore.NewFake(clock.Now)}, Now: clock.Now}
		}, opts)
	})
}
