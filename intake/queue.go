package intake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/queue"
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

// MaxRetryDelay caps a message's retry delay (docs/queue-mode.md: 15 minutes).
const MaxRetryDelay = 15 * time.Minute

// StatusRecordPrefix starts the KV key of a queued order's record:
// "order:<orderId>".
const StatusRecordPrefix = "order:"

// QueueMessage is the message the intake sends for one accepted order. Its
// members are enough to place the order, and to check that the message is
// one the intake wrote: OrderID derives from Client, Key and Fingerprint,
// and Fingerprint from Order.
type QueueMessage struct {
	OrderID     string      `json:"orderId"`
	Client      string      `json:"client,omitempty"`
	Key         string      `json:"key"`
	Order       order.Order `json:"order"`
	Fingerprint string      `json:"fingerprint"`
	AcceptedAt  string      `json:"acceptedAt"`
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
	o, err := order.ParseOrder(raw)
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
	case m.OrderID != order.OrderID(m.Client, m.Key, m.Fingerprint):
		return QueueMessage{}, errors.New("the message's order id is not derived from its client, key and fingerprint")
	}
	if _, err := time.Parse(order.TimeLayout, m.AcceptedAt); err != nil {
		return QueueMessage{}, errors.New("the message's acceptedAt is not a time")
	}
	m.Order = o
	return m, nil
}

// statusRecord is the intake's record of a queued order: the document GET
// answers with, and the client it belongs to, which GET never shows.
type statusRecord struct {
	Client   string          `json:"client,omitempty"`
	Document json.RawMessage `json:"document"`
}

// enqueue is queue mode's place: send one message, and only once the queue
// has it, record the order and answer 202.
func (s *Service) enqueue(ctx context.Context, call idempotency.Call, orderID string, o order.Order) placement {
	m := QueueMessage{OrderID: orderID, Client: call.Scope, Key: call.Key, Order: o.WithDefaults(),
		Fingerprint: call.Fingerprint, AcceptedAt: order.FormatTime(s.cfg.Now())}
	body, err := marshalJSON(m)
	if err != nil {
		panic(err)
	}
	if err := s.cfg.Queue.Send(ctx, body); err != nil {
		// Nothing was accepted: a 5xx is not final, so the claim is released
		// and a retry sends again.
		return placement{event: "enqueue_error", code: "storage_unavailable", cause: err, err: err,
			response: problems.Response(&idempotency.Problem{Status: http.StatusServiceUnavailable, Code: "storage_unavailable", RetryAfter: 1,
				Detail: "The order could not be queued; nothing was accepted. Retry with the same Idempotency-Key."})}
	}
	doc, err := marshalJSON(order.StatusOf(orderID, m.Order, m.AcceptedAt, order.StatusQueued))
	if err != nil {
		panic(err)
	}
	placed := placement{event: "queued", response: idempotency.Response{Status: http.StatusAccepted, Body: doc,
		Header: map[string]string{"Content-Type": "application/json", "Location": "/orders/" + orderID}}}
	// marshalJSON, not json.Marshal: that would escape a symbol's "<", ">"
	// and "&" inside the document, and GET would not answer the 202's bytes.
	record, _ := marshalJSON(statusRecord{Client: call.Scope, Document: doc}) // a string and raw JSON: cannot fail
	ttl := max(kvstore.MinTTLSeconds, idempotency.CeilSeconds(s.cfg.Settings.ResultTTL))
	if err := s.cfg.Statuses.Put(ctx, StatusRecordPrefix+orderID, string(record), ttl); err != nil {
		// The order is queued: it is answered as such. Until the consumer
		// has placed it, GET /orders/<orderId> answers 404.
		placed.event, placed.cause = "status_write_error", err
	}
	return placed
}

// Consume places the queued orders of one batch of the queue named name
// (docs/queue-mode.md) and returns one verdict per message, in the batch's
// order. Each message is placed under the engine, keyed by its order id, so a
// message delivered twice, or two messages with one order id, place once.
//
//   - The placer's 2xx stores the outcome placed, a refusal rejected: both
//     final, and the message is acknowledged.
//   - Any other placer error retries the message after
//     Settings.QueueRetryBase doubled per attempt (at most MaxRetryDelay); on
//     the last attempt the outcome failed is stored instead, and the message
//     is retried into the dead-letter queue.
//   - A stored outcome (a duplicate) is acknowledged without placing; a
//     delivery whose order another is placing right now is retried once that
//     one's claim ends; a storage failure is retried after
//     Settings.QueueRetryBase.
//   - While the Service is misconfigured, every message is retried after
//     MaxRetryDelay: nothing can be placed until the settings are fixed.
//
// Batches of the dead-letter queue are settled instead: an order with an
// outcome is acknowledged; one without (its last delivery died, or could
// not store its outcome) is placed once more, an ambiguous answer storing
// failed. So every accepted order ends placed, rejected, or failed and
// dead-lettered.
//
// Messages of different orders are placed concurrently; messages of one
// order one after the other, so that a duplicate in the same batch meets the
// first one's outcome.
func (s *Service) Consume(ctx context.Context, name string, batch []queue.Message) []queue.Verdict {
	deadLetter := s.cfg.Settings.QueueDeadLetter != "" && name == s.cfg.Settings.QueueDeadLetter
	verdicts := make([]queue.Verdict, len(batch))
	groups := map[string][]int{}
	var ids []string
	for i, d := range batch {
		id := fmt.Sprintf("#%d", i) // a message that cannot be read is its own group
		if m, err := ParseQueueMessage(d.Body); err == nil {
			id = m.OrderID
		}
		if _, ok := groups[id]; !ok {
			ids = append(ids, id)
		}
		groups[id] = append(groups[id], i)
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func(indexes []int) {
			defer wg.Done()
			for _, i := range indexes {
				verdicts[i] = s.consume(ctx, batch[i], deadLetter)
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

// consume decides one delivery and logs it.
func (s *Service) consume(ctx context.Context, d queue.Message, deadLetter bool) queue.Verdict {
	start := s.cfg.Now()
	line := consumerLine{MessageID: d.ID, Attempts: d.Attempts, DeadLetter: deadLetter}
	v := s.decide(ctx, d, deadLetter, &line)
	line.DelaySeconds = v.DelaySeconds
	line.ElapsedMs = s.cfg.Now().Sub(start).Milliseconds()
	b, _ := marshalJSON(line)
	s.cfg.Log.Write(append(b, '\n'))
	return v
}

func (s *Service) decide(ctx context.Context, d queue.Message, deadLetter bool, line *consumerLine) queue.Verdict {
	// Retried into the dead-letter queue, or, there, acknowledged: nothing
	// more can be done with it.
	giveUp := queue.Verdict{Retry: !deadLetter}
	if s.cfg.Misconfigured != nil {
		line.Event, line.Cause, line.Error = "retry", "misconfigured", s.cfg.Misconfigured.Error()
		return queue.Verdict{Retry: true, DelaySeconds: int(MaxRetryDelay / time.Second)}
	}
	m, err := ParseQueueMessage(d.Body)
	if err != nil {
		line.Event, line.Error = "malformed", err.Error()
		return giveUp
	}
	line.OrderID = m.OrderID
	last := deadLetter || d.Attempts > s.cfg.Settings.QueueMaxRetries
	var placeErr error
	out := s.engine.Do(ctx, idempotency.Call{Scope: m.Client, Operation: PlaceOperation, Key: m.OrderID, Fingerprint: m.Fingerprint},
		func(ctx context.Context) (idempotency.Response, error) {
			doc := order.StatusOf(m.OrderID, m.Order, m.AcceptedAt, order.StatusPlaced)
			_, err := s.placer.Place(ctx, m.OrderID, m.Client, m.Order)
			var refusal *order.Refusal
			switch {
			case errors.As(err, &refusal):
				doc.Status, doc.Reason = order.StatusRejected, refusal.Reason
			case err != nil && !last:
				placeErr = err
				return idempotency.Response{}, err // retryable: the claim is released
			case err != nil:
				placeErr = err
				doc.Status = order.StatusFailed
				doc.Reason = fmt.Sprintf("The order gateway gave no definitive answer in %d attempts; the order may or may not exist there.", d.Attempts)
				if deadLetter {
					doc.Reason = "The order gateway gave no definitive answer before the order was dead-lettered; the order may or may not exist there."
				}
			default:
				doc.PlacedAt = order.FormatTime(s.cfg.Now())
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
	retry := func(cause string, delay time.Duration, err error) queue.Verdict {
		line.Event, line.Cause = "retry", cause
		if err != nil {
			line.Error = err.Error()
		}
		return queue.Verdict{Retry: true, DelaySeconds: idempotency.CeilSeconds(delay)}
	}
	switch out.Kind {
	case idempotency.Replayed:
		line.Event, line.Status = "duplicate", storedStatus(out.Response.Body)
		return queue.Verdict{}
	case idempotency.InFlight:
		return retry("in_progress", time.Duration(out.RetryAfter(s.cfg.Now()))*time.Second, nil)
	case idempotency.StorageFailed:
		return retry("storage_error", s.cfg.Settings.QueueRetryBase, out.Err)
	case idempotency.KeyReused:
		line.Event, line.Error = "malformed", "the order id holds an order with another fingerprint"
		return giveUp
	}
	// Executed.
	if !out.Final {
		return retry("placement_error", s.backoff(d.Attempts), nil)
	}
	status := storedStatus(out.Response.Body)
	if out.Err != nil {
		// The outcome is not stored; the claim holds the order until its
		// lease ends, and a redelivery then asks the placer again under the
		// same order id, which the gateway answers as before.
		line.Status = status
		return retry("result_write_error", s.cfg.Settings.Lease, out.Err)
	}
	line.Event, line.Status = status, status
	if status == order.StatusFailed {
		return giveUp
	}
	return queue.Verdict{}
}

// backoff is the delay before retrying the delivery that was attempt n:
// RetryBase·2^(n−1), at most MaxRetryDelay.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.Settings.QueueRetryBase
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
