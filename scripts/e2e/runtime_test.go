//go:build e2e

package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"
)

// The glue (isolate/worker.mjs) keeps one Go runtime per isolate and logs
// runtime_started, runtime_retired and runtime_died; these tests read those
// lines.

func countEvents(w *worker, event string) int {
	n := 0
	for _, e := range logEntries(w) {
		if e.Event == event {
			n++
		}
	}
	return n
}

// wantOneRuntimeAtATime fails t unless every runtime the worker started
// after its first replaced one that retired (isolate/worker.mjs retires a
// runtime whose memory passed its bound: on TinyGo, a thousand concurrent
// requests grow the heap that far), and none died.
func wantOneRuntimeAtATime(t *testing.T, w *worker) {
	t.Helper()
	started, retired, died := countEvents(w, "runtime_started"), countEvents(w, "runtime_retired"), countEvents(w, "runtime_died")
	if started != 1+retired || died != 0 {
		t.Errorf("%d Go runtimes started, %d retired and %d died, want the isolate's one (and one more per retirement); log tail:\n%s",
			started, retired, died, w.srv.LogTail(20))
	}
}

// Many concurrent requests, on distinct keys and on one key, are served by the
// one runtime the isolate started.
func TestOneRuntimeServesConcurrentRequests(t *testing.T) {
	t.Parallel()
	w := defaultWorker.get(t)
	shared := newKey()
	var wg sync.WaitGroup
	replies := make([]reply, 100)
	keys := make([]string, len(replies))
	for i := range replies {
		keys[i] = shared
		if i%2 == 0 {
			keys[i] = newKey()
		}
		wg.Go(func() { replies[i] = post(t, w, keys[i], msft) })
	}
	wg.Wait()
	var sharedIDs = map[string]bool{}
	for i, r := range replies {
		if keys[i] != shared {
			wantReceipt(t, r, keys[i], msftOrder)
			continue
		}
		switch r.status {
		case http.StatusCreated, http.StatusOK:
			sharedIDs[string(r.body[:50])] = true // {"orderId":"<36 characters>"
		case http.StatusConflict:
			wantError(t, r, http.StatusConflict, "in_progress", "retryAfter")
		default:
			t.Errorf("a duplicate of the shared key got %s", r)
		}
	}
	if len(sharedIDs) != 1 {
		t.Errorf("the shared key was answered with %d different receipts, want 1: %v", len(sharedIDs), sharedIDs)
	}
	wantOneRuntimeAtATime(t, w)
}

// A cron event runs on the runtime that serves requests and leaves it serving.
func TestCronOnTheSameRuntime(t *testing.T) {
	t.Parallel()
	w := strictWorker.get(t)
	key := newKey()
	first := post(t, w, key, msft)
	wantReceipt(t, first, key, msftOrder)
	before := countEvents(w, "cleanup")
	resp, err := client.Get(w.srv.URL + "/__scheduled?cron=*/15+*+*+*+*")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the scheduled event answered %s, want 200", resp.Status)
	}
	waitLog(t, w, before+1, func(e logEntry) bool { return e.Event == "cleanup" && e.Error == "" })
	wantReplay(t, post(t, w, key, msft), first.body)
	wantOneRuntimeAtATime(t, w)
}

// A panic outside the handler's own recover answers the JSON 500 and leaves
// the runtime serving; a runtime that dies fails what it has in flight with
// the JSON 500 at once, and the next request starts a new runtime. One test,
// in this order, because both read the same instance's runtime count.
func TestRuntimeFaults(t *testing.T) {
	t.Parallel()
	w := faultsWorker.get(t)
	key := newKey()
	wantReceipt(t, post(t, w, key, msft), key, msftOrder)

	wantError(t, send(t, w, http.MethodGet, "/__faults/panic", ""), http.StatusInternalServerError, "internal_error")
	second := newKey()
	wantReceipt(t, post(t, w, second, msft), second, msftOrder)
	// TinyGo has no recover() on WebAssembly, so there the panic ends the
	// runtime like a crash (docs/tinygo.md).
	panicked := 0
	if os.Getenv("TINYGO") == "1" {
		panicked = 1
	}
	// wrangler writes the worker's log lines a little after the answers.
	waitLog(t, w, 1+panicked, func(e logEntry) bool { return e.Event == "runtime_started" })
	if started, died := countEvents(w, "runtime_started"), countEvents(w, "runtime_died"); started != 1+panicked || died != panicked {
		t.Fatalf("after a panic: %d runtimes started and %d died, want %d and %d; log tail:\n%s", started, died, 1+panicked, panicked, w.srv.LogTail(20))
	}

	const hold = 20 * time.Second
	held := make([]reply, 4)
	elapsed := make([]time.Duration, len(held))
	var wg sync.WaitGroup
	for i := range held {
		wg.Go(func() {
			start := time.Now()
			held[i] = send(t, w, http.MethodGet, fmt.Sprintf("/__faults/hold?ms=%d", hold.Milliseconds()), "")
			elapsed[i] = time.Since(start)
		})
	}
	waitLog(t, w, len(held), func(e logEntry) bool { return e.Event == "hold_started" })
	wantError(t, send(t, w, http.MethodGet, "/__faults/crash", ""), http.StatusInternalServerError, "internal_error")
	wg.Wait()
	for i, r := range held {
		wantError(t, r, http.StatusInternalServerError, "internal_error")
		if elapsed[i] >= hold {
			t.Errorf("a request in flight on the dead runtime was answered after %v, not when it died", elapsed[i])
		}
	}
	waitLog(t, w, 1+panicked, func(e logEntry) bool { return e.Event == "runtime_died" })

	third := newKey()
	wantReceipt(t, post(t, w, third, msft), third, msftOrder)
	wantReplay(t, post(t, w, key, msft), post(t, w, key, msft).body) // the records outlived the runtime
	waitLog(t, w, 2+panicked, func(e logEntry) bool { return e.Event == "runtime_started" })
	if n := countEvents(w, "runtime_started"); n != 2+panicked {
		t.Errorf("%d runtimes started, want %d (the first, then one after the crash, and on TinyGo one after the panic); log tail:\n%s", n, 2+panicked, w.srv.LogTail(20))
	}
}
