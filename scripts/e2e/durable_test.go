//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orderintake/edge/scripts/internal/devserver"
)

// durableWorker keeps its records in Durable Objects (wrangler.toml
// [env.durable]); strict_test.go and race_test.go check it as they check
// strict mode on D1.
var durableWorker = &worker{name: "durable", opts: devserver.DurableMode(devserver.Options{})}

// docs/contract.md#failures-fail-closed on Durable Objects: when the
// objects' storage fails, the object throws; the order is not placed but
// answered 503, an answer already given is still replayed, and once storage
// is back the retry places the order, once.
func TestDurableStorageUnavailable(t *testing.T) {
	t.Parallel()
	w := durableWorker.get(t)
	checkStorageUnavailable(t, w, func() func() {
		var unlocks []func()
		for _, shm := range objectsDatabases(t, w) {
			unlocks = append(unlocks, lockSQLite(t, shm, 1))
		}
		return func() {
			for _, unlock := range unlocks {
				unlock()
			}
		}
	})
}

// objectsDatabases are the -shm files of the SQLite databases in which the
// local runtime keeps the worker's Durable Objects of the records class:
// one per object, and one listing them.
func objectsDatabases(t *testing.T, w *worker) []string {
	t.Helper()
	pattern := filepath.Join(w.srv.StateDir(), "v3", "do", "*-IdempotencyRecords", "*.sqlite-shm")
	matches, _ := filepath.Glob(pattern)
	if len(matches) < 2 {
		t.Fatalf("want the databases of the objects and their list matching %s, found %q: has miniflare's storage layout changed?", pattern, matches)
	}
	return matches
}

// Records outlive wrangler dev, across a switch of store: a key answered in
// strict mode on D1 is replayed once the worker runs on Durable Objects on
// the same storage (from the KV cache of results both keep); a key answered
// on Durable Objects is replayed from its object after a restart; and the
// object's alarm deletes the record once it has expired. With client
// scoping throughout.
func TestDurableAfterD1AndAcrossRestarts(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	tokens := map[string]string{"CLIENT_TOKENS": clientTokens()}
	// Results kept 60 s, the least KV allows, so that they expire within the
	// test. The KV cache then keeps none (it would outlive them): replays
	// come from the objects. An object's alarm first runs when the first
	// claim it took would expire: a lease just longer than the results' life
	// makes that first run find them expired.
	shortLived := map[string]string{"CLIENT_TOKENS": clientTokens(), "RESULT_TTL_SECONDS": "60", "PENDING_LEASE_SECONDS": "62"}
	run := func(name string, opts devserver.Options, check func(w *worker)) {
		opts.StateDir = state
		w := &worker{name: name, opts: opts}
		w.get(t)
		defer func() {
			if t.Failed() {
				t.Logf("the %s worker's log:\n%s", name, w.srv.LogTail(30))
			}
			if err := w.srv.Stop(); err != nil {
				t.Error(err)
			}
		}()
		check(w)
	}

	d1Key, doKey := newKey(), newKey()
	var d1First, doFirst reply
	run("strict (to switch from)", devserver.StrictMode(devserver.Options{Vars: tokens}), func(w *worker) {
		d1First = postAs(t, w, "alice", d1Key, msft)
		wantScopedReceipt(t, d1First, "alice", d1Key, msftOrder)
	})
	var placedAt time.Time
	run("durable (switched to)", devserver.DurableMode(devserver.Options{Vars: shortLived}), func(w *worker) {
		wantReplay(t, postAs(t, w, "alice", d1Key, msft), d1First.body)
		checkClientScope(t, w)
		doFirst = postAs(t, w, "alice", doKey, msft)
		placedAt = time.Now()
		wantScopedReceipt(t, doFirst, "alice", doKey, msftOrder)
	})
	run("durable (restarted)", devserver.DurableMode(devserver.Options{Vars: shortLived}), func(w *worker) {
		wantReplay(t, postAs(t, w, "alice", doKey, msft), doFirst.body)
		wantError(t, postAs(t, w, "alice", doKey, aapl), http.StatusUnprocessableEntity, "idempotency_key_reused")

		// The records expire 60 s after they were placed; their objects'
		// alarms then delete them, and log so.
		deadline := placedAt.Add(90 * time.Second)
		for expiredRecords(w) == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Second)
		}
		if expiredRecords(w) == 0 {
			t.Errorf("no object's alarm deleted an expired record within 90 s of its placement")
		}
		// Gone from the object and from the cache: the key is fresh again.
		wantScopedReceipt(t, postAs(t, w, "alice", doKey, msft), "alice", doKey, msftOrder)
	})
}

// expiredRecords is how many records the objects' alarms have deleted, by
// their log lines.
func expiredRecords(w *worker) int {
	deleted := 0
	for line := range strings.Lines(w.srv.Log()) {
		var e struct {
			Event   string `json:"event"`
			Deleted int    `json:"deleted"`
		}
		if json.Unmarshal([]byte(line), &e) == nil && e.Event == "records_expired" {
			deleted += e.Deleted
		}
	}
	return deleted
}
