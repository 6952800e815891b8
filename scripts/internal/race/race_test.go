package race

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
)

func TestCountPlacements(t *testing.T) {
	log := strings.Join([]string{
		`[wrangler:info] Ready on http://127.0.0.1:8787`,
		`{"event":"placed","status":201,"orderId":"a","elapsedMs":3}`,
		`[wrangler:info] POST /orders 201 Created (8ms)`,
		`{"event":"replayed","status":200,"orderId":"a","elapsedMs":1}`,
		`{"event":"result_write_error","status":201,"orderId":"a","elapsedMs":3,"error":"boom"}`,
		`{"event":"placed","status":201,"orderId":"b","elapsedMs":3}`,
		`{"event":"in_progress","status":409,"code":"in_progress","elapsedMs":2}`,
		`{"event":"placed","status":201,"orderId":"c"`, // cut off: not counted
	}, "\n")
	if got := CountPlacements(log, map[string]bool{"a": true, "c": true}); got != 2 {
		t.Errorf("CountPlacements = %d, want 2 (one placed and one result_write_error for a)", got)
	}
}

// fakeWorker answers like the worker and logs like it; with idempotent unset it
// places every request under a fresh id, as a worker without a claim would.
type fakeWorker struct {
	idempotent bool
	mu         sync.Mutex
	seen       map[string]string // key → receipt
	log        strings.Builder
}

func (f *fakeWorker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		fmt.Fprint(w, `{"status":"ok"}`)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	f.mu.Lock()
	defer f.mu.Unlock()
	if receipt, ok := f.seen[key]; ok && f.idempotent {
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, receipt)
		return
	}
	id := uuid.NewString()
	receipt := fmt.Sprintf(`{"orderId":%q}`, id)
	f.seen[key] = receipt
	fmt.Fprintf(&f.log, "{\"event\":\"placed\",\"status\":201,\"orderId\":%q}\n", id)
	w.WriteHeader(http.StatusCreated)
	fmt.Fprint(w, receipt)
}

func (f *fakeWorker) Log() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.log.String(), nil
}

func TestRun(t *testing.T) {
	for _, idempotent := range []bool{true, false} {
		t.Run(fmt.Sprintf("idempotent=%v", idempotent), func(t *testing.T) {
			const n, rounds = 8, 3
			f := &fakeWorker{idempotent: idempotent, seen: map[string]string{}}
			srv := httptest.NewServer(f)
			defer srv.Close()
			res, err := Run(context.Background(), Config{URL: srv.URL, N: n, Rounds: rounds, Log: f.Log})
			if err != nil {
				t.Fatal(err)
			}
			perKey := 1
			if !idempotent {
				perKey = n
			}
			maxIDs, totalIDs := res.IDStats()
			lo, _, hi, total, ok := res.PlacementStats()
			if maxIDs != perKey || totalIDs != perKey*rounds || !ok || lo != perKey || hi != perKey || total != perKey*rounds {
				t.Errorf("ids max %d total %d, placements min %d max %d total %d (known %v); want %d per key over %d keys\n%s",
					maxIDs, totalIDs, lo, hi, total, ok, perKey, rounds, res)
			}
			if res.Statuses[http.StatusCreated] != perKey*rounds || res.Statuses[http.StatusOK] != (n-perKey)*rounds {
				t.Errorf("statuses %v\n%s", res.Statuses, res)
			}
		})
	}
}

func TestRunWithoutLog(t *testing.T) {
	f := &fakeWorker{idempotent: true, seen: map[string]string{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, N: 2, Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, _, ok := res.PlacementStats(); ok {
		t.Errorf("placements known without a log:\n%s", res)
	}
	if !strings.Contains(res.String(), "placements: unknown") {
		t.Errorf("report does not say placements are unknown:\n%s", res)
	}
}
