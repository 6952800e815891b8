package intake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/order"
)

// serveOrder answers POST /orders, top to bottom: the checks of the contract
// in order, the first failure winning (the client, the settings, the key,
// the media type, the size, the order), none of which touches storage; then
// the engine, which places the order at most once per key.
func (s *Service) serveOrder(w http.ResponseWriter, r *http.Request) *logLine {
	client, line := s.admit(w, r)
	if line != nil {
		return line
	}
	key, o, p := s.readOrder(r)
	if p != nil {
		answer(w, p)
		return &logLine{Event: "rejected", Status: p.Status, Code: p.Code}
	}
	// The empty operation: the record keys of the first version.
	call := idempotency.Call{Scope: client, Key: key, Fingerprint: o.Fingerprint()}
	orderID := order.OrderID(client, key, call.Fingerprint)

	var placed placement
	out := s.engine.Do(r.Context(), call, func(ctx context.Context) (idempotency.Response, error) {
		placed = s.place(ctx, call, orderID, o)
		return placed.response, placed.err
	})

	line = &logLine{Status: out.Response.Status, Code: placed.code, OrderID: orderID}
	switch out.Kind {
	case idempotency.Executed:
		out.Response.Write(w)
		line.Event = placed.event
		if placed.cause != nil {
			line.Error = placed.cause.Error()
		}
		if out.Final && out.Err != nil {
			// The answer was given; only its record is missing, and the
			// claim keeps retries out until its lease ends.
			line.Event, line.Error = "result_write_error", out.Err.Error()
		}
		return line
	case idempotency.Replayed:
		if out.Response.Status == http.StatusCreated {
			out.Response.Status = http.StatusOK // a receipt is created once
		}
		w.Header().Set("Idempotent-Replay", "true")
		out.Response.Write(w)
		line.Event, line.Status = "replayed", out.Response.Status
		return line
	}
	p = out.Problem(keyHeader, s.cfg.Now())
	answer(w, p)
	line.Status, line.Code = p.Status, p.Code
	switch out.Kind {
	case idempotency.InFlight:
		line.Event = "in_progress"
	case idempotency.KeyReused:
		line.Event = "key_reused"
	case idempotency.StorageFailed:
		line.Event, line.Error = "storage_error", out.Err.Error()
	}
	return line
}

// readOrder reads the key and the order of r, or the problem refusing it.
func (s *Service) readOrder(r *http.Request) (string, order.Order, *idempotency.Problem) {
	key, err := idempotency.ParseKey(keyHeader, r.Header.Values(keyHeader))
	if err != nil {
		return "", order.Order{}, idempotency.KeyProblem(keyHeader, err)
	}
	if p := checkContentType(r); p != nil {
		return "", order.Order{}, p
	}
	body, err := idempotency.ReadBody(r, MaxBodyBytes)
	if errors.Is(err, idempotency.ErrUnreadableBody) {
		return "", order.Order{}, &idempotency.Problem{Status: http.StatusBadRequest, Code: "malformed_json",
			Detail: "The request body could not be read."}
	}
	var p *idempotency.Problem
	if errors.As(err, &p) {
		return "", order.Order{}, p
	}
	o, err := order.ParseOrder(body)
	var invalid *order.InvalidOrderError
	if errors.As(err, &invalid) {
		return "", order.Order{}, &idempotency.Problem{Status: http.StatusUnprocessableEntity, Code: "invalid_order",
			Detail: "The order has invalid fields; each is named in fields.", Fields: invalid.Fields}
	}
	var malformed *order.MalformedJSONError
	if errors.As(err, &malformed) {
		return "", order.Order{}, &idempotency.Problem{Status: http.StatusBadRequest, Code: "malformed_json",
			Detail: fmt.Sprintf("The request body must be a single JSON object (%v).", malformed.Reason)}
	}
	return key, o, nil
}

// checkContentType accepts no Content-Type, or application/json with any
// parameters: curl -d without -H sends form encoding, and guessing is worse
// than saying so.
func checkContentType(r *http.Request) *idempotency.Problem {
	values := r.Header.Values("Content-Type")
	switch len(values) {
	case 0:
		return nil
	case 1:
		mediaType, _, _ := strings.Cut(values[0], ";")
		if strings.EqualFold(strings.TrimSpace(mediaType), "application/json") {
			return nil
		}
	}
	return &idempotency.Problem{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Detail: "Content-Type must be application/json (curl -d sends form encoding unless you add -H 'Content-Type: application/json')."}
}

// placement is what placing one order did: the answer, final unless err is
// set, and for the log what happened (placed, order_rejected,
// placement_error; in queue mode queued, status_write_error, enqueue_error),
// the code answered and the cause of a failure.
type placement struct {
	response    idempotency.Response
	err         error
	event, code string
	cause       error
}

// place places o under orderID, which every execution of the same request
// derives alike; in queue mode it queues it.
func (s *Service) place(ctx context.Context, call idempotency.Call, orderID string, o order.Order) placement {
	if s.cfg.Queue != nil {
		return s.enqueue(ctx, call, orderID, o)
	}
	receipt, err := s.placer.Place(ctx, orderID, call.Scope, o)
	var refusal *order.Refusal
	switch {
	case errors.As(err, &refusal):
		// A definitive no is this key's answer, stored and replayed like a
		// receipt: a new order needs a new key.
		return placement{event: "order_rejected", code: "order_rejected", cause: err,
			response: problems.Response(&idempotency.Problem{Status: http.StatusUnprocessableEntity, Code: "order_rejected", Reason: refusal.Reason,
				Detail: "The order gateway refused this order (reason says why); a new order needs a new Idempotency-Key."})}
	case err != nil:
		// Ambiguous: a 5xx is never final, so the claim is released and a
		// retry sends the same order id again.
		return placement{event: "placement_error", code: "placement_failed", cause: err, err: err,
			response: problems.Response(&idempotency.Problem{Status: http.StatusBadGateway, Code: "placement_failed",
				Detail: "The order could not be placed. Retry with the same Idempotency-Key."})}
	}
	body, err := encodeJSON((*receiptJSON)(&receipt), 256)
	if err != nil {
		panic(err)
	}
	return placement{event: "placed", response: idempotency.Response{Status: http.StatusCreated,
		Header: map[string]string{"Content-Type": "application/json"}, Body: body}}
}
