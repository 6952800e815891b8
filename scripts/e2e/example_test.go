//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/orderintake/edge/scripts/internal/devserver"
)

// The engine in front of a handler that is not an order, on workerd: the
// example webhook receiver (examples/webhook) processes each delivery once,
// however often it is retried, and answers retries with the first answer.
func TestExampleWebhookReceiver(t *testing.T) {
	t.Parallel()
	root, err := devserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := devserver.BuildWorker(dir, "./examples/webhook", filepath.Join(root, "examples", "webhook", "wrangler.toml")); err != nil {
		t.Fatal(err)
	}
	srv, err := devserver.Start(devserver.Options{WorkerDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	w := &worker{name: "webhook", srv: srv}

	deliver := func(id, body string) reply {
		return send(t, w, http.MethodPost, "/webhooks", body, "Webhook-Id", id, "Content-Type", "application/json")
	}
	first := deliver("msg_1", `{"type":"invoice.paid"}`)
	if first.status != 200 || !strings.Contains(string(first.body), `"received":"msg_1"`) {
		t.Fatalf("first delivery: %s", first)
	}
	wantReplay(t, deliver("msg_1", `{"type":"invoice.paid"}`), first.body)
	wantError(t, deliver("msg_1", `{"type":"invoice.voided"}`), 422, "idempotency_key_reused")
	wantError(t, send(t, w, http.MethodPost, "/webhooks", `{"type":"x"}`), 400, "missing_idempotency_key")

	// Ten retries of one delivery at once: none is processed twice; the
	// ones that lose the claim are told to retry.
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range 10 {
		wg.Go(func() {
			r := deliver("msg_2", `{"type":"invoice.paid"}`)
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if statuses[200] == 0 || statuses[200]+statuses[409] != 10 {
		t.Errorf("statuses of ten concurrent retries %v, want 200s and 409s only", statuses)
	}
	stats := send(t, w, http.MethodGet, "/stats", "")
	var processed int
	fmt.Sscanf(string(stats.body), `{"processed":%d}`, &processed)
	// One per delivery; at most one more where two concurrent retries both
	// won a KV claim at this location (the race KV mode narrows).
	if processed < 2 || processed > 3 {
		t.Errorf("processed %d deliveries, want 2 (msg_1 and msg_2), or 3 in KV's rare race (%s)", processed, stats)
	}
}
