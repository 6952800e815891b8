//go:build js && wasm

package isolate

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"syscall/js"
	"time"
)

// Fetch sends req with the platform's fetch and returns the response with its
// body read whole. The glue aborts the fetch after timeout (an AbortSignal):
// the only deadline a runtime shared by many requests can rely on (see the
// package doc). An abort or a network failure is an error.
func Fetch(req *http.Request, timeout time.Duration) (*http.Response, error) {
	body := js.Null()
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		body = jsBytes(b)
	}
	head := requestHead(req.Method, req.URL.String(), req.Header)
	answer, err := await(glue.Call("fetch", head, body, timeout.Milliseconds()))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	status, statusText, header, err := parseResponseHead(answer.Index(0).String())
	if err != nil {
		return nil, err
	}
	b := goBytes(answer.Index(1))
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, statusText),
		StatusCode:    status,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(b)),
		ContentLength: int64(len(b)),
		Request:       req,
	}, nil
}

// await blocks until promise settles. Unlike syumai's jsutil.AwaitPromise, it
// releases both of its callbacks, so a long-lived runtime does not leak them.
func await(promise js.Value) (js.Value, error) {
	type settled struct {
		value js.Value
		err   error
	}
	done := make(chan settled, 1)
	onValue := js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- settled{value: args[0]}
		return nil
	})
	defer onValue.Release()
	onError := js.FuncOf(func(_ js.Value, args []js.Value) any {
		done <- settled{err: fmt.Errorf("%s", js.Global().Call("String", args[0]).String())}
		return nil
	})
	defer onError.Release()
	promise.Call("then", onValue, onError)
	s := <-done
	return s.value, s.err
}
