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
	// InternalError is the body of the 500 the glue answers with when Go
	// gives no answer (a panic outside the handler, a runtime that died):
	// problem details (RFC 9457), sent as application/problem+json. Empty
	// leaves the glue's own, which names no application.
	InternalError []byte
	// WarmUp, when not nil, serves the requests of WarmUpRequests as the
	// runtime starts, before its first event, and its answers are dropped: a
	// rehearsal of the request path, so that the first request finds it
	// compiled (docs/runtime.md#where-the-runtime-starts). The requests take
	// the glue's requests' path, on a worker of the request pool, through
	// serve and the import respond, with the event id 0, which no event has.
	// When the runtime starts at module scope it runs there, where nothing
	// may wait on JavaScript: WarmUp must be the real handler's code over a
	// store that keeps nothing outside the process (main.go's is the KV
	// store on kvstore.Fake), and it must send and log nothing. Once the
	// rehearsal is over, nothing keeps WarmUp.
	WarmUp http.Handler
	// WarmUpRequests returns the requests of one round of the rehearsal,
	// fresh ones each round (a body is read once), in order.
	WarmUpRequests func(round int) []*http.Request
}

// rehearsalRounds is how many times the rehearsal at module scope serves
// its requests. V8 compiles each WebAssembly function with Liftoff the first
// time it runs, and recompiles it optimized in the background once it has
// run enough; workerd has V8 drop all Liftoff code of the process each time
// it starts another isolate (docs/runtime.md#where-the-runtime-starts). Only
// what the rehearsal ran often enough to be optimized survives that, and
// each function's budget before it is optimized is V8's own: the number of
// rounds is measured, against the first request's CPU and the start's
// (BENCHMARKS.md, "2026-12-04: a rehearsal long enough to be optimized").
const rehearsalRounds = 300

// Serve registers h and opts.Scheduled with the glue and blocks for the life
// of the runtime.
func Serve(h http.Handler, opts Options) {
	h = withFaults(h)
	maxBodyBytes = int32(opts.MaxBodyBytes)
	headerNames = strings.ToLower(strings.Join(opts.Headers, "\n"))
	internalError = opts.InternalError
	// Each request runs in a goroutine of its own (reused, pool.go); a cron
	// event and a queue batch in a new one. What hands them over must never
	// block (bridge.go).
	// The handlers below capture only what they use, never opts: what lives
	// as long as the runtime must not keep the rehearsal's handler and the
	// records it wrote.
	consume, scheduled := withQueueFaults(opts.Queue), opts.Scheduled
	startBridge(eventHandlers{
		serve:     func(id int32, head string, body []byte) { serve(h, id, head, body) },
		scheduled: func(id int32) { go runScheduled(scheduled, id) },
		queue:     func(id int32, head string, bodies []byte) { go runQueue(consume, id, head, bodies) },
	})
	if warmUp, warmUpRequests := opts.WarmUp, opts.WarmUpRequests; warmUp != nil && warmUpRequests != nil {
		// A runtime started in an event (the start at module scope refused,
		// a runtime retired or died) rehearses once: that event waits for it.
		rounds := 1
		if js.Global().Get("context").Get("atModuleScope").Truthy() {
			rounds = rehearsalRounds
		}
		requests.warm(func() {
			rehearse(rounds, warmUpRequests, func(head string, body []byte) { serve(warmUp, 0, head, body) })
		})
	}
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
	head, w := answer(h, head, body)
	headPtr, headLen := stringPtr(head)
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
	verdicts := consume(context.Background(), queue, messages)
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
