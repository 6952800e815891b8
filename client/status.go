package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/orderintake/edge/order"
)

// MaxPollInterval caps the bound of Wait's jittered wait between two reads
// of a status that is not final yet.
const MaxPollInterval = 5 * time.Second

// OrderStatus is a queued order's status document, the answer of
// GET /orders/<orderId> in queue mode (docs/queue-mode.md#what-the-client-sees).
// Its Status is "queued" (accepted, not placed yet) or final: "placed",
// "rejected" (the order gateway refused it) or "failed" (no definitive answer
// in all the queue's attempts: the order may exist at the gateway, under its
// orderId as clientOrderId).
type OrderStatus struct {
	order.Receipt
	PlacedAt string `json:"placedAt,omitempty"` // when it was placed
	Reason   string `json:"reason,omitempty"`   // why it was rejected or failed: the gateway's words
}

// final says whether an order's status will not change.
func final(status string) bool {
	return status == "placed" || status == "rejected" || status == "failed"
}

// Status reads the status of the order orderID (the orderId of Submit's
// receipt, in queue mode) with one GET of BaseURL+"/orders/"+orderID,
// retried as Submit's POST is. An order that is unknown, or another
// client's, is an *Error with Status 404 and Code "not_found"; a Token that
// is not valid, 401 "unauthorized". An orderID that cannot be an order id is
// refused before any request.
func (c *Client) Status(ctx context.Context, orderID string) (OrderStatus, error) {
	url, err := c.statusURL(orderID)
	if err != nil {
		return OrderStatus{}, err
	}
	var st OrderStatus
	if err := c.retry(ctx, c.callPolicy(), func() error { return c.readStatus(ctx, url, orderID, &st) }); err != nil {
		return OrderStatus{}, err
	}
	return st, nil
}

// Wait reads the status of the order orderID until it is final ("placed",
// "rejected" or "failed") and returns it with a nil error, whatever it is: a
// rejected or failed order is an answer, not an error. Between two reads it
// waits as Submit does between attempts (full jitter, Retry-After honoured),
// with MaxPollInterval as the cap; a queued status, a network error, 429 and
// the 5xx that Submit retries are read again, with no limit but the
// context's, so give the context a deadline. When the next read would start
// after the deadline, Wait returns at once the last status it read (zero if
// none) and an error wrapping context.DeadlineExceeded. Any other answer ends
// Wait with Status's error: 404 not_found (an unknown id, or another
// client's order; also, rarely, a queued order whose status record the
// worker could not write, until it is placed: docs/queue-mode.md#the-consumer),
// 401, and an orderID that cannot be an order id.
func (c *Client) Wait(ctx context.Context, orderID string) (OrderStatus, error) {
	url, err := c.statusURL(orderID)
	if err != nil {
		return OrderStatus{}, err
	}
	var last OrderStatus
	err = c.retry(ctx, retryPolicy{maxBackoff: MaxPollInterval}, func() error {
		var st OrderStatus
		if err := c.readStatus(ctx, url, orderID, &st); err != nil {
			return err
		}
		last = st
		if !final(st.Status) {
			return &notFinalError{orderID: orderID, status: st.Status}
		}
		return nil
	})
	return last, err
}

// notFinalError is Wait's outcome for a status that may still change: it is
// read again.
type notFinalError struct{ orderID, status string }

func (e *notFinalError) Error() string {
	return fmt.Sprintf("client: order %s is still %s", e.orderID, strconv.Quote(e.status))
}

// statusURL is BaseURL+"/orders/"+orderID, checked before anything is sent.
func (c *Client) statusURL(orderID string) (string, error) {
	endpoint, err := c.endpoint()
	if err != nil {
		return "", err
	}
	if err := checkOrderID(orderID); err != nil {
		return "", err
	}
	return endpoint + "/" + orderID, nil
}

// checkOrderID refuses what the worker would answer 404 without looking: an
// order id is a lower-case, hyphenated version-5 UUID (order.OrderID).
func checkOrderID(id string) error {
	if order.IsOrderID(id) {
		return nil
	}
	shown := strconv.Quote(id)
	if len(id) > 64 {
		shown = fmt.Sprintf("a %d-byte string", len(id))
	}
	return fmt.Errorf("client: %s is not an order id: an order id is a lower-case, hyphenated version-5 UUID, the orderId of a receipt", shown)
}

// readStatus makes one GET of url into st: a 200 with orderID's status
// document, or an error as exchange's.
func (c *Client) readStatus(ctx context.Context, url, orderID string, st *OrderStatus) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	return c.exchange(req, func(b []byte) string {
		*st = OrderStatus{}
		if why := decodeJSON(b, st, "an order's status"); why != "" {
			return why
		}
		if st.OrderID != orderID {
			return fmt.Sprintf("the answer is not the status of order %s: its orderId is %q", orderID, st.OrderID)
		}
		if st.Status == "" {
			return "the answer is not an order's status: it has no status"
		}
		return ""
	}, http.StatusOK)
}
