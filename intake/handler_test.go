package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	idemkv "github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/idempotency/memory"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
)

const msft100 = `{"symbol":"MSFT","side":"buy","quantity":100}`

var t0 = time.Date(2026, 11, 23, 14, 30, 50, 123e6, time.UTC)

// worker is the handler wired as main.go wires it, over the fake KV.
type worker struct {
	t       *testing.T
	handler *Service
	store   idempotency.Store
	kv      *kvstore.Fake
	clock   *kvstore.Clock
	placer  *spyPlacer
	logs    *syncBuffer
}

// spyPlacer counts placements and can fail, panic or run a hook while the
// order is being placed (that is, while the claim is held).
type spyPlacer struct {
	mu     sync.Mutex
	calls  int
	fail   error
	during func()
	next   order.Placer
}

func (p *spyPlacer) Place(ctx context.Context, orderID, client string, o order.Order) (order.Receipt, error) {
	p.mu.Lock()
	p.calls++
	fail, during := p.fail, p.during
	p.during = nil
	p.mu.Unlock()
	if during != nil {
		during()
	}
	if fail != nil {
		return order.Receipt{}, fail
	}
	return p.next.Place(ctx, orderID, client, o)
}

func (p *spyPlacer) placed() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) lines() []logLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []logLine
	for _, raw := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		var l logLine
		if raw != "" && json.Unmarshal([]byte(raw), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

func newWorker(t *testing.T) *worker {
	t.Helper()
	clock := kvstore.NewClock(t0)
	kv := kvstore.NewFake(clock.Now)
	return newWorkerOn(t, clock, kv, kv)
}

func newWorkerOn(t *testing.T, clock *kvstore.Clock, kv *kvstore.Fake, store kvstore.Namespace) *worker {
	w := &worker{t: t, kv: kv, clock: clock, logs: &syncBuffer{},
		placer: &spyPlacer{next: order.MintReceipt{Now: clock.Now}}}
	w.store = idemkv.Store{KV: store}
	w.handler = newTestHandler(t, w.store, w.placer, clock, w.logs)
	return w
}

// reconfigure rebuilds w's handler with these settings (the defaults where
// they are zero) and misconfiguration, over the same store, placer, clock
// and log.
func (w *worker) reconfigure(settings Settings, misconfigured error) {
	w.handler = New(Config{Store: w.store, Placer: w.placer, Settings: withDefaults(w.t, settings),
		Misconfigured: misconfigured, Log: w.logs, Now: w.clock.Now})
}

// withDefaults fills in the durations and counts left zero in s with their
// defaults; the result cache stays as s has it (off when zero).
func withDefaults(t *testing.T, s Settings) Settings {
	t.Helper()
	defaults, err := ParseSettings(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if s.Lease == 0 {
		s.Lease, s.ResultTTL, s.PlacementTimeout = defaults.Lease, defaults.ResultTTL, defaults.PlacementTimeout
	}
	if s.QueueRetryBase == 0 {
		s.QueueRetryBase, s.QueueMaxRetries = defaults.QueueRetryBase, defaults.QueueMaxRetries
	}
	return s
}

// newTestHandler is the handler as main.go wires it, with the default
// settings but no result cache, over store.
func newTestHandler(t *testing.T, store idempotency.Store, placer order.Placer, clock *kvstore.Clock, log io.Writer) *Service {
	t.Helper()
	return New(Config{Store: store, Placer: placer, Settings: withDefaults(t, Settings{}), Log: log, Now: clock.Now})
}

// do sends a request; headers come in name, value pairs.
func (w *worker) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	w.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	wantCT := "application/json"
	if rec.Code >= 400 {
		wantCT = idempotency.ProblemContentType
	}
	// A replay keeps the Content-Type it was first sent with (a refusal
	// stored by the first version was application/json); its tests check it.
	if ct := rec.Header().Get("Content-Type"); ct != wantCT && rec.Header().Get("Idempotent-Replay") != "true" {
		w.t.Errorf("%s %s: %d with Content-Type %q, want %s", method, path, rec.Code, ct, wantCT)
	}
	if !json.Valid(rec.Body.Bytes()) {
		w.t.Errorf("%s %s: body is not JSON: %q", method, path, rec.Body.String())
	}
	return rec
}

func (w *worker) post(key, body string) *httptest.ResponseRecorder {
	w.t.Helper()
	return w.do("POST", "/orders", body, "Idempotency-Key", key, "Content-Type", "application/json")
}

func (w *worker) kvCalls() [3]int {
	return [3]int{w.kv.Calls(kvstore.OpGet), w.kv.Calls(kvstore.OpPut), w.kv.Calls(kvstore.OpDelete)}
}

// problem is an error answer as clients read it (RFC 9457 plus error and
// message).
type problem struct {
	Type, Title, Detail, Error, Message, Reason string
	Status, RetryAfter                          int
	Fields                                      map[string]string
}

// wantError checks an error response: status, code, the problem details
// members and the one-sentence message.
func wantError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) problem {
	t.Helper()
	var e problem
	if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil {
		t.Fatalf("error body %q: %v", rec.Body.String(), err)
	}
	if rec.Code != status || e.Error != code || e.Message == "" {
		t.Fatalf("got %d %s, want %d %s", rec.Code, rec.Body.String(), status, code)
	}
	if e.Type != ProblemTypeBase+code || e.Title == "" || e.Status != status || e.Detail != e.Message {
		t.Errorf("problem details %+v: want type %s, a title, status %d and detail = message", e, ProblemTypeBase+code, status)
	}
	if ct := rec.Header().Get("Content-Type"); ct != idempotency.ProblemContentType {
		t.Errorf("%d %s: Content-Type %q", rec.Code, code, ct)
	}
	return e
}

func receiptOf(t *testing.T, rec *httptest.ResponseRecorder) order.Receipt {
	t.Helper()
	var r order.Receipt
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("receipt %q: %v", rec.Body.String(), err)
	}
	return r
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	for _, method := range []string{"GET", "HEAD"} {
		if rec := w.do(method, "/healthz", ""); rec.Code != 200 || rec.Body.String() != `{"status":"ok"}` {
			t.Errorf("%s /healthz: %d %s", method, rec.Code, rec.Body.String())
		}
	}
	if rec := w.do("POST", "/healthz", ""); rec.Code != 405 || rec.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /healthz: %d, Allow %q", rec.Code, rec.Header().Get("Allow"))
	}
	for _, path := range []string{"/orders", "/"} {
		for _, method := range []string{"GET", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			rec := w.do(method, path, "")
			wantError(t, rec, 405, "method_not_allowed")
			if rec.Header().Get("Allow") != "POST" {
				t.Errorf("%s %s: Allow %q, want POST", method, path, rec.Header().Get("Allow"))
			}
		}
	}
	for _, path := range []string{"/order", "/orders/", "/healthz/x", "/v1/orders"} {
		wantError(t, w.do("POST", path, msft100, "Idempotency-Key", "k"), 404, "not_found")
	}
	if calls := w.kvCalls(); calls != [3]int{} {
		t.Errorf("routing touched KV: %v", calls)
	}
	if rec := w.do("POST", "/", msft100, "Idempotency-Key", "alias"); rec.Code != 201 {
		t.Errorf("POST / is the intake alias: %d %s", rec.Code, rec.Body.String())
	}
}

// docs/contract.md#checks-in-order: checks in order, the first failure wins, and a refused request
// costs no KV operation and leaves the key free.
func TestChecksRefuseBadInputWithoutTouchingStorage(t *testing.T) {
	t.Parallel()
	json16k := msft100 + strings.Repeat(" ", MaxBodyBytes-len(msft100))
	tests := []struct {
		name    string
		headers []string
		body    string
		status  int
		code    string
	}{
		{"no key", []string{"Content-Type", "text/plain"}, "x", 400, "missing_idempotency_key"},
		{"empty key", []string{"Idempotency-Key", ""}, msft100, 400, "missing_idempotency_key"},
		{"key twice", []string{"Idempotency-Key", "a", "Idempotency-Key", "b"}, msft100, 400, "invalid_idempotency_key"},
		{"key with a space", []string{"Idempotency-Key", "a b", "Content-Type", "text/plain"}, "", 400, "invalid_idempotency_key"},
		{"key too long", []string{"Idempotency-Key", strings.Repeat("k", 256)}, msft100, 400, "invalid_idempotency_key"},
		{"form encoding", []string{"Idempotency-Key", "k", "Content-Type", "application/x-www-form-urlencoded"}, msft100, 415, "unsupported_media_type"},
		{"text", []string{"Idempotency-Key", "k", "Content-Type", "text/plain"}, msft100 + strings.Repeat(" ", MaxBodyBytes), 415, "unsupported_media_type"},
		{"json-ish", []string{"Idempotency-Key", "k", "Content-Type", "application/jsonx"}, msft100, 415, "unsupported_media_type"},
		{"16385 bytes", []string{"Idempotency-Key", "k"}, json16k + " ", 413, "payload_too_large"},
		{"16385 bytes of garbage", []string{"Idempotency-Key", "k"}, strings.Repeat("x", MaxBodyBytes+1), 413, "payload_too_large"},
		{"syntax error", []string{"Idempotency-Key", "k"}, `{"symbol":`, 400, "malformed_json"},
		{"array", []string{"Idempotency-Key", "k"}, `[` + msft100 + `]`, 400, "malformed_json"},
		{"trailing garbage", []string{"Idempotency-Key", "k"}, msft100 + `x`, 400, "malformed_json"},
		{"empty body", []string{"Idempotency-Key", "k"}, ``, 400, "malformed_json"},
		{"bad fields", []string{"Idempotency-Key", "k"}, `{"symbol":"MSFT","side":"buy","quantity":100.5}`, 422, "invalid_order"},
		{"unknown field", []string{"Idempotency-Key", "k"}, `{"symbol":"MSFT","side":"buy","quantity":1,"price":10}`, 422, "invalid_order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorker(t)
			wantError(t, w.do("POST", "/orders", tt.body, tt.headers...), tt.status, tt.code)
			if calls := w.kvCalls(); calls != [3]int{} {
				t.Errorf("a refused request made KV calls (get, put, delete) %v", calls)
			}
			if w.placer.placed() != 0 {
				t.Error("a refused request was placed")
			}
			if lines := w.logs.lines(); len(lines) != 1 || lines[0].Event != "rejected" || lines[0].Code != tt.code || lines[0].Status != tt.status {
				t.Errorf("log lines %+v, want one rejected %d %s", lines, tt.status, tt.code)
			}
		})
	}
}

func TestInvalidOrderNamesEveryFieldAndLeavesTheKeyFree(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	e := wantError(t, w.post("k", `{"symbol":"","side":"hold","quantity":"1","price":2}`), 422, "invalid_order")
	want := map[string]string{"symbol": "must be 1 to 32 visible ASCII characters (0x21-0x7E)", "side": `must be "buy" or "sell"`,
		"quantity": "must be a JSON number", "price": "unknown field"}
	if fmt.Sprint(e.Fields) != fmt.Sprint(want) {
		t.Errorf("fields = %v, want %v", e.Fields, want)
	}
	if rec := w.post("k", msft100); rec.Code != 201 {
		t.Errorf("the corrected retry under the same key: %d %s", rec.Code, rec.Body.String())
	}
}

func TestMalformedJSONSaysWhatIsWrong(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	for body, reason := range map[string]string{
		msft100 + "x":                  "unexpected data after the JSON object",
		`[1]`:                          "body is not a JSON object",
		`{"side":"buy","side":"sell"}`: `member "side" appears twice`,
		"{\"symbol\":\"\xff\"}":        "body is not valid UTF-8",
		`{"symbol":"MSFT","side":"buy","quantity"`: "the JSON ends before the object does",
		"":            "the body is empty",
		`{"symbol":}`: "invalid character '}' looking for beginning of value",
	} {
		e := wantError(t, w.post("k", body), 400, "malformed_json")
		if e.Message != "The request body must be a single JSON object ("+reason+")." {
			t.Errorf("%q: message %q does not give the reason %q", body, e.Message, reason)
		}
	}
}

func TestBodyOfExactly16KiBIsAccepted(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	body := msft100 + strings.Repeat(" ", MaxBodyBytes-len(msft100))
	if rec := w.post("k", body); rec.Code != 201 {
		t.Fatalf("16384-byte body: %d %s", rec.Code, rec.Body.String())
	}
}

func TestContentTypeAbsentOrJSONWithParametersIsAccepted(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	for i, headers := range [][]string{
		nil,
		{"Content-Type", "application/json"},
		{"Content-Type", "application/json; charset=utf-8"},
		{"Content-Type", "Application/JSON;charset=UTF-8"},
	} {
		rec := w.do("POST", "/orders", msft100, append([]string{"Idempotency-Key", fmt.Sprint("k", i)}, headers...)...)
		if rec.Code != 201 {
			t.Errorf("Content-Type %v: %d %s", headers, rec.Code, rec.Body.String())
		}
	}
}

func TestCreatedThenReplayedByteForByte(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	created := w.post("k", `{"symbol":"MSFT","side":"buy","quantity":1e2}`)
	if created.Code != 201 {
		t.Fatalf("first: %d %s", created.Code, created.Body.String())
	}
	wantBody := fmt.Sprintf(`{"orderId":"%s","status":"accepted","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day","acceptedAt":"2026-11-23T14:30:50.123Z"}`,
		order.OrderID("", "k", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint()))
	if created.Body.String() != wantBody {
		t.Fatalf("receipt\n got %s\nwant %s", created.Body.String(), wantBody)
	}
	if created.Header().Get("Idempotent-Replay") != "" {
		t.Error("the original answer is marked as a replay")
	}
	w.clock.Advance(time.Hour)
	// The same order written differently, with the key quoted as the IETF draft writes it.
	replay := w.do("POST", "/orders", `{"quantity":100.0,"side":"buy","symbol":"MSFT"}`, "Idempotency-Key", `"k"`)
	if replay.Code != 200 || replay.Body.String() != wantBody {
		t.Fatalf("replay: %d %s", replay.Code, replay.Body.String())
	}
	if replay.Header().Get("Idempotent-Replay") != "true" {
		t.Errorf("Idempotent-Replay = %q", replay.Header().Get("Idempotent-Replay"))
	}
	if w.placer.placed() != 1 {
		t.Errorf("placed %d times, want 1", w.placer.placed())
	}
}

func TestJSONIsWrittenAsJavaScriptWritesIt(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	rec := w.post("k", `{"symbol":"A<B>&C","side":"buy","quantity":1}`)
	if !strings.Contains(rec.Body.String(), `"symbol":"A<B>&C"`) {
		t.Errorf("receipt %s escapes HTML characters", rec.Body.String())
	}
	if rec := w.do("GET", "/<x>", ""); !strings.Contains(rec.Body.String(), "/<x>") {
		t.Errorf("error %s escapes HTML characters", rec.Body.String())
	}
}

func TestKeyReusedForAnotherOrderIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	w.post("k", msft100)
	for _, other := range []string{
		`{"symbol":"MSFT","side":"sell","quantity":100}`,
		`{"symbol":"MSFT","side":"buy","quantity":101}`,
		`{"symbol":"AAPL","side":"buy","quantity":100}`,
	} {
		wantError(t, w.post("k", other), 422, "idempotency_key_reused")
	}
	if w.placer.placed() != 1 {
		t.Errorf("placed %d times, want 1", w.placer.placed())
	}
}

// While a claim is held, a retry waits (409 with Retry-After counting down)
// and another order under the key is refused (422 outranks 409).
func TestClaimHeldByAnotherRequest(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	var during []*httptest.ResponseRecorder
	w.placer.during = func() {
		during = append(during, w.post("k", msft100))
		w.clock.Advance(20*time.Second + 500*time.Millisecond)
		during = append(during, w.post("k", msft100))
		w.clock.Advance(9 * time.Second)
		during = append(during, w.post("k", msft100))
		during = append(during, w.post("k", `{"symbol":"MSFT","side":"sell","quantity":100}`))
	}
	if rec := w.post("k", msft100); rec.Code != 201 {
		t.Fatalf("first: %d %s", rec.Code, rec.Body.String())
	}
	for i, wantWait := range []int{30, 10, 1} {
		e := wantError(t, during[i], 409, "in_progress")
		if during[i].Header().Get("Retry-After") != fmt.Sprint(wantWait) || e.RetryAfter != wantWait {
			t.Errorf("retry %d: Retry-After %q, retryAfter %d; want %d", i, during[i].Header().Get("Retry-After"), e.RetryAfter, wantWait)
		}
	}
	wantError(t, during[3], 422, "idempotency_key_reused")
	for _, l := range w.logs.lines() {
		if l.OrderID == "" {
			t.Errorf("log line %+v has no order id", l)
		}
	}
	if w.placer.placed() != 1 {
		t.Errorf("placed %d times, want 1", w.placer.placed())
	}
}

// A claim whose lease ended (its request died before storing a result) no
// longer blocks: the next request reclaims the key and places the order
// under the same order id.
func TestClaimIsReclaimedAfterItsLease(t *testing.T) {
	t.Parallel()
	w, faults := newFaultyWorker(t)
	faults.method, faults.err = "Complete", errors.New("result write lost")
	first := receiptOf(t, w.post("k", msft100))
	faults.method = ""
	w.clock.Advance(29 * time.Second)
	wantError(t, w.post("k", msft100), 409, "in_progress")
	w.clock.Advance(time.Second)
	again := w.post("k", msft100)
	if again.Code != 201 || receiptOf(t, again).OrderID != first.OrderID {
		t.Fatalf("after the lease: %d %s, want 201 with order id %s", again.Code, again.Body.String(), first.OrderID)
	}
	if w.placer.placed() != 2 {
		t.Errorf("placed %d times, want 2", w.placer.placed())
	}
	if replay := w.post("k", msft100); replay.Code != 200 || replay.Body.String() != again.Body.String() {
		t.Errorf("after the reclaim: %d %s, want a replay of it", replay.Code, replay.Body.String())
	}
}

func TestResultIsKeptForItsTTL(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	w.post("k", msft100)
	w.clock.Advance(86400*time.Second - time.Millisecond)
	if rec := w.post("k", msft100); rec.Code != 200 {
		t.Fatalf("just before the result TTL: %d", rec.Code)
	}
	w.clock.Advance(time.Millisecond)
	if rec := w.post("k", msft100); rec.Code != 201 {
		t.Fatalf("after the result TTL the key is free: %d", rec.Code)
	}
}

func TestMisconfiguredSettingRefusesEveryIntakeRequest(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	_, err := ParseSettings(func(name string) string {
		return map[string]string{"RESULT_TTL_SECONDS": "30"}[name]
	})
	w.reconfigure(Settings{}, err)
	for _, headers := range [][]string{{"Idempotency-Key", "k"}, nil} {
		e := wantError(t, w.do("POST", "/orders", msft100, headers...), 500, "misconfigured")
		if !strings.Contains(e.Message, "RESULT_TTL_SECONDS") {
			t.Errorf("message %q does not name the setting", e.Message)
		}
	}
	if rec := w.do("GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("healthz while misconfigured: %d", rec.Code)
	}
	if calls := w.kvCalls(); calls != [3]int{} || w.placer.placed() != 0 {
		t.Errorf("misconfigured worker touched KV %v or placed %d", calls, w.placer.placed())
	}
}

// faultyStore is the memory store with a failure injected into one of its
// methods: before it runs (nothing changed) or, with after, once it has run
// (changed, but not confirmed).
type faultyStore struct {
	*memory.Store
	method string // Lookup, Claim, Complete or Release
	err    error
	after  bool
}

func (s *faultyStore) fail(method string) (bool, error) {
	return s.method == method, s.err
}

func (s *faultyStore) Lookup(ctx context.Context, key string) (*idempotency.Result, *idempotency.Claim, error) {
	if fail, err := s.fail("Lookup"); fail {
		return nil, nil, err
	}
	return s.Store.Lookup(ctx, key)
}

func (s *faultyStore) Claim(ctx context.Context, key string, c idempotency.Claim) (bool, *idempotency.Claim, error) {
	if fail, err := s.fail("Claim"); fail {
		if s.after {
			s.Store.Claim(ctx, key, c)
		}
		return false, nil, err
	}
	return s.Store.Claim(ctx, key, c)
}

func (s *faultyStore) Complete(ctx context.Context, key string, c idempotency.Claim, r idempotency.Result) error {
	if fail, err := s.fail("Complete"); fail {
		return err
	}
	return s.Store.Complete(ctx, key, c, r)
}

func (s *faultyStore) Release(ctx context.Context, key string, c idempotency.Claim) error {
	if fail, err := s.fail("Release"); fail {
		return err
	}
	return s.Store.Release(ctx, key, c)
}

// newFaultyWorker is the worker over the memory store behind faults (none
// until the test sets one).
func newFaultyWorker(t *testing.T) (*worker, *faultyStore) {
	clock := kvstore.NewClock(t0)
	store := &faultyStore{Store: memory.New(clock.Now)}
	w := &worker{t: t, clock: clock, logs: &syncBuffer{}, placer: &spyPlacer{next: order.MintReceipt{Now: clock.Now}}, store: store}
	w.handler = newTestHandler(t, store, w.placer, clock, w.logs)
	return w, store
}

// docs/contract.md#failures-fail-closed: every failure of the records, the
// placer or the intake itself, injected into the memory store, with what was
// placed, what is left stored and what is logged. How one store fails (which
// of KV's reads or writes) is its own package's test.
func TestFailuresFailClosed(t *testing.T) {
	t.Parallel()
	down := errors.New("storage: 503 Service Unavailable")
	corrupt := fmt.Errorf("%w under %q", idempotency.ErrCorruptRecord, "k")
	gatewayDown := errors.New("gateway down")
	refusal := &order.Refusal{Status: 422, Reason: "market closed"}
	tests := []struct {
		name        string
		store       faultyStore
		placerFails error
		panics      bool
		status      int
		code        string // "" for a 201 receipt
		event       string
		placed      int
		wantClaim   bool
		wantResult  bool
	}{
		{"reading the records fails", faultyStore{method: "Lookup", err: down}, nil, false,
			503, "storage_unavailable", "storage_error", 0, false, false},
		{"the records cannot be decoded", faultyStore{method: "Lookup", err: corrupt}, nil, false,
			500, "corrupt_record", "storage_error", 0, false, false},
		{"writing the claim fails", faultyStore{method: "Claim", err: down}, nil, false,
			503, "storage_unavailable", "storage_error", 0, false, false},
		{"the claim is written but not confirmed", faultyStore{method: "Claim", err: down, after: true}, nil, false,
			503, "storage_unavailable", "storage_error", 0, true, false},
		{"placement fails", faultyStore{}, gatewayDown, false,
			502, "placement_failed", "placement_error", 1, false, false},
		{"placement fails and the claim cannot be released", faultyStore{method: "Release", err: down}, gatewayDown, false,
			502, "placement_failed", "placement_error", 1, true, false},
		{"writing the result fails", faultyStore{method: "Complete", err: down}, nil, false,
			201, "", "result_write_error", 1, true, false},
		{"the gateway refuses the order", faultyStore{}, refusal, false,
			422, "order_rejected", "order_rejected", 1, false, true},
		{"the gateway refuses the order and the refusal cannot be stored", faultyStore{method: "Complete", err: down}, refusal, false,
			422, "order_rejected", "result_write_error", 1, true, false},
		{"the placer panics", faultyStore{}, nil, true,
			500, "internal_error", "internal_error", 1, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, store := newFaultyWorker(t)
			store.method, store.err, store.after = tt.store.method, tt.store.err, tt.store.after
			placer := w.placer
			placer.fail = tt.placerFails
			if tt.panics {
				placer.during = func() { panic("nil map") }
			}
			rec := w.post("k", msft100)
			if tt.code == "" {
				if rec.Code != tt.status || receiptOf(t, rec).OrderID == "" {
					t.Fatalf("got %d %s, want a %d receipt", rec.Code, rec.Body.String(), tt.status)
				}
			} else {
				wantError(t, rec, tt.status, tt.code)
			}
			if tt.status == 503 && rec.Header().Get("Retry-After") != "1" {
				t.Errorf("503 Retry-After = %q, want 1", rec.Header().Get("Retry-After"))
			}
			if got := placer.placed(); got != tt.placed {
				t.Errorf("placed %d times, want %d", got, tt.placed)
			}
			result, claim, _ := store.Store.Lookup(context.Background(), "k")
			if (claim != nil) != tt.wantClaim || (result != nil) != tt.wantResult {
				t.Errorf("stored claim %v, result %v; want claim=%v result=%v", claim, result, tt.wantClaim, tt.wantResult)
			}
			lines := w.logs.lines()
			if len(lines) != 1 || lines[0].Event != tt.event || lines[0].Status != tt.status {
				t.Errorf("log %+v, want one %s line with status %d", lines, tt.event, tt.status)
			}
			if lines[0].Error == "" {
				t.Error("the failure's cause is not logged")
			}
		})
	}
}

// After a failed placement the key is free: the retry places the order once,
// under the same order id the failed attempt used.
func TestRetryAfterPlacementFailureSucceeds(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	w.placer.fail = errors.New("gateway down")
	wantError(t, w.post("k", msft100), 502, "placement_failed")
	w.placer.fail = nil
	rec := w.post("k", msft100)
	if rec.Code != 201 || receiptOf(t, rec).OrderID != order.OrderID("", "k", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint()) {
		t.Fatalf("retry: %d %s", rec.Code, rec.Body.String())
	}
	if lines := w.logs.lines(); lines[0].OrderID != receiptOf(t, rec).OrderID {
		t.Errorf("the failed attempt logged order id %q, the retry placed %q", lines[0].OrderID, receiptOf(t, rec).OrderID)
	}
}

// When the result cannot be stored, the client still gets its receipt, and
// the claim keeps retries out until its lease ends.
func TestLostResultWriteStillAnswersAndBlocksRetriesDuringTheLease(t *testing.T) {
	t.Parallel()
	w, faults := newFaultyWorker(t)
	faults.method, faults.err = "Complete", errors.New("429 Too Many Requests")
	if rec := w.post("k", msft100); rec.Code != 201 {
		t.Fatalf("first: %d", rec.Code)
	}
	wantError(t, w.post("k", msft100), 409, "in_progress")
	if w.placer.placed() != 1 {
		t.Errorf("placed %d times during the lease, want 1", w.placer.placed())
	}
}

// The KV bill per path: a replay is one read; a new order three reads (the
// result, the claim, the claim read back) and two writes; a refused request
// nothing.
func TestKVOperationsPerPath(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	w.post("new", msft100)
	if got := w.kvCalls(); got != [3]int{3, 2, 0} {
		t.Errorf("new order: (get, put, delete) = %v, want [3 2 0]", got)
	}
	w.post("new", msft100)
	if got := w.kvCalls(); got != [3]int{4, 2, 0} {
		t.Errorf("after a replay: %v, want one more get and nothing else", got)
	}
	w.do("POST", "/orders", `{"symbol":"MSFT"}`, "Idempotency-Key", "bad")
	if got := w.kvCalls(); got != [3]int{4, 2, 0} {
		t.Errorf("after an invalid order: %v, want no more calls", got)
	}
}

// claimedMeanwhile is KV at one location where another request's claim lands
// right after this request's claim write, before its read-back: the race the
// read-back is for. rival is what that request stored; "" means its claim is
// already gone again (its placement failed and it released the key).
type claimedMeanwhile struct {
	*kvstore.Fake
	rival string
}

func (s claimedMeanwhile) Put(ctx context.Context, key, value string, ttlSeconds int) error {
	if err := s.Fake.Put(ctx, key, value, ttlSeconds); err != nil || !strings.HasPrefix(key, idemkv.PendingPrefix) {
		return err
	}
	if s.rival == "" {
		return s.Fake.Delete(ctx, key)
	}
	return s.Fake.Put(ctx, key, s.rival, ttlSeconds)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A request whose claim is not the one read back places nothing and answers
// as the winner's retry would be answered, from the claim it read back: no
// further read.
func TestALostClaimAnswersAsTheWinnersRetryWouldBeAnswered(t *testing.T) {
	t.Parallel()
	rival := func(body string) string {
		o, err := order.ParseOrder([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		// Its lease ends sooner than ours would: Retry-After shows whose claim answered.
		return mustJSON(t, idempotency.Claim{Fingerprint: o.Fingerprint(), ID: "rival", ClaimedAt: t0, LeaseUntil: t0.Add(12 * time.Second)})
	}
	tests := []struct {
		name, rival string
		status      int
		code        string
		retryAfter  string
		gets        int
	}{
		{"the same order", rival(msft100), 409, "in_progress", "12", 3},
		{"another order", rival(`{"symbol":"MSFT","side":"sell","quantity":100}`), 422, "idempotency_key_reused", "", 3},
		{"a corrupt claim", `{"fingerprint":`, 500, "corrupt_record", "", 3},
		// Nothing to answer from: look again, then ask for a retry.
		{"a claim already released", "", 409, "in_progress", "1", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := kvstore.NewClock(t0)
			kv := kvstore.NewFake(clock.Now)
			w := newWorkerOn(t, clock, kv, claimedMeanwhile{kv, tt.rival})
			rec := w.post("k", msft100)
			wantError(t, rec, tt.status, tt.code)
			if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if w.placer.placed() != 0 {
				t.Errorf("the loser placed the order %d times", w.placer.placed())
			}
			if _, ok := kv.Stored("result:k"); ok {
				t.Error("the loser stored a result")
			}
			if pending, _ := kv.Stored("pending:k"); pending != tt.rival {
				t.Errorf("stored claim %q, want the winner's %q untouched", pending, tt.rival)
			}
			if got := kv.Calls(kvstore.OpGet); got != tt.gets {
				t.Errorf("%d KV reads, want %d", got, tt.gets)
			}
		})
	}
}

// A failed placement releases the key only while the claim there is its own:
// a request that claimed the key meanwhile keeps it, and retries wait for it.
func TestReleaseLeavesAnotherRequestsClaim(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	rival := mustJSON(t, idempotency.Claim{Fingerprint: order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint(), ID: "rival", ClaimedAt: t0, LeaseUntil: t0.Add(30 * time.Second)})
	w.placer.fail = errors.New("gateway down")
	w.placer.during = func() {
		if err := w.kv.Put(context.Background(), "pending:k", rival, 60); err != nil {
			t.Error(err)
		}
	}
	wantError(t, w.post("k", msft100), 502, "placement_failed")
	if pending, _ := w.kv.Stored("pending:k"); pending != rival {
		t.Fatalf("stored claim %q, want the other request's %q", pending, rival)
	}
	w.placer.fail = nil
	wantError(t, w.post("k", msft100), 409, "in_progress")
	if w.placer.placed() != 1 {
		t.Errorf("placed %d times, want only the failed attempt", w.placer.placed())
	}
}

// A claim stored before claim ids existed (during a deploy) still holds its key.
func TestAClaimWithoutAClaimIDStillHoldsItsKey(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	old := mustJSON(t, idempotency.Claim{Fingerprint: order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint(), ClaimedAt: t0, LeaseUntil: t0.Add(30 * time.Second)})
	if strings.Contains(old, "claimId") {
		t.Fatalf("%s: an old claim has no claimId", old)
	}
	w.kv.Put(context.Background(), "pending:k", old, 60)
	wantError(t, w.post("k", msft100), 409, "in_progress")
	if w.placer.placed() != 0 {
		t.Error("placed while an old claim held the key")
	}
}

func TestOneLogLinePerIntakeRequestWithoutTheOrder(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	w.post("k", `{"symbol":"SECRETSYM","side":"buy","quantity":100}`)
	w.post("k", `{"symbol":"SECRETSYM","side":"buy","quantity":100}`)
	w.post("k", msft100)
	w.do("GET", "/healthz", "")
	w.do("GET", "/orders", "")
	lines := w.logs.lines()
	var events []string
	for _, l := range lines {
		events = append(events, fmt.Sprintf("%s/%d", l.Event, l.Status))
	}
	if got := strings.Join(events, " "); got != "placed/201 replayed/200 key_reused/422" {
		t.Errorf("log events %q", got)
	}
	id := order.OrderID("", "k", order.Order{Symbol: "SECRETSYM", Side: "buy", Quantity: 100}.Fingerprint())
	if lines[0].OrderID != id || lines[1].OrderID != id {
		t.Errorf("log order ids %q %q, want %q", lines[0].OrderID, lines[1].OrderID, id)
	}
	// The refused order is logged under its own id, not the stored one's.
	if want := order.OrderID("", "k", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint()); lines[2].OrderID != want {
		t.Errorf("key_reused logged order id %q, want %q", lines[2].OrderID, want)
	}
	if raw := w.logs.b.String(); strings.Contains(raw, "SECRETSYM") || !strings.Contains(raw, `"elapsedMs":`) {
		t.Errorf("log must carry elapsedMs and no order body: %s", raw)
	}
}

// Workers KV is eventually consistent across locations and has no
// put-if-absent: two retries that reach two locations before either write
// has propagated both place the order (each reads back its own claim, the
// only one its location has seen). What KV mode guarantees then is that
// both carry the same order id, so the downstream can drop the second.
func TestRaceAcrossLocationsPlacesTwiceUnderOneOrderID(t *testing.T) {
	t.Parallel()
	clock := kvstore.NewClock(t0)
	kv := kvstore.NewFake(clock.Now)
	kv.SetPropagationLag(60 * time.Second)
	ams := newWorkerOn(t, clock, kv, kv.At("AMS"))
	sfo := newWorkerOn(t, clock, kv, kv.At("SFO"))
	a, s := ams.post("k", msft100), sfo.post("k", msft100)
	if a.Code != 201 || s.Code != 201 {
		t.Fatalf("AMS %d, SFO %d: both locations see a fresh key", a.Code, s.Code)
	}
	if ams.placer.placed()+sfo.placer.placed() != 2 {
		t.Fatal("expected one placement per location")
	}
	if receiptOf(t, a).OrderID != receiptOf(t, s).OrderID {
		t.Errorf("order ids differ: %s vs %s", receiptOf(t, a).OrderID, receiptOf(t, s).OrderID)
	}
	clock.Advance(60 * time.Second)
	if rec := sfo.post("k", msft100); rec.Code != 200 {
		t.Errorf("after propagation a retry is a replay: %d", rec.Code)
	}
}

// With the local result cache on (RESULT_CACHE_ENTRIES), a replay of a
// result this isolate wrote or read costs no KV read, and is answered and
// logged exactly as a replay from KV.
func TestResultCacheAnswersAndLogsAsAKVReplay(t *testing.T) {
	t.Parallel()
	uncached, cached := newWorker(t), newWorker(t)
	settings := withDefaults(t, Settings{})
	settings.ResultCacheEntries = 10
	cached.handler = New(Config{Store: idemkv.Store{KV: cached.kv}, Settings: settings,
		Placer: cached.placer, Log: cached.logs, Now: cached.clock.Now})
	var replays [2]*httptest.ResponseRecorder
	for i, w := range []*worker{uncached, cached} {
		w.post("k", msft100)
		before := w.kvCalls()
		replays[i] = w.post("k", msft100)
		reads := w.kvCalls()[0] - before[0]
		if want := 1 - i; reads != want {
			t.Errorf("worker %d: a replay read KV %d times, want %d", i, reads, want)
		}
	}
	if replays[0].Code != replays[1].Code || replays[0].Body.String() != replays[1].Body.String() ||
		fmt.Sprint(replays[0].Header()) != fmt.Sprint(replays[1].Header()) {
		t.Errorf("the cached replay differs from the KV one:\n%d %v %s\n%d %v %s", replays[0].Code, replays[0].Header(), replays[0].Body,
			replays[1].Code, replays[1].Header(), replays[1].Body)
	}
	if a, b := uncached.logs.lines()[1], cached.logs.lines()[1]; a != b {
		t.Errorf("log lines differ: KV %+v, cache %+v", a, b)
	}
}

// errReader fails every read, as a body whose connection broke.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// A body that cannot be read is the intake's malformed_json, as it has
// always been (the engine's own word for it is unreadable_body), and touches
// no storage.
func TestAnUnreadableBodyIsMalformedJSON(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	req := httptest.NewRequest(http.MethodPost, "/orders", errReader{})
	req.Header.Set("Idempotency-Key", "k")
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	wantError(t, rec, http.StatusBadRequest, "malformed_json")
	if calls := w.kvCalls(); calls != [3]int{} {
		t.Errorf("KV calls %v, want none", calls)
	}
}
