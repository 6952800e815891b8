package order

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/orderintake/edge/internal/jsontext"
)

// FetchRequest is one POST to the order gateway: its URL, headers (one value
// each) and JSON body.
type FetchRequest struct {
	URL    string
	Header map[string]string
	Body   []byte
}

// FetchResponse is the gateway's answer: its status, the status's standard
// text (net/http's StatusText: HTTP/2 sends none of its own) and the start of
// its body, enough for a refusal's reason.
type FetchResponse struct {
	Status     int
	StatusText string
	Body       []byte
}

// Fetcher sends one request to the order gateway. The timeout is part of the
// call because on Workers only the platform can enforce it: Go timers on the
// request path hang requests under workerd (docs/runtime.md), so the
// worker's fetch aborts the platform's own. An abort or a network failure is
// an error. The intake (package intake) adapts an HTTP client to it; this
// package stays free of net/http.
type Fetcher interface {
	Fetch(ctx context.Context, req FetchRequest, timeout time.Duration) (FetchResponse, error)
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
	Status     int    // the gateway's status, for the log
	StatusText string // its standard text, for the log
	Reason     string // the gateway's own words, for the client
}

// Error says who refused, with which status; the reason is for the client.
func (r *Refusal) Error() string {
	return strings.TrimSpace(fmt.Sprintf("the order gateway refused the order with %d %s", r.Status, r.StatusText))
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
	body, err := jsontext.Marshal(gatewayOrder{ClientOrderID: orderID, Symbol: o.Symbol, Side: o.Side, Quantity: o.Quantity,
		Type: o.Type, LimitPrice: o.LimitPrice, TimeInForce: o.TimeInForce, Client: client})
	if err != nil {
		return Receipt{}, err
	}
	header := map[string]string{"Content-Type": "application/json", "Idempotency-Key": orderID}
	if g.Token != "" {
		header["Authorization"] = "Bearer " + g.Token
	}
	resp, err := g.Fetcher.Fetch(ctx, FetchRequest{URL: g.URL, Header: header, Body: body}, g.Timeout)
	if err != nil {
		return Receipt{}, fmt.Errorf("the order gateway gave no answer (timeout %v): %w", g.Timeout, err)
	}
	switch resp.Status {
	case 400, 403, 404, 422: // bad request, forbidden, not found, unprocessable
		return Receipt{}, &Refusal{Status: resp.Status, StatusText: resp.StatusText, Reason: refusalReason(resp)}
	}
	if resp.Status < 200 || resp.Status > 299 {
		return Receipt{}, fmt.Errorf("the order gateway answered %d %s", resp.Status, resp.StatusText)
	}
	return MintReceipt{Now: g.Now}.Place(ctx, orderID, client, o)
}

// refusalReason is the refusal body's "message" or "error" string, else the
// status text.
func refusalReason(resp FetchResponse) string {
	var fields map[string]any
	if json.Unmarshal(resp.Body, &fields) == nil {
		for _, name := range []string{"message", "error"} {
			if s, ok := fields[name].(string); ok && strings.TrimSpace(s) != "" {
				return truncateChars(strings.TrimSpace(s), maxReasonChars)
			}
		}
	}
	return resp.StatusText
}

func truncateChars(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
