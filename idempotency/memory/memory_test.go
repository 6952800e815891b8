package memory_test

import (
	"testing"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/memory"
	"github.com/orderintake/edge/idempotency/storetest"
	"github.com/orderintake/edge/kvstore"
)

// The in-memory store keeps the whole contract: one mutex makes each method
// atomic, so of concurrent claims exactly one wins and the loser is told
// which claim holds the key.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T, clock *kvstore.Clock) idempotency.Store {
		return memory.New(clock.Now)
	}, storetest.Options{})
}
