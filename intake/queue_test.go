package intake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/d1"
	idemkv "github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/idempotency/memory"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/queue"
)

// fakeSender is a queue that keeps what it was sent; its nth Send (from 1)
// fails when fail[n] is set.
type fakeSender struct {
	mu       sync.Mutex
	sends    int
	fail     map[int]error
	messages [][]byte
}

func (s *fakeSender) Send(_ context.Context, body []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sends++
	if err := s.fail[s.sends]; err != nil {
		return err
	}
	s.messages = append(s.messages, bytes.Clone(body))
	return nil
}

func (s *fakeSender) sent() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.messages...)
}

// scriptedPlacer answers the calls of each order id in turn from script
// (nil: placed), then places; it counts the calls per order id and can run
// a hook while an order is being placed.
type scriptedPlacer struct {
	mu     sync.Mutex
	script []error
	calls  map[string]int
	during func()
	now    func() time.Time
}

func (p *scriptedPlacer) Place(ctx context.Context, orderID, client string, o order.Order) (order.Receipt, error) {
	p.mu.Lock()
	p.calls[orderID]++
	n := p.calls[orderID]
	during := p.during
	p.during = nil
	p.mu.Unlock()
	if during != nil {
		during()
	}
	if n <= len(p.script) && p.script[n-1] != nil {
		return order.Receipt{}, p.script[n-1]
	}
	return order.MintReceipt{Now: p.now}.Place(ctx, orderID, client, o)
}

func (p *scriptedPlacer) callsOf(orderID string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[orderID]
}

var (
	errUnavailable = errors.New("the order gateway answered 503 Service Unavailable")
	errTimeout     = errors.New("the order gateway gave no answer (timeout 5s): the operation was aborted")
)

const dlq = "order-intake-placements-dlq"

// queueWorld is the worker in queue mode as main.go wires it: the intake
// handler and the consumer over one engine, the fake KV (or another store),
// a fake queue and a scripted placer, on one clock.
type queueWorld struct {
	t            *testing.T
	clock        *kvstore.Clock
	kv           *kvstore.Fake
	sender       *fakeSender
	placer       *scriptedPlacer
	handler      *Service
	consumer     *Service
	intakeLog    *syncBuffer
	consumerLog  *syncBuffer
	nextDelivery int
}

// newQueueWorld builds a world over the fake KV; store, when not nil,
// replaces the KV store of the engine (memory, strict mode).
func newQueueWorld(t *testing.T, settings Settings, store func(kv *kvstore.Fake, clock *kvstore.Clock) idempotency.Store) *queueWorld {
	t.Helper()
	clock := kvstore.NewClock(t0)
	kv := kvstore.NewFake(clock.Now)
	var engineStore idempotency.Store = idemkv.Store{KV: kv}
	if store != nil {
		engineStore = store(kv, clock)
	}
	settings = withDefaults(t, settings)
	settings.QueueDeadLetter = dlq
	w := &queueWorld{t: t, clock: clock, kv: kv, sender: &fakeSender{fail: map[int]error{}},
		placer:    &scriptedPlacer{calls: map[string]int{}, now: clock.Now},
		intakeLog: &syncBuffer{}, consumerLog: &syncBuffer{}}
	// One intake, as main.go wires it, seen through two logs: the intake's
	// requests and the consumer's messages.
	cfg := Config{Store: engineStore, Placer: w.placer, Settings: settings, Now: clock.Now, Queue: w.sender, Statuses: kv}
	cfg.Log = w.intakeLog
	w.handler = New(cfg)
	cfg.Log = w.consumerLog
	w.consumer = New(cfg)
	return w
}

// newFaultyQueueWorld builds a world whose records are in the memory store
// behind faults (none until the test sets one), so that the fake KV holds
// only the intake's status records.
func newFaultyQueueWorld(t *testing.T, settings Settings) (*queueWorld, *faultyStore) {
	faults := &faultyStore{}
	w := newQueueWorld(t, settings, func(_ *kvstore.Fake, clock *kvstore.Clock) idempotency.Store {
		faults.Store = memory.New(clock.Now)
		return faults
	})
	return w, faults
}

func (w *queueWorld) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	w.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	if !json.Valid(rec.Body.Bytes()) {
		w.t.Errorf("%s %s: body is not JSON: %q", method, path, rec.Body.String())
	}
	return rec
}

func (w *queueWorld) post(key, body string, headers ...string) *httptest.ResponseRecorder {
	w.t.Helper()
	return w.do("POST", "/orders", body, append([]string{"Idempotency-Key", key, "Content-Type", "application/json"}, headers...)...)
}

// deliver hands the bodies to the consumer as one batch of queue, each at
// attempt attempts.
func (w *queueWorld) deliver(name string, attempts int, bodies ...[]byte) []queue.Verdict {
	w.t.Helper()
	batch := make([]queue.Message, len(bodies))
	for i, b := range bodies {
		w.nextDelivery++
		batch[i] = queue.Message{ID: fmt.Sprintf("msg-%d", w.nextDelivery), Body: b, Attempts: attempts}
	}
	return w.consumer.Consume(context.Background(), name, batch)
}

// status is GET /orders/<id>'s status member, or its error code.
func (w *queueWorld) status(orderID string, headers ...string) (int, order.OrderStatus) {
	w.t.Helper()
	rec := w.do("GET", "/orders/"+orderID, "", headers...)
	var doc order.OrderStatus
	json.Unmarshal(rec.Body.Bytes(), &doc)
	return rec.Code, doc
}

// accept posts a new order under a fresh key and returns its 202 and the
// one message it sent.
func (w *queueWorld) accept(key, body string, headers ...string) (*httptest.ResponseRecorder, []byte) {
	w.t.Helper()
	before := len(w.sender.sent())
	rec := w.post(key, body, headers...)
	if rec.Code != http.StatusAccepted {
		w.t.Fatalf("POST: %d %s, want 202", rec.Code, rec.Body)
	}
	sent := w.sender.sent()
	if len(sent) != before+1 {
		w.t.Fatalf("POST sent %d messages, want 1", len(sent)-before)
	}
	return rec, sent[len(sent)-1]
}

func (w *queueWorld) consumerLines() []consumerLine {
	w.consumerLog.mu.Lock()
	defer w.consumerLog.mu.Unlock()
	var lines []consumerLine
	for raw := range strings.Lines(w.consumerLog.b.String()) {
		var l consumerLine
		if json.Unmarshal([]byte(raw), &l) == nil {
			lines = append(lines, l)
		}
	}
	return lines
}

func orderIDOf(t *testing.T, message []byte) string {
	t.Helper()
	m, err := ParseQueueMessage(message)
	if err != nil {
		t.Fatalf("the intake's message does not parse: %v\n%s", err, message)
	}
	return m.OrderID
}

var (
	ack          = queue.Verdict{}
	toDeadLetter = queue.Verdict{Retry: true}
)

func retryAfter(seconds int) queue.Verdict { return queue.Verdict{Retry: true, DelaySeconds: seconds} }

// docs/queue-mode.md, intake: one message, then the 202 with the queued receipt and
// Location; retries replay it byte for byte and send nothing.
func TestQueueIntakeSendsOneMessageAndAnswers202(t *testing.T) {
	t.Parallel()
	w := newQueueWorld(t, Settings{}, nil)
	key := "q-" + t.Name()
	o := order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100, Type: order.TypeMarket, TimeInForce: order.TimeInForceDay}
	id := order.OrderID("", key, o.Fingerprint())
	first, message := w.accept(key, msft100)

	wantBody := `{"orderId":"` + id + `","status":"queued","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day","acceptedAt":"2026-11-23T14:30:50.123Z"}`
	if first.Body.String() != wantBody {
		t.Errorf("202 body:\n got %s\nwant %s", first.Body, wantBody)
	}
	if loc := first.Header().Get("Location"); loc != "/orders/"+id {
		t.Errorf("Location %q, want /orders/%s", loc, id)
	}
	if ct := first.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	wantMessage := `{"orderId":"` + id + `","key":"` + key + `","order":{"symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day"},"fingerprint":"` +
		o.Fingerprint() + `","acceptedAt":"2026-11-23T14:30:50.123Z"}`
	if string(message) != wantMessage {
		t.Errorf("message:\n got %s\nwant %s", message, wantMessage)
	}

	// The status record holds the same document.
	if code, doc := w.status(id); code != http.StatusOK || doc.Status != order.StatusQueued || doc.OrderID != id {
		t.Errorf("GET after the 202: %d %+v, want 200 queued", code, doc)
	}
	rec := w.do("GET", "/orders/"+id, "")
	if rec.Body.String() != wantBody {
		t.Errorf("GET body:\n got %s\nwant the 202's %s", rec.Body, wantBody)
	}

	for _, body := range []string{msft100, `{"quantity":1e2,"side":"buy","symbol":"MSFT"}`} {
		replay := w.post(key, body)
		if replay.Code != http.StatusAccepted || replay.Body.String() != wantBody ||
			replay.Header().Get("Idempotent-Replay") != "true" || replay.Header().Get("Location") != "/orders/"+id {
			t.Errorf("replay: %d %s (headers %v), want the 202's bytes with Location and Idempotent-Replay", replay.Code, replay.Body, replay.Header())
		}
	}
	if n := len(w.sender.sent()); n != 1 {
		t.Errorf("%d messages sent, want 1", n)
	}
	lines := w.intakeLog.lines()
	if len(lines) != 3 || lines[0].Event != "queued" || lines[0].Status != 202 || lines[0].OrderID != id ||
		lines[1].Event != "replayed" || lines[1].Status != 202 {
		t.Errorf("log lines %+v, want queued (202) then replayed (202)", lines)
	}
}

// A limit order's message and receipt carry the canonical price; with
// client scoping the message names the client, and the receipt does not.
func TestQueueMessageOfALimitOrderForAClient(t *testing.T) {
	t.Parallel()
	clients, err := ParseClients(`{"acme":"` + tokenHash("acme-token") + `"}`)
	if err != nil {
		t.Fatal(err)
	}
	w := newQueueWorld(t, Settings{Clients: clients}, nil)
	_, message := w.accept("k1", `{"symbol":"MSFT","side":"sell","quantity":5,"type":"limit","limitPrice":"123.450","timeInForce":"gtc"}`,
		"Authorization", "Bearer acme-token")
	m, err := ParseQueueMessage(message)
	if err != nil {
		t.Fatal(err)
	}
	if m.Client != "acme" || m.Order.LimitPrice != "123.45" || m.Order.TimeInForce != order.TimeInForceGTC || !strings.Contains(string(message), `"client":"acme"`) {
		t.Errorf("message %s", message)
	}
	rec := w.do("GET", "/orders/"+m.OrderID, "", "Authorization", "Bearer acme-token")
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "acme") || !strings.Contains(rec.Body.String(), `"type":"limit","limitPrice":"123.45","timeInForce":"gtc"`) {
		t.Errorf("GET: %d %s, want the queued limit order without its client", rec.Code, rec.Body)
	}
}

// GET answers the queued document with the 202's bytes, and the placed one
// in the same notation, whatever the symbol holds.
func TestQueueStatusKeepsTheBytes(t *testing.T) {
	t.Parallel()
	w := newQueueWorld(t, Settings{}, nil)
	first, message := w.accept("k", `{"symbol":"A<B>&\"C\\","side":"buy","quantity":1}`)
	id := orderIDOf(t, message)
	if !strings.Contains(first.Body.String(), `"symbol":"A<B>&\"C\\"`) {
		t.Fatalf("202 body %s", first.Body)
	}
	if rec := w.do("GET", "/orders/"+id, ""); rec.Body.String() != first.Body.String() {
		t.Errorf("GET while queued:\n got %s\nwant %s", rec.Body, first.Body)
	}
	w.deliver("order-intake-placements", 1, message)
	if rec := w.do("GET", "/orders/"+id, ""); !strings.Contains(rec.Body.String(), `"symbol":"A<B>&\"C\\"`) {
		t.Errorf("GET once placed: %s", rec.Body)
	}
}

// A failed send accepts nothing: 503 with Retry-After, no status record, and
// the claim released, so the retry sends again; one message in all.
func TestQueueSendFailureReleasesTheClaim(t *testing.T) {
	t.Parallel()
	w := newQueueWorld(t, Settings{}, nil)
	w.sender.fail[1] = errors.New("Queue send failed: Too Many Requests")
	first := w.post("k", msft100)
	p := wantError(t, first, http.StatusServiceUnavailable, "storage_unavailable")
	if first.Header().Get("Retry-After") != "1" || p.RetryAfter != 1 {
		t.Errorf("Retry-After %q, retryAfter %d; want 1", first.Header().Get("Retry-After"), p.RetryAfter)
	}
	o, _ := order.ParseOrder([]byte(msft100))
	id := order.OrderID("", "k", o.Fingerprint())
	if _, found := w.kv.Stored(StatusRecordPrefix + id); found {
		t.Error("a status record was written for an order that was not queued")
	}
	if code, _ := w.status(id); code != http.StatusNotFound {
		t.Errorf("GET after the failed send: %d, want 404", code)
	}
	w.accept("k", msft100)
	if w.sender.sends != 2 || len(w.sender.sent()) != 1 {
		t.Errorf("%d sends, %d messages; want 2 and 1", w.sender.sends, len(w.sender.sent()))
	}
	lines := w.intakeLog.lines()
	if len(lines) != 2 || lines[0].Event != "enqueue_error" || lines[0].Status != 503 || lines[0].Code != "storage_unavailable" ||
		!strings.Contains(lines[0].Error, "Too Many Requests") || lines[1].Event != "queued" {
		t.Errorf("log lines %+v, want enqueue_error (503) then queued", lines)
	}
}

// A status record that cannot be written after the send still answers 202:
// the order is queued. GET knows it once the consumer has placed it.
func TestQueueStatusWriteFailureStillAnswers202(t *testing.T) {
	t.Parallel()
	w, _ := newFaultyQueueWorld(t, Settings{})
	w.kv.FailNth(kvstore.OpPut, 1, errors.New("KV PUT failed: 503")) // the status record
	rec, message := w.accept("k", msft100)
	id := orderIDOf(t, message)
	if rec.Header().Get("Location") != "/orders/"+id {
		t.Errorf("Location %q", rec.Header().Get("Location"))
	}
	if lines := w.intakeLog.lines(); len(lines) != 1 || lines[0].Event != "status_write_error" || lines[0].Status != 202 {
		t.Errorf("log lines %+v, want status_write_error with 202", lines)
	}
	if replay := w.post("k", msft100); replay.Code != http.StatusAccepted || replay.Body.String() != rec.Body.String() {
		t.Errorf("replay %d %s", replay.Code, replay.Body)
	}
	if code, _ := w.status(id); code != http.StatusNotFound {
		t.Errorf("GET before the consumer: %d, want 404", code)
	}
	if v := w.deliver("order-intake-placements", 1, message); v[0] != ack {
		t.Errorf("verdict %+v, want ack", v[0])
	}
	if code, doc := w.status(id); code != http.StatusOK || doc.Status != order.StatusPlaced {
		t.Errorf("GET after the consumer: %d %+v, want 200 placed", code, doc)
	}
}

// Every branch of the consumer, one message at a time: what the placer
// answers per attempt, the verdict per attempt, the order's final status
// and the placer's calls.
func TestConsumerOutcomes(t *testing.T) {
	t.Parallel()
	refusal := &order.Refusal{Status: 422, Reason: "market closed for MSFT"}
	tests := []struct {
		name       string
		script     []error
		attempts   int // deliveries, from attempt 1
		want       []queue.Verdict
		wantStatus string
		wantReason string
		wantCalls  int
		wantEvents []string
	}{
		{"placed at once", nil, 1, []queue.Verdict{ack}, order.StatusPlaced, "", 1, []string{"placed"}},
		{"refused: rejected, acknowledged, never retried", []error{refusal}, 1, []queue.Verdict{ack}, order.StatusRejected, "market closed for MSFT", 1, []string{"rejected"}},
		{"503, 503, then placed with growing delays", []error{errUnavailable, errUnavailable}, 3,
			[]queue.Verdict{retryAfter(5), retryAfter(10), ack}, order.StatusPlaced, "", 3, []string{"retry", "retry", "placed"}},
		{"a timeout is retried like a 503", []error{errTimeout}, 2, []queue.Verdict{retryAfter(5), ack}, order.StatusPlaced, "", 2, []string{"retry", "placed"}},
		{"down for good: failed on the last attempt, into the dead-letter queue",
			[]error{errUnavailable, errUnavailable, errUnavailable, errUnavailable}, 4,
			[]queue.Verdict{retryAfter(5), retryAfter(10), retryAfter(20), toDeadLetter}, order.StatusFailed,
			"The order gateway gave no definitive answer in 4 attempts; the order may or may not exist there.", 4,
			[]string{"retry", "retry", "retry", "failed"}},
		{"placed on the last attempt", []error{errUnavailable, errUnavailable, errUnavailable}, 4,
			[]queue.Verdict{retryAfter(5), retryAfter(10), retryAfter(20), ack}, order.StatusPlaced, "", 4, []string{"retry", "retry", "retry", "placed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newQueueWorld(t, Settings{}, nil)
			w.placer.script = tt.script
			_, message := w.accept("k", msft100)
			id := orderIDOf(t, message)
			var got []queue.Verdict
			for n := 1; n <= tt.attempts; n++ {
				got = append(got, w.deliver("order-intake-placements", n, message)...)
				w.clock.Advance(time.Second)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("verdicts %+v, want %+v", got, tt.want)
			}
			code, doc := w.status(id)
			if code != http.StatusOK || doc.Status != tt.wantStatus || doc.Reason != tt.wantReason {
				t.Errorf("GET: %d %+v, want %s with reason %q", code, doc, tt.wantStatus, tt.wantReason)
			}
			if (doc.PlacedAt != "") != (tt.wantStatus == order.StatusPlaced) {
				t.Errorf("placedAt %q on a %s order", doc.PlacedAt, doc.Status)
			}
			if n := w.placer.callsOf(id); n != tt.wantCalls {
				t.Errorf("%d placer calls, want %d", n, tt.wantCalls)
			}
			var events []string
			for i, l := range w.consumerLines() {
				events = append(events, l.Event)
				if l.OrderID != id || l.Attempts != i+1 || l.MessageID == "" {
					t.Errorf("log line %+v: want orderId, attempts %d and a message id", l, i+1)
				}
			}
			if strings.Join(events, ",") != strings.Join(tt.wantEvents, ",") {
				t.Errorf("events %v, want %v", events, tt.wantEvents)
			}

			// A final outcome is never placed again: a redelivery (or the
			// dead-letter queue's copy) is a duplicate, acknowledged.
			for _, queue := range []string{"order-intake-placements", dlq} {
				if v := w.deliver(queue, 1, message); v[0] != ack {
					t.Errorf("a redelivery on %s after %s: %+v, want ack", queue, tt.wantStatus, v[0])
				}
			}
			if n := w.placer.callsOf(id); n != tt.wantCalls {
				t.Errorf("redeliveries called the placer: %d calls, want %d", n, tt.wantCalls)
			}
			lines := w.consumerLines()
			if dup := lines[len(lines)-1]; dup.Event != "duplicate" || dup.Status != tt.wantStatus || !dup.DeadLetter {
				t.Errorf("the dead-letter queue's line %+v, want duplicate with status %s", dup, tt.wantStatus)
			}
		})
	}
}

// The same message delivered twice, in one batch or in two, and two
// messages with one order id (a retry of the intake after a lost result
// write sends the order again): one placer call.
func TestConsumerDuplicatesPlaceOnce(t *testing.T) {
	t.Parallel()
	t.Run("twice in one batch", func(t *testing.T) {
		t.Parallel()
		w := newQueueWorld(t, Settings{}, nil)
		_, message := w.accept("k", msft100)
		if v := w.deliver("order-intake-placements", 1, message, message); v[0] != ack || v[1] != ack {
			t.Errorf("verdicts %+v, want two acks", v)
		}
		if n := w.placer.callsOf(orderIDOf(t, message)); n != 1 {
			t.Errorf("%d placer calls, want 1", n)
		}
		if lines := w.consumerLines(); len(lines) != 2 || lines[0].Event != "placed" || lines[1].Event != "duplicate" || lines[1].Status != order.StatusPlaced {
			t.Errorf("lines %+v, want placed then duplicate", lines)
		}
	})
	t.Run("in two batches", func(t *testing.T) {
		t.Parallel()
		w := newQueueWorld(t, Settings{}, nil)
		_, message := w.accept("k", msft100)
		w.deliver("order-intake-placements", 1, message)
		w.deliver("order-intake-placements", 1, message)
		if n := w.placer.callsOf(orderIDOf(t, message)); n != 1 {
			t.Errorf("%d placer calls, want 1", n)
		}
	})
	t.Run("two messages with one order id", func(t *testing.T) {
		t.Parallel()
		w, faults := newFaultyQueueWorld(t, Settings{Lease: 2 * time.Second, ResultTTL: time.Hour})
		// The intake's result write fails: the 202 is answered, the claim
		// keeps the key until its lease ends, then a retry queues again.
		faults.method, faults.err = "Complete", errors.New("storage: 503")
		first, m1 := w.accept("k", msft100)
		faults.method = ""
		w.clock.Advance(3 * time.Second)
		second, m2 := w.accept("k", msft100)
		if orderIDOf(t, m1) != orderIDOf(t, m2) || second.Header().Get("Location") != first.Header().Get("Location") {
			t.Fatalf("the two messages carry other order ids: %s, %s", m1, m2)
		}
		other := newQueueWorld(t, Settings{}, nil) // an unrelated order in the same batch
		_, m3 := other.accept("k2", `{"symbol":"AAPL","side":"sell","quantity":1}`)
		if v := w.deliver("order-intake-placements", 1, m1, m3, m2); v[0] != ack || v[1] != ack || v[2] != ack {
			t.Errorf("verdicts %+v, want three acks", v)
		}
		if n := w.placer.callsOf(orderIDOf(t, m1)); n != 1 {
			t.Errorf("%d placer calls for the order sent twice, want 1", n)
		}
		if n := w.placer.callsOf(orderIDOf(t, m3)); n != 1 {
			t.Errorf("%d placer calls for the other order, want 1", n)
		}
	})
}

// A delivery meets another delivery of the same order placing it right now
// (its claim): retried once that claim's lease ends, without a placer call;
// the retry then meets the outcome.
func TestConsumerInFlightIsRetriedAfterTheLease(t *testing.T) {
	t.Parallel()
	w := newQueueWorld(t, Settings{}, nil)
	_, message := w.accept("k", msft100)
	var concurrent []queue.Verdict
	w.placer.during = func() {
		w.clock.Advance(4 * time.Second)
		concurrent = w.deliver("order-intake-placements", 1, message)
	}
	if v := w.deliver("order-intake-placements", 1, message); v[0] != ack {
		t.Errorf("the first delivery: %+v, want ack", v[0])
	}
	if len(concurrent) != 1 || concurrent[0] != retryAfter(26) {
		t.Errorf("the concurrent delivery: %+v, want a retry after the 26 s left of the 30 s lease", concurrent)
	}
	if v := w.deliver("order-intake-placements", 2, message); v[0] != ack {
		t.Errorf("its retry: %+v, want ack", v[0])
	}
	if n := w.placer.callsOf(orderIDOf(t, message)); n != 1 {
		t.Errorf("%d placer calls, want 1", n)
	}
	lines := w.consumerLines() // the concurrent delivery logs first: it ends first
	if len(lines) != 3 || lines[0].Event != "retry" || lines[0].Cause != "in_progress" || lines[0].DelaySeconds != 26 {
		t.Errorf("lines %+v", lines)
	}
}

// Storage failures: a record that cannot be read or a claim that cannot be
// written retries after the base delay without placing; an outcome that
// cannot be stored retries after the lease, and the retry asks the placer
// again under the same order id and stores the answer.
func TestConsumerStorageFailures(t *testing.T) {
	t.Parallel()
	t.Run("read", func(t *testing.T) {
		t.Parallel()
		w, faults := newFaultyQueueWorld(t, Settings{QueueRetryBase: 7 * time.Second, QueueMaxRetries: 3})
		_, message := w.accept("k", msft100)
		faults.method, faults.err = "Lookup", errors.New("storage: 503")
		if v := w.deliver("order-intake-placements", 1, message); v[0] != retryAfter(7) {
			t.Errorf("verdict %+v, want a retry after the 7 s base", v[0])
		}
		if n := w.placer.callsOf(orderIDOf(t, message)); n != 0 {
			t.Errorf("%d placer calls, want 0", n)
		}
		if l := w.consumerLines()[0]; l.Cause != "storage_error" || !strings.Contains(l.Error, "503") {
			t.Errorf("line %+v", l)
		}
	})
	t.Run("claim", func(t *testing.T) {
		t.Parallel()
		w, faults := newFaultyQueueWorld(t, Settings{})
		_, message := w.accept("k", msft100)
		faults.method, faults.err = "Claim", errors.New("storage: 503")
		if v := w.deliver("order-intake-placements", 2, message); v[0] != retryAfter(5) {
			t.Errorf("verdict %+v, want a retry after the base delay", v[0])
		}
		if n := w.placer.callsOf(orderIDOf(t, message)); n != 0 {
			t.Errorf("%d placer calls, want 0", n)
		}
	})
	t.Run("outcome", func(t *testing.T) {
		t.Parallel()
		w, faults := newFaultyQueueWorld(t, Settings{})
		_, message := w.accept("k", msft100)
		id := orderIDOf(t, message)
		faults.method, faults.err = "Complete", errors.New("storage: 503")
		if v := w.deliver("order-intake-placements", 1, message); v[0] != retryAfter(30) {
			t.Errorf("verdict %+v, want a retry after the 30 s lease", v[0])
		}
		faults.method = ""
		if code, doc := w.status(id); code != http.StatusOK || doc.Status != order.StatusQueued {
			t.Errorf("GET: %d %+v, want still queued", code, doc)
		}
		w.clock.Advance(30 * time.Second)
		if v := w.deliver("order-intake-placements", 2, message); v[0] != ack {
			t.Errorf("the retry: %+v, want ack", v[0])
		}
		if code, doc := w.status(id); code != http.StatusOK || doc.Status != order.StatusPlaced {
			t.Errorf("GET: %d %+v, want placed", code, doc)
		}
		if n := w.placer.callsOf(id); n != 2 {
			t.Errorf("%d placer calls, want 2 (the gateway drops the second by its clientOrderId)", n)
		}
		if l := w.consumerLines()[0]; l.Event != "retry" || l.Cause != "result_write_error" || l.Status != order.StatusPlaced {
			t.Errorf("line %+v", l)
		}
	})
}

// The dead-letter queue's consumer settles an order that reached it without
// an outcome (its last delivery died, or met another's claim): it asks the
// placer once more, and an ambiguous answer stores failed. Either way the
// message is acknowledged.
func TestDeadLetterSettlesAnOrderWithoutAnOutcome(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		script     []error
		wantStatus string
	}{
		{"placed", nil, order.StatusPlaced},
		{"refused", []error{&order.Refusal{Status: 404, Reason: "Not Found"}}, order.StatusRejected},
		{"still down", []error{errUnavailable}, order.StatusFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newQueueWorld(t, Settings{}, nil)
			w.placer.script = tt.script
			_, message := w.accept("k", msft100)
			id := orderIDOf(t, message)
			if v := w.deliver(dlq, 1, message); v[0] != ack {
				t.Errorf("verdict %+v, want ack", v[0])
			}
			if code, doc := w.status(id); code != http.StatusOK || doc.Status != tt.wantStatus {
				t.Errorf("GET: %d %+v, want %s", code, doc, tt.wantStatus)
			}
			if l := w.consumerLines()[0]; !l.DeadLetter || l.Event != tt.wantStatus {
				t.Errorf("line %+v, want a dead-letter line %s", l, tt.wantStatus)
			}
			if n := w.placer.callsOf(id); n != 1 {
				t.Errorf("%d placer calls, want 1", n)
			}
		})
	}
}

// Messages that are not the intake's are never placed: retried into the
// dead-letter queue, and there acknowledged.
func TestConsumerRefusesMalformedMessages(t *testing.T) {
	t.Parallel()
	w := newQueueWorld(t, Settings{}, nil)
	_, good := w.accept("k", msft100)
	var m map[string]any
	json.Unmarshal(good, &m)
	with := func(name string, value any) []byte {
		c := map[string]any{}
		for k, v := range m {
			c[k] = v
		}
		c[name] = value
		b, _ := json.Marshal(c)
		return b
	}
	bodies := map[string][]byte{
		"not JSON":                    []byte("hello"),
		"an array":                    []byte("[1]"),
		"another order id":            with("orderId", "6f1c2a52-93d4-5f1e-9b0a-5d2a7e3c8b41"),
		"another fingerprint":         with("fingerprint", strings.Repeat("0", 64)),
		"another order":               with("order", map[string]any{"symbol": "AAPL", "side": "buy", "quantity": 100}),
		"an invalid order":            with("order", map[string]any{"symbol": "MSFT", "side": "hold", "quantity": 100}),
		"a client that is not an id":  with("client", "a b"),
		"no acceptedAt":               with("acceptedAt", ""),
		"a key with a space":          with("key", "a b"),
		"another client's scoped key": with("client", "acme"),
	}
	for name, body := range bodies {
		if v := w.deliver("order-intake-placements", 1, body); v[0] != toDeadLetter {
			t.Errorf("%s: verdict %+v, want a retry into the dead-letter queue", name, v[0])
		}
		if v := w.deliver(dlq, 1, body); v[0] != ack {
			t.Errorf("%s: dead-letter verdict %+v, want ack", name, v[0])
		}
	}
	for _, l := range w.consumerLines() {
		if l.Event != "malformed" || l.OrderID != "" || l.Error == "" {
			t.Errorf("line %+v, want malformed with the reason", l)
		}
	}
	if len(w.placer.calls) != 0 {
		t.Errorf("the placer was called: %v", w.placer.calls)
	}
}

// A misconfigured worker places nothing and retries every message after the
// longest delay, so that the fix has the most time to arrive.
func TestConsumerMisconfigured(t *testing.T) {
	t.Parallel()
	w := newQueueWorld(t, Settings{}, nil)
	_, message := w.accept("k", msft100)
	cfg := w.consumer.cfg
	cfg.Misconfigured = errors.New("setting QUEUE_MAX_RETRIES must be a whole number")
	w.consumer = New(cfg)
	if v := w.deliver("order-intake-placements", 1, message); v[0] != retryAfter(900) {
		t.Errorf("verdict %+v, want a retry after 900 s", v[0])
	}
	if len(w.placer.calls) != 0 {
		t.Errorf("the placer was called")
	}
}

func TestConsumerBackoff(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		base    time.Duration
		attempt int
		want    time.Duration
	}{
		{5 * time.Second, 1, 5 * time.Second},
		{5 * time.Second, 2, 10 * time.Second},
		{5 * time.Second, 3, 20 * time.Second},
		{5 * time.Second, 8, 640 * time.Second},
		{5 * time.Second, 9, 900 * time.Second},
		{5 * time.Second, 100, 900 * time.Second},
		{time.Second, 1, time.Second},
		{600 * time.Second, 2, 900 * time.Second},
		{3600 * time.Second, 1, 900 * time.Second},
	} {
		c := New(Config{Settings: Settings{QueueRetryBase: tt.base}})
		if got := c.backoff(tt.attempt); got != tt.want {
			t.Errorf("base %v, attempt %d: %v, want %v", tt.base, tt.attempt, got, tt.want)
		}
	}
}

// The consumer's log lines carry no order and no credential.
func TestConsumerLogCarriesNoOrder(t *testing.T) {
	t.Parallel()
	clients, _ := ParseClients(`{"acme":"` + tokenHash("acme-secret-token") + `"}`)
	w := newQueueWorld(t, Settings{Clients: clients}, nil)
	w.placer.script = []error{errUnavailable}
	_, message := w.accept("secret-key-42", `{"symbol":"ZZZQ","side":"buy","quantity":777}`, "Authorization", "Bearer acme-secret-token")
	w.deliver("order-intake-placements", 1, message)
	w.deliver("order-intake-placements", 2, message)
	w.consumerLog.mu.Lock()
	log := w.consumerLog.b.String()
	w.consumerLog.mu.Unlock()
	for _, secret := range []string{"ZZZQ", "777", "secret-key-42", "acme-secret-token", "acme"} {
		if strings.Contains(log, secret) {
			t.Errorf("the consumer's log carries %q:\n%s", secret, log)
		}
	}
	for _, l := range w.consumerLines() {
		if l.OrderID == "" || l.Attempts == 0 {
			t.Errorf("line %+v lacks orderId or attempts", l)
		}
	}
}

// GET /orders/<id>: only the client that placed the order reads it; anyone
// else, and an unknown id, 404; no or an unknown token 401; an id that is not
// an order id is 404 without touching storage.
func TestQueueStatusScopingAndBadIDs(t *testing.T) {
	t.Parallel()
	clients, err := ParseClients(`{"acme":"` + tokenHash("acme-token") + `","globex":"` + tokenHash("globex-token") + `"}`)
	if err != nil {
		t.Fatal(err)
	}
	w := newQueueWorld(t, Settings{Clients: clients}, nil)
	acme, globex := []string{"Authorization", "Bearer acme-token"}, []string{"Authorization", "Bearer globex-token"}
	_, message := w.accept("shared-key", msft100, acme...)
	id := orderIDOf(t, message)

	if code, doc := w.status(id, acme...); code != http.StatusOK || doc.Status != order.StatusQueued {
		t.Errorf("acme, queued: %d %+v", code, doc)
	}
	w.deliver("order-intake-placements", 1, message)
	rec := w.do("GET", "/orders/"+id, "", acme...)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "client") || strings.Contains(rec.Body.String(), "acme") {
		t.Errorf("acme, placed: %d %s, want 200 without the client", rec.Code, rec.Body)
	}
	// globex uses the same key for the same order: another order id.
	_, other := w.accept("shared-key", msft100, globex...)
	if orderIDOf(t, other) == id {
		t.Fatal("two clients' orders share an order id")
	}
	for name, r := range map[string]*httptest.ResponseRecorder{
		"another client's placed order": w.do("GET", "/orders/"+id, "", globex...),
		"acme reading globex's queued":  w.do("GET", "/orders/"+orderIDOf(t, other), "", acme...),
		"an unknown id":                 w.do("GET", "/orders/"+order.OrderID("acme", "never", "x"), "", acme...),
	} {
		p := wantError(t, r, http.StatusNotFound, "not_found")
		if strings.Contains(p.Detail, id) {
			t.Errorf("%s: the 404 quotes the id", name)
		}
	}
	for name, headers := range map[string][]string{
		"no token":      nil,
		"unknown token": {"Authorization", "Bearer nobody"},
		"not bearer":    {"Authorization", "Basic YWNtZQ=="},
	} {
		r := w.do("GET", "/orders/"+id, "", headers...)
		wantError(t, r, http.StatusUnauthorized, "unauthorized")
		if r.Header().Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%s: WWW-Authenticate %q", name, r.Header().Get("WWW-Authenticate"))
		}
	}

	before := [3]int{w.kv.Calls(kvstore.OpGet), w.kv.Calls(kvstore.OpPut), w.kv.Calls(kvstore.OpDelete)}
	for _, bad := range []string{
		"", "x", "not-a-uuid", strings.ToUpper(id), id + "0", id[:35], "{" + id + "}", "urn:uuid:" + id,
		strings.Replace(id, "-", "", -1), "550e8400-e29b-41d4-a716-446655440000", // version 4
		id + "/", id + "/x", strings.Repeat("a", 10000), "%2e%2e", "../healthz",
	} {
		r := w.do("GET", "/orders/"+bad, "", acme...)
		wantError(t, r, http.StatusNotFound, "not_found")
	}
	if after := [3]int{w.kv.Calls(kvstore.OpGet), w.kv.Calls(kvstore.OpPut), w.kv.Calls(kvstore.OpDelete)}; after != before {
		t.Errorf("bad ids touched KV: %v before, %v after", before, after)
	}
	wantError(t, w.do("POST", "/orders/"+id, msft100, acme...), http.StatusMethodNotAllowed, "method_not_allowed")
	if r := w.do("DELETE", "/orders/"+id, "", acme...); r.Header().Get("Allow") != "GET" {
		t.Errorf("405's Allow: %q", r.Header().Get("Allow"))
	}
}

// What GET costs: one KV read once placed, two while queued.
func TestQueueStatusKVReads(t *testing.T) {
	t.Parallel()
	w := newQueueWorld(t, Settings{}, nil)
	_, message := w.accept("k", msft100)
	id := orderIDOf(t, message)
	reads := func() int {
		before := w.kv.Calls(kvstore.OpGet)
		w.status(id)
		return w.kv.Calls(kvstore.OpGet) - before
	}
	if n := reads(); n != 2 {
		t.Errorf("GET of a queued order: %d KV reads, want 2", n)
	}
	w.deliver("order-intake-placements", 1, message)
	if n := reads(); n != 1 {
		t.Errorf("GET of a placed order: %d KV reads, want 1", n)
	}
}

// Outside queue mode there is no status route.
func TestStatusRouteOnlyInQueueMode(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	wantError(t, w.do("GET", "/orders/"+order.OrderID("", "k", "f"), ""), http.StatusNotFound, "not_found")
	wantError(t, w.do("POST", "/orders/"+order.OrderID("", "k", "f"), msft100), http.StatusNotFound, "not_found")
}

// A misconfigured worker answers GET like POST: 500 after authentication.
func TestQueueStatusMisconfigured(t *testing.T) {
	t.Parallel()
	w := newQueueWorld(t, Settings{}, nil)
	w.handler.cfg.Misconfigured = errors.New("setting QUEUE_RETRY_BASE_SECONDS must be a whole number")
	wantError(t, w.do("GET", "/orders/"+order.OrderID("", "k", "f"), ""), http.StatusInternalServerError, "misconfigured")
}

// 20 concurrent retries of one key: one message, one placement (over an
// atomic store, as strict mode's D1).
func TestQueueConcurrentRetriesSendOneMessage(t *testing.T) {
	t.Parallel()
	stores := map[string]func(*kvstore.Fake, *kvstore.Clock) idempotency.Store{
		"memory": func(_ *kvstore.Fake, c *kvstore.Clock) idempotency.Store { return memory.New(c.Now) },
		"strict": func(kv *kvstore.Fake, c *kvstore.Clock) idempotency.Store {
			return d1.Store{Table: d1.NewFakeTable(), Results: &idemkv.Store{KV: kv}, Now: c.Now}
		},
	}
	for name, store := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newQueueWorld(t, Settings{}, store)
			var wg sync.WaitGroup
			codes := make([]int, 20)
			bodies := make([]string, 20)
			for i := range codes {
				wg.Go(func() {
					rec := w.post("k", msft100)
					codes[i], bodies[i] = rec.Code, rec.Body.String()
				})
			}
			wg.Wait()
			sent := w.sender.sent()
			if len(sent) != 1 {
				t.Fatalf("%d messages sent, want 1 (answers %v)", len(sent), codes)
			}
			for i, code := range codes {
				if code != http.StatusAccepted && code != http.StatusConflict {
					t.Errorf("answer %d: %d %s, want 202 or 409", i, code, bodies[i])
				}
			}
			w.deliver("order-intake-placements", 1, sent[0], sent[0])
			if n := w.placer.callsOf(orderIDOf(t, sent[0])); n != 1 {
				t.Errorf("%d placements, want 1", n)
			}
			if code, doc := w.status(orderIDOf(t, sent[0])); code != http.StatusOK || doc.Status != order.StatusPlaced {
				t.Errorf("GET: %d %+v", code, doc)
			}
		})
	}
}

// KV operations and queue sends per new order in queue mode, intake and
// consumer (BENCHMARKS.md).
func TestQueueModeCostPerOrder(t *testing.T) {
	t.Parallel()
	w := newQueueWorld(t, Settings{}, nil)
	_, message := w.accept("k", msft100)
	intake := [2]int{w.kv.Calls(kvstore.OpGet), w.kv.Calls(kvstore.OpPut)}
	if intake != [2]int{3, 3} {
		t.Errorf("intake: %d KV reads and %d writes, want 3 (result, claim, read-back) and 3 (claim, status record, result)", intake[0], intake[1])
	}
	w.deliver("order-intake-placements", 1, message)
	consumer := [2]int{w.kv.Calls(kvstore.OpGet) - intake[0], w.kv.Calls(kvstore.OpPut) - intake[1]}
	if consumer != [2]int{3, 2} {
		t.Errorf("consumer: %d KV reads and %d writes, want 3 and 2", consumer[0], consumer[1])
	}
	if w.sender.sends != 1 || w.kv.Calls(kvstore.OpDelete) != 0 {
		t.Errorf("%d sends and %d deletes, want 1 and 0", w.sender.sends, w.kv.Calls(kvstore.OpDelete))
	}
}

// Strict mode and queue mode together: D1 claims at the intake and in the
// consumer, the status record in KV.
func TestStrictQueueMode(t *testing.T) {
	t.Parallel()
	table := d1.NewFakeTable()
	w := newQueueWorld(t, Settings{}, func(kv *kvstore.Fake, c *kvstore.Clock) idempotency.Store {
		return d1.Store{Table: table, Results: &idemkv.Store{KV: kv}, Now: c.Now}
	})
	w.placer.script = []error{errUnavailable}
	first, message := w.accept("k", msft100)
	id := orderIDOf(t, message)
	if replay := w.post("k", msft100); replay.Code != http.StatusAccepted || replay.Body.String() != first.Body.String() {
		t.Errorf("replay: %d %s", replay.Code, replay.Body)
	}
	if v := w.deliver("order-intake-placements", 1, message); v[0] != retryAfter(5) {
		t.Errorf("verdict %+v", v[0])
	}
	if v := w.deliver("order-intake-placements", 2, message, message); v[0] != ack || v[1] != ack {
		t.Errorf("verdicts %+v", v)
	}
	if code, doc := w.status(id); code != http.StatusOK || doc.Status != order.StatusPlaced {
		t.Errorf("GET: %d %+v", code, doc)
	}
	if n := w.placer.callsOf(id); n != 2 {
		t.Errorf("%d placer calls, want 2", n)
	}
	if n := table.Statements("Claim"); n != 3 {
		t.Errorf("%d D1 claims, want 3 (intake, two consumer attempts)", n)
	}
}
