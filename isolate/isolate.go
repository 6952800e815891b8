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
	"syscall/js"
)

// Options are what Serve needs besides the handler.
type Options struct {
	// MaxBodyBytes is the most of a request body the glue hands over; the rest
	// is dropped unread.
	MaxBodyBytes int
	// Scheduled runs on each cron trigger. An error rejects the event; it does
	// not end the runtime. nil rejects every cron event.
	Scheduled func(context.Context) error
	// Queue decides the messages of each queue batch. A panic, or a runtime
	// that dies meanwhile, retries every message of the batch. nil retries
	// every message.
	Queue QueueConsumer
}

// glue is the binding object worker.mjs passes to this runtime.
var (
	glue       = js.Global().Get("context").Get("binding")
	uint8Array = js.Global().Get("Uint8Array")
)

type executionContextKey struct{}

// ExecutionContext returns the Workers ExecutionContext (waitUntil,
// passThroughOnException) of the request ctx belongs to. syumai's
// cloudflare.WaitUntil would use the one context of the whole runtime, which
// this glue leaves unset, so that it fails instead of attaching work to
// another request.
func ExecutionContext(ctx context.Context) (js.Value, bool) {
	v, ok := ctx.Value(executionContextKey{}).(js.Value)
	return v, ok
}

// Serve registers h and opts.Scheduled with the glue and blocks for the life
// of the runtime.
func Serve(h http.Handler, opts Options) {
	h = withFaults(h)
	glue.Set("maxBodyBytes", opts.MaxBodyBytes)
	// Each event runs in its own goroutine: a panic inside a js.FuncOf
	// callback would end the runtime.
	glue.Set("serve", js.FuncOf(func(_ js.Value, args []js.Value) any {
		workers.run(func() { serve(h, args[0], args[1], args[2], args[3]) })
		return nil
	}))
	glue.Set("scheduled", js.FuncOf(func(_ js.Value, args []js.Value) any {
		go runScheduled(opts.Scheduled, args[0])
		return nil
	}))
	consume := withQueueFaults(opts.Queue)
	glue.Set("queue", js.FuncOf(func(_ js.Value, args []js.Value) any {
		go runQueue(consume, args[0], args[1], args[2], args[3])
		return nil
	}))
	select {}
}

// serve answers one request; a panic anywhere, converting the request
// included, becomes the glue's JSON 500 and leaves the runtime serving.
func serve(h http.Handler, id, head, body, executionContext js.Value) {
	defer func() {
		if p := recover(); p != nil {
			glue.Call("fail", id, fmt.Sprintf("panic: %v", p))
		}
	}()
	method, url, header, err := parseRequestHead(head.String())
	if err != nil {
		panic(err)
	}
	ctx := context.WithValue(context.Background(), executionContextKey{}, executionContext)
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(goBytes(body)))
	if err != nil {
		panic(err)
	}
	req.Header = header
	w := &recorder{header: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(w, req)
	glue.Call("respond", id, responseHead(w.status, w.header), jsBytes(w.body.Bytes()))
}

func runScheduled(task func(context.Context) error, id js.Value) {
	var err error
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
		failure := js.Null()
		if err != nil {
			failure = js.ValueOf(err.Error())
		}
		glue.Call("finish", id, failure)
	}()
	if task == nil {
		err = errors.New("this worker has no cron task")
		return
	}
	err = task(context.Background())
}

// runQueue decides one queue batch and hands the verdicts, one line per
// message, to the glue, which acks or retries each message; a failure
// (binding.fail) makes the glue retry them all.
func runQueue(consume QueueConsumer, id, head, bodies, executionContext js.Value) {
	defer func() {
		if p := recover(); p != nil {
			glue.Call("fail", id, fmt.Sprintf("panic: %v", p))
		}
	}()
	if consume == nil {
		glue.Call("fail", id, "this worker has no queue consumer")
		return
	}
	queue, messages, err := parseBatchHead(head.String())
	if err != nil {
		panic(err)
	}
	for i := range messages {
		messages[i].Body = goBytes(bodies.Index(i))
	}
	ctx := context.WithValue(context.Background(), executionContextKey{}, executionContext)
	verdicts := consume(ctx, queue, messages)
	if len(verdicts) != len(messages) {
		panic(fmt.Sprintf("%d verdicts for %d messages", len(verdicts), len(messages)))
	}
	glue.Call("respond", id, verdictHead(verdicts), js.Null())
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

// goBytes copies a Uint8Array (or null) into Go.
func goBytes(v js.Value) []byte {
	if v.IsNull() || v.IsUndefined() {
		return nil
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// jsBytes copies b into a new Uint8Array.
func jsBytes(b []byte) js.Value {
	v := uint8Array.New(len(b))
	js.CopyBytesToJS(v, b)
	return v
}
