//go:build js && wasm

// Package isolate is the Go side of the worker's glue (worker.mjs beside it):
// one Go runtime serves every fetch, cron and queue event of a Workers isolate, where
// syumai/workers' Serve starts a runtime per request and cannot serve a
// second one on the same runtime.
//
// The rule for code on the request path, because the runtime is shared: block
// only on JavaScript promises the request itself started (KV, D1, Fetch).
// Never on Go timers (time.Sleep, time.After, context deadlines): the Go
// runtime drives all of them from one JavaScript timer, which belongs to
// whichever request happened to start it, and workerd cancels the requests
// that wait on another request's I/O as hung. Nor on another request's
// goroutine, for the same reason.
package isolate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall/js"
)

// Options are what Serve needs besides the handler.
type Options struct {
	// MaxBodyBytes is the most of a request body the glue hands over; the rest
	// is dropped unread.
	MaxBodyBytes int
	// Headers, when not nil, are the only request headers the glue hands
	// over (by name, in any case); nil hands over every header. The glue
	// reads a few named headers for less CPU than it goes through them all.
	Headers []string
	// Scheduled runs on each cron trigger. An error rejects the event; it does
	// not end the runtime. nil rejects every cron event.
	Scheduled func(context.Context) error
	// Queue decides the messages of each queue batch. A panic, or a runtime
	// that dies meanwhile, retries every message of the batch. nil retries
	// every message.
	Queue QueueConsumer
}

// glue is the binding object worker.mjs passes to this runtime.
var glue = js.Global().Get("context").Get("binding")

type eventIDKey struct{}

// ExecutionContext returns the Workers ExecutionContext (waitUntil,
// passThroughOnException) of the request or queue batch ctx belongs to. syumai's
// cloudflare.WaitUntil would use the one context of the whole runtime, which
// this glue leaves unset, so that it fails instead of attaching work to
// another request.
func ExecutionContext(ctx context.Context) (js.Value, bool) {
	id, ok := ctx.Value(eventIDKey{}).(int32)
	if !ok {
		return js.Value{}, false
	}
	v := glue.Call("executionContext", id)
	return v, !v.IsUndefined()
}

// Serve registers h and opts.Scheduled with the glue and blocks for the life
// of the runtime.
func Serve(h http.Handler, opts Options) {
	h = withFaults(h)
	maxBodyBytes = int32(opts.MaxBodyBytes)
	headerNames = strings.ToLower(strings.Join(opts.Headers, "\n"))
	// Each request runs in a goroutine of its own (reused, pool.go); a cron
	// event and a queue batch in a new one. What hands them over must never
	// block (bridge.go).
	consume := withQueueFaults(opts.Queue)
	startBridge(eventHandlers{
		serve:     func(id int32, head string, body []byte) { serve(h, id, head, body) },
		scheduled: func(id int32) { go runScheduled(opts.Scheduled, id) },
		queue:     func(id int32, head string, bodies []byte) { go runQueue(consume, id, head, bodies) },
	})
	select {}
}

// serve answers one request; a panic anywhere, converting the request
// included, becomes the glue's JSON 500 and leaves the runtime serving.
func serve(h http.Handler, id int32, head string, body []byte) {
	defer func() {
		if p := recover(); p != nil {
			failEvent(id, fmt.Sprintf("panic: %v", p))
		}
	}()
	method, url, header, err := parseRequestHead(head)
	if err != nil {
		panic(err)
	}
	ctx := context.WithValue(context.Background(), eventIDKey{}, id)
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header = header
	w := &recorder{header: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(w, req)
	headPtr, headLen := stringPtr(responseHead(w.status, w.header))
	bodyPtr, bodyLen := bytesPtr(w.body.Bytes())
	respond(id, headPtr, headLen, bodyPtr, bodyLen)
}

func runScheduled(task func(context.Context) error, id int32) {
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
		if err == nil {
			finish(id, 0, nil, 0)
			return
		}
		reason, n := stringPtr(err.Error())
		finish(id, 1, reason, n)
	}()
	if task == nil {
		err = errors.New("this worker has no cron task")
		return
	}
	err = task(context.Background())
}

// runQueue decides one queue batch and hands the verdicts, one line per
// message, to the glue, which acks or retries each message; a failure
// (the import fail) makes the glue retry them all.
func runQueue(consume QueueConsumer, id int32, head string, bodies []byte) {
	defer func() {
		if p := recover(); p != nil {
			failEvent(id, fmt.Sprintf("panic: %v", p))
		}
	}()
	if consume == nil {
		failEvent(id, "this worker has no queue consumer")
		return
	}
	queue, messages, err := parseBatchHead(head, bodies)
	if err != nil {
		panic(err)
	}
	ctx := context.WithValue(context.Background(), eventIDKey{}, id)
	verdicts := consume(ctx, queue, messages)
	if len(verdicts) != len(messages) {
		panic(fmt.Sprintf("%d verdicts for %d messages", len(verdicts), len(messages)))
	}
	headPtr, headLen := stringPtr(verdictHead(verdicts))
	respond(id, headPtr, headLen, nil, 0)
}

// failEvent answers event id with the glue's failure: the JSON 500 for a
// request, a retry of every message for a queue batch.
func failEvent(id int32, reason string) {
	p, n := stringPtr(reason)
	fail(id, p, n)
}

// recorder keeps the handler's answer until it is complete: the worker's
// responses are small JSON bodies, sent whole.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header         { return w.header }
func (w *recorder) WriteHeader(status int)      { w.status = status }
func (w *recorder) Write(b []byte) (int, error) { return w.body.Write(b) }
