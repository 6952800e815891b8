package order

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Fetcher sends one request and returns the response with its body in
// memory. The timeout is part of the call because on Workers only the
// platform can enforce it: Go timers on the request path hang requests under
// workerd (package isolate), so the Wasm Fetcher is isolate.Fetch, which
// aborts the platform's fetch. An abort or a network failure is an error.
type Fetcher interface {
	Fetch(req *http.Request, timeout time.Duration) (*http.Response, error)
}

// FetchFunc makes a function, such as isolate.Fetch, a Fetcher.
type FetchFunc func(req *http.Request, timeout time.Duration) (*http.Response, error)

// Fetch calls f.
func (f FetchFunc) Fetch(req *http.Request, timeout time.Duration) (*http.Response, error) {
	return f(req, timeout)
}

// Gateway is the Placer that sends each order to an order gateway (docs/downstreams.md#the-order-gateway):
// one POST per placement, carrying the order id as clientOrderId and as
// Idempotency-Key, so that the gateway answers a repeated id with its
// original result.
type Gateway struct {
	URL     string
	Token   string // sent as a bearer token when set; never logged
	Timeout time.Duration
	Fetcher Fetcher
	Now     func() time.Time
}

// Refusal is the gateway's definitive no to one order: it is stored as the
// key's result and replayed, unlike an error, after which a retry may place.
type Refusal struct {
	Status int    // the gateway's status, for the log
	Reason string // the gateway's own words, for the client
}

// Error says who refused, with which status; the reason is for the client.
func (r *Refusal) Error() string {
	return fmt.Sprintf("the order gateway refused the order with %d %s", r.Status, http.StatusText(r.Status))
}

// maxReasonChars bounds the gateway's words passed on to the client.
const maxReasonChars = 200

// gatewayOrder is the body sent to the gateway (docs/downstreams.md#the-order-gateway), its members in the
// receipt's order: limitPrice only on a limit order, client only when client
// scoping is on.
type gatewayOrder struct {
	ClientOrderID string `json:"clientOrderId"`
	Symbol        string `json:"symbol"`
	Side          string `json:"side"`
	Quantity      uint64 `json:"quantity"`
	Type          string `json:"type"`
	LimitPrice    string `json:"limitPrice,omitempty"`
	TimeInForce   string `json:"timeInForce"`
	Client        string `json:"client,omitempty"`
}

// Place sends the order. A 2xx places it (the receipt is the worker's own,
// as without a gateway); 400, 403, 404 and 422 refuse it (a *Refusal);
// anything else, a network error or the timeout included, is an error: the
// order may or may not exist, and a retry under the same id settles it.
func (g Gateway) Place(ctx context.Context, orderID, client string, o Order) (Receipt, error) {
	o = o.WithDefaults()
	body, err := marshalJSON(gatewayOrder{ClientOrderID: orderID, Symbol: o.Symbol, Side: o.Side, Quantity: o.Quantity,
		Type: o.Type, LimitPrice: o.LimitPrice, TimeInForce: o.TimeInForce, Client: client})
	if err != nil {
		return Receipt{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return Receipt{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", orderID)
	if g.Token != "" {
		req.Header.Set("Authorization", "Bearer "+g.Token)
	}
	resp, err := g.Fetcher.Fetch(req, g.Timeout)
	if err != nil {
		return Receipt{}, fmt.Errorf("the order gateway gave no answer (timeout %v): %w", g.Timeout, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity:
		return Receipt{}, &Refusal{Status: resp.StatusCode, Reason: refusalReason(resp)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return Receipt{}, fmt.Errorf("the order gateway answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return MintReceipt{Now: g.Now}.Place(ctx, orderID, client, o)
}

// refusalReason is the refusal body's "message" or "error" string, else the
// status text (the standard one: HTTP/2 sends none of its own).
func refusalReason(resp *http.Response) string {
	var fields map[string]any
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(raw, &fields) == nil {
		for _, name := range []string{"message", "error"} {
			if s, ok := fields[name].(string); ok && strings.TrimSpace(s) != "" {
				return truncateChars(strings.TrimSpace(s), maxReasonChars)
			}
		}
	}
	return http.StatusText(resp.StatusCode)
}

func truncateChars(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
