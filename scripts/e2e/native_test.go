//go:build e2e

package e2e

import (
	"os"
	"testing"

	"github.com/orderintake/edge/internal/testservers"
	"github.com/orderintake/edge/scripts/internal/devserver"
)

// The native server (cmd/orders-server) answers the same contract through
// the same intake code. With E2E_NATIVE_STORE set to memory, postgres or
// redis, every worker of this suite is that server instead, on that store
// (PostgreSQL and Redis from internal/testservers), with the same
// settings; `make test` runs the checks that need no wrangler state this
// way on each store (NATIVE_E2E in the Makefile): the contract's checks,
// routes, client scoping, the gateway, the misconfigured settings, the
// submit script and 50 concurrent retries × 20 keys placing one order each
// (TestConcurrentDuplicatesStrict). The tests that write KV or D1 behind
// the worker's back, and those of the runtime, queue mode and upgrades,
// are the worker's alone.
func nativeOptions(t *testing.T, opts devserver.Options) devserver.Options {
	t.Helper()
	var store string
	switch kind := os.Getenv("E2E_NATIVE_STORE"); kind {
	case "":
		return opts
	case "memory":
		store = "memory:"
	case "postgres":
		store = testservers.PostgresUntilStop(t)
	case "redis":
		store, _ = testservers.Redis(t)
	default:
		t.Fatalf("E2E_NATIVE_STORE=%q: want memory, postgres or redis", kind)
	}
	return devserver.Options{Native: store, Vars: opts.Vars}
}
