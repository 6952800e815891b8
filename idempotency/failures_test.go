package idempotency_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/kvstore"
)

// Every row of docs/contract.md#failures-fail-closed for the webhook receiver, over Workers KV (the fake
// namespace, which fails the Nth call of an operation on demand): the
// middleware fails closed, never running the handler without a durable
// claim, and leaves the records as the table says.

// kvHarness is the receiver behind the middleware over package kv.
type kvHarness struct {
	*harness
	kv *kvstore.Fake
}

func newKVHarness(t *testing.T) *kvHarness {
	clock := kvstore.NewClock(t0)
	fake := kvstore.NewFake(clock.Now)
	return &kvHarness{newHarnessOn(t, idempotency.Options{KeyHeader: "Webhook-Id", Required: true}, clock, kv.Store{KV: fake}), fake}
}

// The KV keys of delivery d-1's records.
var (
	d1Key     = idempotency.Call{Operation: "POST /webhooks", Key: "d-1"}.RecordKey()
	d1Pending = kv.PendingPrefix + d1Key
	d1Result  = kv.ResultPrefix + d1Key
)

func (h *kvHarness) stored() (pending, result bool) {
	_, pending = h.kv.Stored(d1Pending)
	_, result = h.kv.Stored(d1Result)
	return pending, result
}

func (h *kvHarness) kvCalls() [3]int {
	return [3]int{h.kv.Calls(kvstore.OpGet), h.kv.Calls(kvstore.OpPut), h.kv.Calls(kvstore.OpDelete)}
}

func TestFailuresFailClosed(t *testing.T) {
	t.Parallel()
	down := errors.New("KV GET failed: 503 Service Unavailable")
	tests := []struct {
		name    string
		arrange func(h *kvHarness)
		status  int
		code    string // "" for the handler's own answer
		runs    int
		pending bool // the claim left behind
		result  bool
	}{
		{"reading the result fails", func(h *kvHarness) { h.kv.FailNth(kvstore.OpGet, 1, down) }, 503, "storage_unavailable", 0, false, false},
		{"reading the claim fails", func(h *kvHarness) { h.kv.FailNth(kvstore.OpGet, 2, down) }, 503, "storage_unavailable", 0, false, false},
		{"writing the claim fails", func(h *kvHarness) { h.kv.FailNth(kvstore.OpPut, 1, down) }, 503, "storage_unavailable", 0, false, false},
		{"reading the claim back fails", func(h *kvHarness) { h.kv.FailNth(kvstore.OpGet, 3, down) }, 503, "storage_unavailable", 0, true, false},
		{"the handler answers 500", func(h *kvHarness) { h.recv.status = 500 }, 500, "", 1, false, false},
		{"the handler answers 503 and the claim cannot be deleted", func(h *kvHarness) {
			h.recv.status = 503
			h.kv.FailNth(kvstore.OpDelete, 1, down)
		}, 503, "", 1, true, false},
		{"the handler answers 503 and the claim cannot be read to release it", func(h *kvHarness) {
			h.recv.status = 503
			h.kv.FailNth(kvstore.OpGet, 4, down)
		}, 503, "", 1, true, false},
		{"the handler's final answer cannot be stored", func(h *kvHarness) { h.kv.FailNth(kvstore.OpPut, 2, down) }, 200, "", 1, true, false},
		{"the handler refuses (a final 4xx)", func(h *kvHarness) { h.recv.status = 422 }, 422, "", 1, true, true},
		{"the result record is corrupt", func(h *kvHarness) {
			h.kv.Put(context.Background(), d1Result, `{"fingerprint":`, 60)
		}, 500, "corrupt_record", 0, false, true},
		{"the claim record is corrupt", func(h *kvHarness) {
			h.kv.Put(context.Background(), d1Pending, `{"fingerprint":"x"}`, 60)
		}, 500, "corrupt_record", 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newKVHarness(t)
			tt.arrange(h)
			pendingBefore, _ := h.kv.Stored(d1Pending)
			resultBefore, _ := h.kv.Stored(d1Result)
			rec := h.deliver("d-1", delivery)
			if tt.code != "" {
				wantProblem(t, rec, tt.status, tt.code)
			} else {
				wantRun(t, rec, tt.status, 1)
			}
			if tt.code == "storage_unavailable" && rec.Header().Get("Retry-After") != "1" {
				t.Errorf("503 storage_unavailable with Retry-After %q, want 1", rec.Header().Get("Retry-After"))
			}
			if h.recv.ran() != tt.runs {
				t.Errorf("the handler ran %d times, want %d", h.recv.ran(), tt.runs)
			}
			if pending, result := h.stored(); pending != tt.pending || result != tt.result {
				t.Errorf("left pending=%v result=%v, want pending=%v result=%v", pending, result, tt.pending, tt.result)
			}
			pending, _ := h.kv.Stored(d1Pending)
			result, _ := h.kv.Stored(d1Result)
			if tt.code == "corrupt_record" && (pending != pendingBefore || result != resultBefore) {
				t.Error("the corrupt record was changed")
			}
		})
	}
}

// When the handler's final answer cannot be stored, the client still gets
// it; retries get 409 until the claim's lease ends, then one runs the
// handler again, and its answer is the one replayed.
func TestAnAnswerThatCannotBeStoredHoldsTheKeyForTheLease(t *testing.T) {
	t.Parallel()
	h := newKVHarness(t)
	h.kv.FailNth(kvstore.OpPut, 2, errors.New("KV PUT failed: 429 Too Many Requests"))
	wantRun(t, h.deliver("d-1", delivery), 200, 1)
	for _, at := range []time.Duration{time.Second, 29 * time.Second, 30*time.Second - time.Millisecond} {
		h.clock.Advance(at - h.clock.Now().Sub(t0))
		rec := h.deliver("d-1", delivery)
		wantProblem(t, rec, 409, "in_progress")
		if want := strconv.Itoa(max(1, 30-int(at/time.Second))); rec.Header().Get("Retry-After") != want {
			t.Errorf("at +%v: Retry-After %q, want %s", at, rec.Header().Get("Retry-After"), want)
		}
	}
	h.clock.Advance(time.Millisecond)
	second := h.deliver("d-1", delivery)
	wantRun(t, second, 200, 2)
	wantReplay(t, h.deliver("d-1", delivery), second)
}

// A retryable answer releases the key: the next delivery runs the handler.
func TestARetryableAnswerReleasesTheKey(t *testing.T) {
	t.Parallel()
	h := newKVHarness(t)
	h.recv.status = 503
	h.recv.header = map[string]string{"Retry-After": "5"}
	first := h.deliver("d-1", delivery)
	wantRun(t, first, 503, 1)
	if first.Header().Get("Retry-After") != "5" {
		t.Errorf("the live 503 lost the handler's Retry-After: %q", first.Header().Get("Retry-After"))
	}
	h.recv.status = 0
	wantRun(t, h.deliver("d-1", delivery), 200, 2)
}

// The middleware does not recover a panic of the handler: it goes on to the
// caller (the server's recover, or the caller's own outer recover, answers:
// the order intake answers 500 internal_error). The claim is neither
// released nor completed, since the handler may have done its work: it
// holds the key until its lease ends, and then a retry runs the handler.
func TestAPanicInTheHandlerKeepsTheClaim(t *testing.T) {
	t.Parallel()
	h := newKVHarness(t)
	h.recv.during = func() { panic("nil map") }
	func() {
		defer func() {
			if p := recover(); p != "nil map" {
				t.Errorf("recovered %v, want the handler's panic", p)
			}
		}()
		h.deliver("d-1", delivery)
	}()
	if pending, result := h.stored(); !pending || result {
		t.Fatalf("after the panic pending=%v result=%v, want the claim kept and no result", pending, result)
	}
	h.clock.Advance(30*time.Second - time.Millisecond)
	wantProblem(t, h.deliver("d-1", delivery), 409, "in_progress")
	h.clock.Advance(time.Millisecond)
	wantRun(t, h.deliver("d-1", delivery), 200, 2)
}

// The KV bill per path, as for orders: a replay is one read; a new call
// three reads (the result, the claim, the claim read back) and two writes; a
// retryable answer a further read and a delete to release the claim; a
// request refused or passed through nothing.
func TestKVOperationsPerPath(t *testing.T) {
	t.Parallel()
	h := newKVHarness(t)
	steps := []struct {
		name string
		send func()
		want [3]int // (get, put, delete) since the step before
	}{
		{"a new delivery", func() { h.deliver("d-1", delivery) }, [3]int{3, 2, 0}},
		{"a replay", func() { h.deliver("d-1", delivery) }, [3]int{1, 0, 0}},
		{"a reused key", func() { h.deliver("d-1", `{"event":"other"}`) }, [3]int{1, 0, 0}},
		{"a missing key", func() { h.deliver("", delivery) }, [3]int{}},
		{"an invalid key", func() { h.deliver("d 1", delivery) }, [3]int{}},
		{"a body too large", func() { h.deliver("d-2", string(make([]byte, 1<<20+1))) }, [3]int{}},
		{"a GET", func() { h.do(http.MethodGet, "/webhooks", "") }, [3]int{}},
		{"a retryable answer", func() { h.recv.status = 503; h.deliver("d-3", delivery); h.recv.status = 0 }, [3]int{4, 1, 1}},
	}
	before := h.kvCalls()
	for _, step := range steps {
		step.send()
		now := h.kvCalls()
		got := [3]int{now[0] - before[0], now[1] - before[1], now[2] - before[2]}
		if got != step.want {
			t.Errorf("%s: (get, put, delete) = %v, want %v", step.name, got, step.want)
		}
		before = now
	}
}

// A replay over KV is byte for byte too, whatever the bytes.
func TestKVReplaysAnyBytes(t *testing.T) {
	t.Parallel()
	for name, body := range map[string][]byte{"binary": {0xff, 0x00, 0xfe, 0x80}, "JSON with <&>": []byte(`{"a":"<&>"}`), "empty": nil} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := kvstore.NewClock(t0)
			e := &idempotency.Engine{Store: kv.Store{KV: kvstore.NewFake(clock.Now)}, Now: clock.Now}
			handler := idempotency.Middleware(e, idempotency.Options{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Write(body)
			}))
			h := &harness{t: t, handler: handler, keyName: "Idempotency-Key"}
			first := h.deliver("d-1", delivery)
			replay := h.deliver("d-1", delivery)
			if first.Body.String() != string(body) || replay.Header().Get("Idempotent-Replay") != "true" ||
				replay.Body.String() != string(body) || replay.Header().Get("Content-Type") != "application/octet-stream" {
				t.Errorf("live %q, replayed %q (%v); want %q both times", first.Body.Bytes(), replay.Body.Bytes(), replay.Header(), body)
			}
		})
	}
}
