package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	idemkv "github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
)

// strictWorker is the handler as main.go wires it in strict mode, over the
// atomic fake table and the fake KV.
type strictWorker struct {
	t       *testing.T
	handler *Service
	table   *d1.FakeTable
	kv      *kvstore.Fake
	clock   *kvstore.Clock
	placer  *countingPlacer
}

type countingPlacer struct {
	mu    sync.Mutex
	calls int
	delay time.Duration // real time spent placing, to widen races
	fail  error
	next  order.Placer
}

func (p *countingPlacer) Place(ctx context.Context, id, client string, o order.Order) (order.Receipt, error) {
	p.mu.Lock()
	p.calls++
	p.mu.Unlock()
	time.Sleep(p.delay)
	if p.fail != nil {
		return order.Receipt{}, p.fail
	}
	return p.next.Place(ctx, id, client, o)
}

func (p *countingPlacer) placed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

func newStrictWorker(t *testing.T, table d1.Table) *strictWorker {
	clock := kvstore.NewClock(t0)
	kv := kvstore.NewFake(clock.Now)
	fake, _ := table.(*d1.FakeTable)
	if table == nil {
		fake = d1.NewFakeTable()
		table = fake
	}
	w := &strictWorker{t: t, table: fake, kv: kv, clock: clock,
		placer: &countingPlacer{next: order.MintReceipt{Now: clock.Now}}}
	w.handler = newTestHandler(t, d1.Store{Table: table, Results: &idemkv.Store{KV: kv}, Now: clock.Now}, w.placer, clock, &syncBuffer{})
	return w
}

func (w *strictWorker) post(key, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/orders", strings.NewReader(body))
	req.Header.Set("Idempotency-Key", key)
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	return rec
}

func errorCode(rec *httptest.ResponseRecorder) string {
	var e struct{ Error string }
	json.Unmarshal(rec.Body.Bytes(), &e)
	return e.Error
}

// The point of strict mode: concurrent retries of one key place the order
// exactly once, because the claim is one atomic statement.
func TestConcurrentRetriesPlaceExactlyOnce(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		w := newStrictWorker(t, nil)
		w.placer.delay = time.Millisecond
		key := fmt.Sprint("race-", round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		statuses := make(chan int, 50)
		for range 50 {
			wg.Go(func() {
				<-start
				statuses <- w.post(key, msft100).Code
			})
		}
		close(start)
		wg.Wait()
		close(statuses)
		counts := map[int]int{}
		for s := range statuses {
			counts[s]++
		}
		if w.placer.placed() != 1 || counts[201] != 1 || counts[201]+counts[200]+counts[409] != 50 {
			t.Fatalf("round %d: placed %d times, statuses %v; want one placement, one 201, the rest 200 or 409", round, w.placer.placed(), counts)
		}
	}
}

// staleRead hides the row from the first Get, as if another request claimed
// the key between this request's read and its claim.
type staleRead struct {
	*d1.FakeTable
	once sync.Once
}

func (s *staleRead) Get(ctx context.Context, key string, now time.Time) (*d1.Row, error) {
	stale := false
	s.once.Do(func() { stale = true })
	if stale {
		return nil, nil
	}
	return s.FakeTable.Get(ctx, key, now)
}

func TestStrictLostClaimAnswersAsTheWinnersRetryWouldBeAnswered(t *testing.T) {
	t.Parallel()
	fp := mustOrder(t, msft100).Fingerprint()
	claimed := d1.Row{Fingerprint: fp, ClaimedAt: t0, LeaseUntil: t0.Add(30 * time.Second), ExpiresAt: t0.Add(30 * time.Second)}
	// A completed row's lease ended long ago; only its expiry frees the key.
	completed := d1.Row{Fingerprint: fp, Completed: true, ResponseStatus: 201, ResponseBody: `{"orderId":"first"}`,
		ClaimedAt: t0.Add(-time.Hour), LeaseUntil: t0.Add(-time.Hour), CompletedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)}
	for _, tt := range []struct {
		row        d1.Row
		body, code string
		status     int
	}{
		{claimed, msft100, "in_progress", 409},
		{claimed, `{"symbol":"MSFT","side":"sell","quantity":100}`, "idempotency_key_reused", 422},
		{completed, msft100, "", 200},
		{completed, `{"symbol":"MSFT","side":"sell","quantity":100}`, "idempotency_key_reused", 422},
	} {
		table := &staleRead{FakeTable: d1.NewFakeTable()}
		w := newStrictWorker(t, table)
		table.Put("k", tt.row)
		rec := w.post("k", tt.body)
		if rec.Code != tt.status || errorCode(rec) != tt.code {
			t.Errorf("lost claim, %s: %d %s, want %d %s", tt.body, rec.Code, rec.Body.String(), tt.status, tt.code)
		}
		if tt.status == 200 && rec.Body.String() != tt.row.ResponseBody {
			t.Errorf("lost claim: replayed %s, want the stored receipt", rec.Body.String())
		}
		if w.placer.placed() != 0 {
			t.Error("the loser placed the order")
		}
	}
}

// refusingTable loses every claim and shows no row: the winner's claim ended
// between this request's claim and its second look.
type refusingTable struct{ *d1.FakeTable }

func (refusingTable) Get(context.Context, string, time.Time) (*d1.Row, error) { return nil, nil }
func (refusingTable) Claim(context.Context, string, idempotency.Claim, time.Time) (bool, error) {
	return false, nil
}

func TestALostClaimWithNothingLeftToReadAsksForARetry(t *testing.T) {
	t.Parallel()
	w := newStrictWorker(t, refusingTable{d1.NewFakeTable()})
	rec := w.post("k", msft100)
	if rec.Code != 409 || errorCode(rec) != "in_progress" || rec.Header().Get("Retry-After") != "1" {
		t.Errorf("got %d %s, Retry-After %q; want 409 in_progress, 1", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
	}
	if w.placer.placed() != 0 {
		t.Error("placed without winning the claim")
	}
}

func TestLeaseTakeoverAndExpiry(t *testing.T) {
	t.Parallel()
	w := newStrictWorker(t, nil)
	w.table.Fail("Complete", errors.New("D1 write failed"))
	first := w.post("k", msft100)
	if first.Code != 201 {
		t.Fatalf("first: %d", first.Code)
	}
	w.clock.Advance(29 * time.Second)
	if rec := w.post("k", msft100); rec.Code != 409 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("during the lease: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	w.clock.Advance(time.Second)
	second := w.post("k", msft100)
	if second.Code != 201 || w.placer.placed() != 2 {
		t.Fatalf("after the lease: %d, placed %d; want a takeover that places again", second.Code, w.placer.placed())
	}
	if row, _ := w.table.Row("k"); !row.Completed || row.ResponseBody != second.Body.String() {
		t.Fatalf("row after the takeover: %+v", row)
	}
	w.clock.Advance(86400*time.Second - time.Millisecond)
	if rec := w.post("k", msft100); rec.Code != 200 || rec.Body.String() != second.Body.String() {
		t.Fatalf("before the result expires: %d", rec.Code)
	}
	w.clock.Advance(time.Millisecond)
	if rec := w.post("k", `{"symbol":"MSFT","side":"sell","quantity":1}`); rec.Code != 201 {
		t.Fatalf("after the result expired the key is free: %d %s", rec.Code, rec.Body.String())
	}
}

// KV caches completed results at the edge: a replay found there costs one KV
// read and no D1 statement; one served from D1 refills the cache.
func TestKVCachesResults(t *testing.T) {
	t.Parallel()
	w := newStrictWorker(t, nil)
	created := w.post("k", msft100)
	gets, tableGets := w.kv.Calls(kvstore.OpGet), w.table.Statements("Get")
	if rec := w.post("k", msft100); rec.Code != 200 || rec.Body.String() != created.Body.String() {
		t.Fatalf("replay: %d", rec.Code)
	}
	if w.kv.Calls(kvstore.OpGet) != gets+1 || w.table.Statements("Get") != tableGets {
		t.Errorf("a cached replay cost %d KV reads and %d D1 reads, want 1 and 0",
			w.kv.Calls(kvstore.OpGet)-gets, w.table.Statements("Get")-tableGets)
	}

	w.kv.Delete(context.Background(), "result:k") // evicted, or not yet propagated here
	if rec := w.post("k", msft100); rec.Code != 200 || rec.Body.String() != created.Body.String() {
		t.Fatalf("replay from D1: %d", rec.Code)
	}
	var cached idempotency.Result
	if raw, ok := w.kv.Stored("result:k"); !ok || json.Unmarshal([]byte(raw), &cached) != nil || cached.Body != created.Body.String() {
		t.Errorf("a replay served from D1 did not refill the cache with the receipt: %+v", cached)
	}

	w.kv.Delete(context.Background(), "result:k")
	w.clock.Advance(86400*time.Second - 59*time.Second)
	puts := w.kv.Calls(kvstore.OpPut)
	if rec := w.post("k", msft100); rec.Code != 200 {
		t.Fatalf("late replay from D1: %d", rec.Code)
	}
	if w.kv.Calls(kvstore.OpPut) != puts {
		t.Error("tried to cache a result with less than KV's 60 s floor left: KV refuses it, and it would outlive the row")
	}
}

func TestStrictFailuresFailClosed(t *testing.T) {
	t.Parallel()
	boom := errors.New("D1_ERROR: network")
	tests := []struct {
		name    string
		arrange func(w *strictWorker)
		status  int
		code    string
		placed  int
		row     string // "", "processing" or "completed"
	}{
		{"reading the table fails", func(w *strictWorker) { w.table.Fail("Get", boom) }, 503, "storage_unavailable", 0, ""},
		{"the claim fails", func(w *strictWorker) { w.table.Fail("Claim", boom) }, 503, "storage_unavailable", 0, ""},
		{"placement fails", func(w *strictWorker) { w.placer.fail = boom }, 502, "placement_failed", 1, ""},
		{"placement fails, release fails", func(w *strictWorker) { w.placer.fail = boom; w.table.Fail("Release", boom) }, 502, "placement_failed", 1, "processing"},
		{"storing the result fails", func(w *strictWorker) { w.table.Fail("Complete", boom) }, 201, "", 1, "processing"},
		{"the KV cache cannot be read", func(w *strictWorker) { w.kv.FailNth(kvstore.OpGet, 1, boom) }, 201, "", 1, "completed"},
		{"the KV cache cannot be written", func(w *strictWorker) { w.kv.FailNth(kvstore.OpPut, 1, boom) }, 201, "", 1, "completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newStrictWorker(t, nil)
			tt.arrange(w)
			rec := w.post("k", msft100)
			if rec.Code != tt.status || errorCode(rec) != tt.code {
				t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body.String(), tt.status, tt.code)
			}
			if w.placer.placed() != tt.placed {
				t.Errorf("placed %d, want %d", w.placer.placed(), tt.placed)
			}
			row, ok := w.table.Row("k")
			state := ""
			if ok && row.Completed {
				state = "completed"
			} else if ok {
				state = "processing"
			}
			if state != tt.row {
				t.Errorf("row is %q, want %q", state, tt.row)
			}
		})
	}
}

func mustOrder(t *testing.T, body string) order.Order {
	o, err := order.ParseOrder([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// A refusal by the order gateway is the key's result in D1 too: stored with
// its status, and replayed as a 422 from the KV cache and from the table.
func TestStrictStoresAndReplaysARefusal(t *testing.T) {
	t.Parallel()
	w := newStrictWorker(t, nil)
	w.placer.fail = &order.Refusal{Status: 403, Reason: "account suspended"}
	first := w.post("k", msft100)
	if first.Code != 422 || errorCode(first) != "order_rejected" || !strings.Contains(first.Body.String(), `"reason":"account suspended"`) {
		t.Fatalf("first: %d %s, want 422 order_rejected with the reason", first.Code, first.Body.String())
	}
	if row, _ := w.table.Row("k"); !row.Completed || row.ResponseStatus != 422 || row.ResponseBody != first.Body.String() {
		t.Fatalf("row %+v, want the refusal completed with status 422 and its exact body", row)
	}
	replay := func(from string) {
		rec := w.post("k", msft100)
		if rec.Code != 422 || rec.Body.String() != first.Body.String() || rec.Header().Get("Idempotent-Replay") != "true" {
			t.Errorf("replay from %s: %d %s (Idempotent-Replay %q), want the refusal's 422 and bytes",
				from, rec.Code, rec.Body.String(), rec.Header().Get("Idempotent-Replay"))
		}
	}
	replay("the KV cache")
	w.kv.Delete(context.Background(), "result:k")
	replay("D1")
	if w.placer.placed() != 1 {
		t.Errorf("placed %d times, want 1", w.placer.placed())
	}
}
