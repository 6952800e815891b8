package intake

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"time"

	"github.com/orderintake/edge/order"
)

// Fetch sends req and returns the response, giving up after timeout: the
// worker's is isolate.Fetch, which aborts the platform's fetch (no Go timer
// on the request path); a native server's can be an http.Client's. An abort
// or a network failure is an error.
type Fetch func(req *http.Request, timeout time.Duration) (*http.Response, error)

// maxAnswerBytes bounds how much of the gateway's answer is read: a refusal's
// reason is cut to a few hundred characters anyway.
const maxAnswerBytes = 64 << 10

// Fetch sends one request of the order gateway (order.Fetcher).
func (f Fetch) Fetch(ctx context.Context, req order.FetchRequest, timeout time.Duration) (order.FetchResponse, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return order.FetchResponse{}, err
	}
	for name, value := range req.Header {
		r.Header.Set(name, value)
	}
	resp, err := f(r, timeout)
	if err != nil {
		return order.FetchResponse{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes)) // only a refusal's reason reads it
	return order.FetchResponse{Status: resp.StatusCode, StatusText: http.StatusText(resp.StatusCode), Body: body}, nil
}
