package order

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/orderintake/edge/idempotency"
)

// Queue mode (docs/queue-mode.md): the intake sends each accepted order to a
// Cloudflare Queue and answers 202; a consumer places it under the engine,
// keyed by its order id; GET /orders/<orderId> reads its status.
//
// Two records per order, on purpose: the intake writes "order:<orderId>"
// (the queued document, with its client), and the consumer's engine writes
// its own result under the call {client, PlaceOperation, orderId}, whose
// final response is the order's outcome document. KV allows about one write
// per second per key, and the consumer writes within milliseconds of the
// intake.

// PlaceOperation is the engine operation under which the consumer places a
// queued order: its records are those of Call{Scope: client, Operation:
// PlaceOperation, Key: orderId}.
const PlaceOperation = "place"

// The statuses of a queued order. queued is the intake's; the other three
// are final, written by the consumer.
const (
	StatusQueued   = "queued"
	StatusPlaced   = "placed"
	StatusRejected = "rejected"
	StatusFailed   = "failed"
)

// MaxRetryDelay caps a message's retry delay (docs/queue-mode.md: 15 minutes).
const MaxRetryDelay = 15 * time.Minute

// StatusRecordPrefix starts the KV key of a queued order's record:
// "order:<orderId>".
const StatusRecordPrefix = "order:"

// Sender sends one message to the order queue. A nil error means the queue
// has it: a Workers Queue resolves send() once the message is written.
type Sender interface {
	Send(ctx context.Context, body []byte) error
}

// StatusStore keeps the queued orders' records: the part of Workers KV
// (kvstore.Store) that the intake and GET /orders/<orderId> use.
type StatusStore interface {
	Get(ctx context.Context, key string) (value string, found bool, err error)
	Put(ctx context.Context, key, value string, ttlSeconds int) error
}

// QueueMessage is the message the intake sends for one accepted order. Its
// members are enough to place the order, and to check that the message is
// one the intake wrote: OrderID derives from Client, Key and Fingerprint,
// and Fingerprint from Order.
type QueueMessage struct {
	OrderID     string `json:"orderId"`
	Client      string `json:"client,omitempty"`
	Key         string `json:"key"`
	Order       Order  `json:"order"`
	Fingerprint string `json:"fingerprint"`
	AcceptedAt  string `json:"acceptedAt"`
}

// ParseQueueMessage reads and checks a message body: a message that is not
// one the intake could have written is an error.
func ParseQueueMessage(body []byte) (QueueMessage, error) {
	var m QueueMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return QueueMessage{}, fmt.Errorf("the message is not a queued order: %w", err)
	}
	raw, err := json.Marshal(m.Order)
	if err != nil {
		return QueueMessage{}, err
	}
	o, err := ParseOrder(raw)
	if err != nil {
		return QueueMessage{}, fmt.Errorf("the message's order is not valid: %w", err)
	}
	switch {
	case m.Client != "" && !validClientID(m.Client):
		return QueueMessage{}, errors.New("the message's client is not a client id")
	case m.Key == "" || strings.ContainsAny(m.Key, " \n"):
		return QueueMessage{}, errors.New("the message's key is not an idempotency key")
	case m.Fingerprint != o.Fingerprint():
		return QueueMessage{}, errors.New("the message's fingerprint is not its order's")
	case m.OrderID != OrderID(m.Client, m.Key, m.Fingerprint):
		return QueueMessage{}, errors.New("the message's order id is not derived from its client, key and fingerprint")
	}
	if _, err := time.Parse(timeFormat, m.AcceptedAt); err != nil {
		return QueueMessage{}, errors.New("the message's acceptedAt is not a time")
	}
	m.Order = o
	return m, nil
}

// OrderStatus is an order's status document (docs/queue-mode.md), the body of
// GET /orders/<orderId>: members in this order, placedAt once placed, reason
// once rejected or failed.
type OrderStatus struct {
	OrderID     string `json:"orderId"`
	Status      string `json:"status"`
	Symbol      string `json:"symbol"`
	Side        string `json:"side"`
	Quantity    uint64 `json:"quantity"`
	Type        string `json:"type"`
	LimitPrice  string `json:"limitPrice,omitempty"`
	TimeInForce string `json:"timeInForce"`
	AcceptedAt  string `json:"acceptedAt"`
	PlacedAt    string `json:"placedAt,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// statusOf is m's document with status.
func statusOf(m QueueMessage, status string) OrderStatus {
	o := m.Order.WithDefaults()
	return OrderStatus{OrderID: m.OrderID, Status: status, Symbol: o.Symbol, Side: o.Side, Quantity: o.Quantity,
		Type: o.Type, LimitPrice: o.LimitPrice, TimeInForce: o.TimeInForce, AcceptedAt: m.AcceptedAt}
}

// statusRecord is the intake's record of a queued order: the document GET
// answers with, and the client it belongs to, which GET never shows.
type statusRecord struct {
	Client   string          `json:"client,omitempty"`
	Document json.RawMessage `json:"document"`
}

// enqueue is the queue-mode half of placeHandler: send one message, and
// only once the queue has it, record the order and answer 202.
func (p placeHandler) enqueue(w http.ResponseWriter, r *http.Request, state *intakeState, call idempotency.Call, orderID string) {
	ctx := r.Context()
	m := QueueMessage{OrderID: orderID, Client: call.Scope, Key: call.Key, Order: state.order.WithDefaults(),
		Fingerprint: call.Fingerprint, AcceptedAt: formatTime(p.now())}
	body, err := marshalJSON(m)
	if err != nil {
		panic(err)
	}
	if err := p.queue.Send(ctx, body); err != nil {
		// Nothing was accepted: a 5xx is not final, so the claim is released
		// and a retry sends again.
		state.event, state.code, state.cause = "enqueue_error", "storage_unavailable", err
		(&idempotency.Problem{Status: http.StatusServiceUnavailable, Code: "storage_unavailable", RetryAfter: 1,
			Detail: "The order could not be queued; nothing was accepted. Retry with the same Idempotency-Key."}).Response().Write(w)
		return
	}
	doc, err := marshalJSON(statusOf(m, StatusQueued))
	if err != nil {
		panic(err)
	}
	state.event = "queued"
	// marshalJSON, not json.Marshal: that would escape a symbol's "<", ">"
	// and "&" inside the document, and GET would not answer the 202's bytes.
	record, _ := marshalJSON(statusRecord{Client: m.Client, Document: doc}) // a string and raw JSON: cannot fail
	ttl := max(60, ceilSeconds(orDefault(p.retention, idempotency.DefaultRetention)))
	if err := p.orders.Put(ctx, StatusRecordPrefix+orderID, string(record), ttl); err != nil {
		// The order is queued: it is answered as such. Until the consumer
		// has placed it, GET /orders/<orderId> answers 404.
		state.event, state.cause = "status_write_error", err
	}
	idempotency.Response{Status: http.StatusAccepted, Body: doc,
		Header: map[string]string{"Content-Type": "application/json", "Location": "/orders/" + orderID}}.Write(w)
}

// serveStatus answers GET /orders/<orderId> (docs/queue-mode.md): the consumer's
// outcome when there is one, else the intake's queued record. An id that is
// not an order id, an unknown one and another client's order are all 404,
// and the first is answered without touching storage.
func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request, orderID string) {
	client, ok := h.authenticate(w, r)
	if !ok {
		return
	}
	if h.misconfigured(w) {
		return
	}
	notFound := &idempotency.Problem{Status: http.StatusNotFound, Code: "not_found",
		Detail: "There is no order with this id for this client; order ids are the orderId of a 202."}
	if !isOrderID(orderID) {
		notFound.Detail = "This is not an order id: an order id is a lower-case UUID, the orderId of a 202."
		notFound.Response().Write(w)
		return
	}
	ctx := r.Context()
	result, err := readResult(ctx, h.cfg.Engine.Store, idempotency.Call{Scope: client, Operation: PlaceOperation, Key: orderID}.RecordKey())
	if err != nil {
		idempotency.StorageProblem(err).Response().Write(w)
		return
	}
	if result != nil {
		document(w, []byte(result.Body))
		return
	}
	raw, found, err := h.cfg.Orders.Get(ctx, StatusRecordPrefix+orderID)
	if err != nil {
		idempotency.StorageProblem(err).Response().Write(w)
		return
	}
	var record statusRecord
	if found {
		if err := json.Unmarshal([]byte(raw), &record); err != nil || len(record.Document) == 0 {
			idempotency.StorageProblem(fmt.Errorf("%w under %q", idempotency.ErrCorruptRecord, StatusRecordPrefix+orderID)).Response().Write(w)
			return
		}
	}
	if !found || record.Client != client {
		notFound.Response().Write(w) // never 403: whether the order exists is not told
		return
	}
	document(w, record.Document)
}

func document(w http.ResponseWriter, body []byte) {
	idempotency.Response{Status: http.StatusOK, Header: map[string]string{"Content-Type": "application/json"}, Body: body}.Write(w)
}

// resultReader is a store that can read a result without also reading the
// claim (package kv's): the status route needs only the result.
type resultReader interface {
	ReadResult(ctx context.Context, key string) (*idempotency.Result, error)
}

func readResult(ctx context.Context, store idempotency.Store, key string) (*idempotency.Result, error) {
	if rr, ok := store.(resultReader); ok {
		return rr.ReadResult(ctx, key)
	}
	result, _, err := store.Lookup(ctx, key)
	return result, err
}

// isOrderID reports whether id has the form of the ids OrderID derives: a
// lower-case, hyphenated version-5 UUID.
func isOrderID(id string) bool {
	if len(id) != 36 || id[14] != '5' {
		return false
	}
	for i, c := range []byte(id) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// Delivery is one message of a batch as the queue delivered it.
type Delivery struct {
	ID       string // the queue's message id
	Body     []byte
	Attempts int // 1 on the first delivery
}

// Verdict is what the queue is told about one delivery: acknowledged, or
// retried after DelaySeconds (0: the consumer's default, none).
type Verdict struct {
	Retry        bool
	DelaySeconds int
}

// Consumer places queued orders (docs/queue-mode.md): each message under the engine,
// keyed by its order id, so a message delivered twice, or two messages with
// one order id, place once.
//
//   - The placer's 2xx stores the outcome placed, a refusal rejected: both
//     final, and the message is acknowledged.
//   - Any other placer error retries the message after RetryBase doubled per
//     attempt (at most MaxRetryDelay); on the last attempt the outcome failed
//     is stored instead, and the message is retried into the dead-letter
//     queue.
//   - A stored outcome (a duplicate) is acknowledged without placing; a
//     delivery whose order another is placing right now is retried once that
//     one's claim ends; a storage failure is retried after RetryBase.
//
// Batches of the dead-letter queue are settled instead: an order with an
// outcome is acknowledged; one without (its last delivery died, or could
// not store its outcome) is placed once more, an ambiguous answer storing
// failed. So every accepted order ends placed, rejected, or failed and
// dead-lettered.
type Consumer struct {
	// Engine keeps the place calls' records.
	Engine *idempotency.Engine
	// Placer places the orders.
	Placer Placer
	// MaxRetries is the queues' max_retries (Settings.QueueMaxRetries).
	MaxRetries int
	// RetryBase is the first retry's delay (Settings.QueueRetryBase).
	RetryBase time.Duration
	// DeadLetterQueue names the dead-letter queue (Settings.QueueDeadLetter).
	DeadLetterQueue string
	// Misconfigured, when set, retries every message after MaxRetryDelay:
	// the worker cannot place until its settings are fixed.
	Misconfigured error
	// Log receives one JSON line per message.
	Log io.Writer
	// Now is the clock of placedAt and of the log's elapsed time; nil means
	// time.Now.
	Now func() time.Time
}

// Consume decides every delivery of one batch of queue and returns the
// verdicts in the batch's order. Messages of different orders are placed
// concurrently; messages of one order one after the other, so that a
// duplicate in the same batch meets the first one's outcome.
func (c *Consumer) Consume(ctx context.Context, queue string, batch []Delivery) []Verdict {
	deadLetter := c.DeadLetterQueue != "" && queue == c.DeadLetterQueue
	verdicts := make([]Verdict, len(batch))
	groups := map[string][]int{}
	var order []string
	for i, d := range batch {
		id := fmt.Sprintf("#%d", i) // a message that cannot be read is its own group
		if m, err := ParseQueueMessage(d.Body); err == nil {
			id = m.OrderID
		}
		if _, ok := groups[id]; !ok {
			order = append(order, id)
		}
		groups[id] = append(groups[id], i)
	}
	var wg sync.WaitGroup
	for _, id := range order {
		wg.Add(1)
		go func(indexes []int) {
			defer wg.Done()
			for _, i := range indexes {
				verdicts[i] = c.consume(ctx, batch[i], deadLetter)
			}
		}(groups[id])
	}
	wg.Wait()
	return verdicts
}

// consumerLine is the log line of one delivery: never the order, never a
// credential.
type consumerLine struct {
	Event        string `json:"event"`
	OrderID      string `json:"orderId,omitempty"`
	MessageID    string `json:"messageId"`
	Attempts     int    `json:"attempts"`
	DeadLetter   bool   `json:"deadLetter,omitempty"`
	Status       string `json:"status,omitempty"`
	Cause        string `json:"cause,omitempty"`
	DelaySeconds int    `json:"delaySeconds,omitempty"`
	ElapsedMs    int64  `json:"elapsedMs"`
	Error        string `json:"error,omitempty"`
}

func (c *Consumer) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// consume decides one delivery and logs it.
func (c *Consumer) consume(ctx context.Context, d Delivery, deadLetter bool) Verdict {
	start := c.now()
	line := consumerLine{MessageID: d.ID, Attempts: d.Attempts, DeadLetter: deadLetter}
	v := c.decide(ctx, d, deadLetter, &line)
	line.DelaySeconds = v.DelaySeconds
	line.ElapsedMs = c.now().Sub(start).Milliseconds()
	b, _ := marshalJSON(line)
	c.Log.Write(append(b, '\n'))
	return v
}

func (c *Consumer) decide(ctx context.Context, d Delivery, deadLetter bool, line *consumerLine) Verdict {
	// Retried into the dead-letter queue, or, there, acknowledged: nothing
	// more can be done with it.
	giveUp := Verdict{Retry: !deadLetter}
	if c.Misconfigured != nil {
		line.Event, line.Cause, line.Error = "retry", "misconfigured", c.Misconfigured.Error()
		return Verdict{Retry: true, DelaySeconds: int(MaxRetryDelay / time.Second)}
	}
	m, err := ParseQueueMessage(d.Body)
	if err != nil {
		line.Event, line.Error = "malformed", err.Error()
		return giveUp
	}
	line.OrderID = m.OrderID
	last := deadLetter || d.Attempts > c.MaxRetries
	var placeErr error
	out := c.Engine.Do(ctx, idempotency.Call{Scope: m.Client, Operation: PlaceOperation, Key: m.OrderID, Fingerprint: m.Fingerprint},
		func(ctx context.Context) (idempotency.Response, error) {
			doc := statusOf(m, StatusPlaced)
			_, err := c.Placer.Place(ctx, m.OrderID, m.Client, m.Order)
			var refusal *Refusal
			switch {
			case errors.As(err, &refusal):
				doc.Status, doc.Reason = StatusRejected, refusal.Reason
			case err != nil && !last:
				placeErr = err
				return idempotency.Response{}, err // retryable: the claim is released
			case err != nil:
				placeErr = err
				doc.Status = StatusFailed
				doc.Reason = fmt.Sprintf("The order gateway gave no definitive answer in %d attempts; the order may or may not exist there.", d.Attempts)
				if deadLetter {
					doc.Reason = "The order gateway gave no definitive answer before the order was dead-lettered; the order may or may not exist there."
				}
			default:
				doc.PlacedAt = formatTime(c.now())
			}
			body, err := marshalJSON(doc)
			if err != nil {
				return idempotency.Response{}, err
			}
			return idempotency.Response{Status: http.StatusOK, Header: map[string]string{"Content-Type": "application/json"}, Body: body}, nil
		})
	if placeErr != nil {
		line.Error = placeErr.Error()
	}
	retry := func(cause string, delay time.Duration, err error) Verdict {
		line.Event, line.Cause = "retry", cause
		if err != nil {
			line.Error = err.Error()
		}
		return Verdict{Retry: true, DelaySeconds: ceilSeconds(delay)}
	}
	switch out.Kind {
	case idempotency.Replayed:
		line.Event, line.Status = "duplicate", storedStatus(out.Response.Body)
		return Verdict{}
	case idempotency.InFlight:
		return retry("in_progress", time.Duration(out.RetryAfter(c.now()))*time.Second, nil)
	case idempotency.StorageFailed:
		return retry("storage_error", c.RetryBase, out.Err)
	case idempotency.KeyReused:
		line.Event, line.Error = "malformed", "the order id holds an order with another fingerprint"
		return giveUp
	}
	// Executed.
	if !out.Final {
		return retry("placement_error", c.backoff(d.Attempts), nil)
	}
	status := storedStatus(out.Response.Body)
	if out.Err != nil {
		// The outcome is not stored; the claim holds the order until its
		// lease ends, and a redelivery then asks the placer again under the
		// same order id, which the gateway answers as before.
		line.Status = status
		return retry("result_write_error", orDefault(c.Engine.Lease, idempotency.DefaultLease), out.Err)
	}
	line.Event, line.Status = status, status
	if status == StatusFailed {
		return giveUp
	}
	return Verdict{}
}

// backoff is the delay before retrying the delivery that was attempt n:
// RetryBase·2^(n−1), at most MaxRetryDelay.
func (c *Consumer) backoff(n int) time.Duration {
	d := c.RetryBase
	for i := 1; i < n && d < MaxRetryDelay; i++ {
		d *= 2
	}
	return min(d, MaxRetryDelay)
}

// storedStatus is the status member of an outcome document.
func storedStatus(body []byte) string {
	var doc struct {
		Status string `json:"status"`
	}
	json.Unmarshal(body, &doc)
	return doc.Status
}

// orDefault is d, or dflt when d is not positive (an Engine's zero fields).
func orDefault(d, dflt time.Duration) time.Duration {
	if d <= 0 {
		return dflt
	}
	return d
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}
