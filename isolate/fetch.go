//go:build js && wasm

package isolate

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Fetch sends req with the platform's fetch and returns the response with its
// body read whole. The glue aborts the fetch after timeout (an AbortSignal):
// the only deadline a runtime shared by many requests can rely on (see the
// package doc). An abort or a network failure is an error.
func Fetch(req *http.Request, timeout time.Duration) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		body = b
	}
	head := requestHead(req.Method, req.URL.String(), req.Header)
	answer := calls.do(func(id int32) {
		headPtr, headLen := stringPtr(head)
		bodyPtr, bodyLen := bytesPtr(body)
		hasBody := int32(0) // no body is null to fetch, unlike an empty one
		if req.Body != nil {
			hasBody = 1
		}
		fetchStart(id, headPtr, headLen, hasBody, bodyPtr, bodyLen, int32(timeout.Milliseconds()))
	})
	if err := answer.err(); err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	status, statusText, header, err := parseResponseHead(string(answer.a))
	if err != nil {
		return nil, err
	}
	b := answer.b
	if b == nil {
		b = []byte{}
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, statusText),
		StatusCode:    status,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)),
		Request:       req,
	}, nil
}
