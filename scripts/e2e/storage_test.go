//go:build e2e

package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/orderintake/edge/order"
)

// docs/contract.md#failures-fail-closed, fail closed: a claim that cannot be written places nothing, and
// the retry places the order once storage is back.
func TestStorageUnavailable(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	checkStorageUnavailable(t, w, func() func() { return lockKVWrites(t, w) })
}

// checkStorageUnavailable checks on w that while lockWrites holds (until the
// function it returns is called) a new order is answered 503 and not placed,
// a stored receipt is still replayed, and once writes work again the retry
// places the order, once.
func checkStorageUnavailable(t *testing.T, w *worker, lockWrites func() (unlock func())) {
	t.Helper()
	stored := newKey()
	first := post(t, w, stored, msft)
	wantReceipt(t, first, stored, msftOrder)

	key := newKey()
	var failed, replay reply
	func() {
		w.traffic.Lock() // every write fails meanwhile: no other test's request
		defer w.traffic.Unlock()
		defer lockWrites()()
		failed = do(t, w, http.MethodPost, "/orders", msft, "Idempotency-Key", key)
		replay = do(t, w, http.MethodPost, "/orders", msft, "Idempotency-Key", stored)
	}()
	wantError(t, failed, http.StatusServiceUnavailable, "storage_unavailable", "retryAfter")
	if got := failed.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	// Reads still work, so a stored receipt is still replayed.
	wantReplay(t, replay, first.body)

	wantReceipt(t, post(t, w, key, msft), key, msftOrder)
	id := order.OrderID("", key, msftOrder.Fingerprint())
	waitLog(t, w, 1, func(e logEntry) bool { return e.OrderID == id && e.Event == "placed" })
}

// lockKVWrites makes every write to the worker's local KV fail until the
// returned function is called. Local KV is a SQLite database in WAL mode
// (miniflare's layout under the persist directory); whoever holds byte 120 of
// its -shm file, SQLite's WAL write lock, keeps every other writer out, while
// readers go on.
func lockKVWrites(t *testing.T, w *worker) (unlock func()) {
	t.Helper()
	return lockSQLite(t, kvDatabase(t, w), 1)
}

// kvDatabase is the -shm file of the worker's local KV namespace.
func kvDatabase(t *testing.T, w *worker) string {
	t.Helper()
	pattern := filepath.Join(w.srv.StateDir(), "v3", "kv", "miniflare-KVNamespaceObject", "*.sqlite-shm")
	matches, _ := filepath.Glob(pattern)
	var shm []string
	for _, m := range matches {
		if !strings.HasSuffix(m, "metadata.sqlite-shm") {
			shm = append(shm, m)
		}
	}
	if len(shm) != 1 {
		t.Fatalf("want one KV database matching %s, found %q: has miniflare's storage layout changed?", pattern, shm)
	}
	return shm[0]
}

// lockSQLite takes n of SQLite's WAL locks, from byte 120 of the -shm file
// shm on, until the returned function is called: the write lock alone (n = 1)
// keeps writers out, all eight keep readers out too.
func lockSQLite(t *testing.T, shm string, n int64) (unlock func()) {
	t.Helper()
	f, err := os.OpenFile(shm, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	lock := syscall.Flock_t{Type: syscall.F_WRLCK, Start: 120, Len: n}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &lock); err != nil {
		f.Close()
		t.Fatalf("taking SQLite's WAL locks on %s: %v", shm, err)
	}
	return func() { f.Close() } // closing the file releases the lock
}
