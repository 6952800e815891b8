//go:build js && wasm

package isolate

import (
	"fmt"
	"sync"
	"syscall/js"
	"unsafe"
)

// The bridge between the glue (worker.mjs) and Go on the request path: plain
// WebAssembly imports and one export, with numbers for arguments and the
// bytes in Go's linear memory, instead of syscall/js. A call through
// syscall/js's js.FuncOf reads the event, its this and its arguments with a
// JavaScript call each and puts a finalizer on every object and string it
// hands to Go; with a request's head and body, that cost more than the rest
// of a cached replay (BENCHMARKS.md). syscall/js stays for what is not on
// the request path (the environment, the execution context, D1).
//
// JavaScript -> Go: the glue writes an event's bytes into the inbox (a Go
// buffer whose address it was given) and calls the export isolate_deliver
// with their lengths, then resumes the Go scheduler. The export only hands
// the numbers to the dispatcher goroutine (it must not allocate or block:
// it runs on whatever goroutine Go paused on), which copies the bytes out
// before Go returns to JavaScript, so the next event finds the inbox free.
//
// Go -> JavaScript: imports of the module "isolate", called with pointers
// into Go's memory, which the glue copies before it returns.

//go:wasmimport isolate ready
func ready(inbox unsafe.Pointer, size int32, maxBodyBytes int32, headerNames unsafe.Pointer, headerNamesLen int32, internalError unsafe.Pointer, internalErrorLen int32)

//go:wasmimport isolate respond
func respond(id int32, head unsafe.Pointer, headLen int32, body unsafe.Pointer, bodyLen int32)

//go:wasmimport isolate fail
func fail(id int32, reason unsafe.Pointer, reasonLen int32)

//go:wasmimport isolate finish
func finish(id int32, failed int32, reason unsafe.Pointer, reasonLen int32)

//go:wasmimport isolate log
func consoleLog(line unsafe.Pointer, n int32)

//go:wasmimport isolate kv
func kvStart(call int32, namespace unsafe.Pointer, namespaceLen int32, ops unsafe.Pointer, opsLen int32, data unsafe.Pointer, dataLen int32)

//go:wasmimport isolate fetch
func fetchStart(call int32, head unsafe.Pointer, headLen int32, hasBody int32, body unsafe.Pointer, bodyLen int32, timeoutMs int32)

//go:wasmimport isolate queueSend
func queueSendStart(call int32, binding unsafe.Pointer, bindingLen int32, json unsafe.Pointer, jsonLen int32)

// The kinds of event isolate_deliver carries.
const (
	eventServe     = 1 // a request: its head, then its body
	eventSettle    = 2 // a call's outcome: status, then up to two parts
	eventScheduled = 3 // a cron event: its cron expression; x is its time
	eventQueue     = 4 // a queue batch: its head (batch.go), then its messages' bodies
	eventNothing   = 5 // nothing to do: the glue rehearses the handover with it at module scope
)

// delivery is one event, as isolate_deliver hands it over: numbers only.
type delivery struct {
	kind, id, status, aLen, bLen int32
	x                            float64
}

var (
	// inbox is where the glue writes an event's bytes; it grows on the
	// glue's request (binding.grow), never shrinks, and is reused by every
	// event, so the dispatcher copies out of it at once.
	inbox      = make([]byte, 16<<10)
	deliveries = make(chan delivery) // unbuffered: to the dispatcher, waiting
)

// deliver is what the export isolate_deliver (export_go.go,
// export_tinygo.go) runs when the glue hands an event over: a call's
// outcome straight to the goroutine waiting for it, a request to an idle
// worker, anything else (and a request when no worker is idle) to the
// dispatcher. It returns 0 if that goroutine was not waiting, which cannot
// happen while the glue calls it only when Go is idle.
func deliver(kind, id, status, aLen, bLen int32, x float64) int32 {
	d := delivery{kind: kind, id: id, status: status, aLen: aLen, bLen: bLen, x: x}
	switch {
	case kind == eventSettle:
		return calls.settle(d)
	case kind == eventServe && requests != nil && requests.offer(d):
		return 1
	}
	select {
	case deliveries <- d:
		return 1
	default:
		return 0
	}
}

// eventHandlers are what each kind of event is handed to, its bytes copied
// out of the inbox. None may block: each runs in a goroutine of its own.
type eventHandlers struct {
	serve     func(id int32, head string, body []byte)
	scheduled func(id int32)
	queue     func(id int32, head string, bodies []byte)
}

// glue is the binding object worker.mjs passes to this runtime.
var glue = js.Global().Get("context").Get("binding")

// requests are the workers that serve requests; each copies its request out
// of the inbox before anything else runs.
var requests *pool[delivery]

// startBridge starts the dispatcher and tells the glue where the inbox is.
func startBridge(handle eventHandlers) {
	requests = newPool(func(d delivery) {
		a, b := inbox[:d.aLen], inbox[d.aLen:d.aLen+d.bLen]
		var body []byte
		if len(b) > 0 {
			body = append([]byte(nil), b...)
		}
		handle.serve(d.id, string(a), body)
	})
	glue.Set("grow", js.FuncOf(func(_ js.Value, args []js.Value) any {
		if n := args[0].Int(); n > len(inbox) {
			inbox = make([]byte, n)
		}
		announceInbox()
		return nil
	}))
	go func() {
		for d := range deliveries {
			switch d.kind {
			case eventServe: // no worker was idle
				requests.start(d)
			case eventScheduled:
				handle.scheduled(d.id)
			case eventQueue:
				a, b := inbox[:d.aLen], inbox[d.aLen:d.aLen+d.bLen]
				handle.queue(d.id, string(a), append([]byte(nil), b...))
			case eventNothing:
			}
		}
	}()
	announceInbox()
}

// What Serve's Options ask of the glue: headerNames are lower case, one a
// line, "" for every header.
var (
	maxBodyBytes  int32
	headerNames   string
	internalError []byte
)

func announceInbox() {
	names, n := stringPtr(headerNames)
	failure, m := bytesPtr(internalError)
	ready(unsafe.Pointer(unsafe.SliceData(inbox)), int32(len(inbox)), maxBodyBytes, names, n, failure, m)
}

// settled is the outcome of a call to the glue: what the glue's promise
// settled with.
type settled struct {
	status int32 // the call's own; negative: the promise was rejected, and a is why
	a, b   []byte
}

func (s settled) err() error {
	if s.status < 0 {
		return fmt.Errorf("failed on promise: %s", s.a)
	}
	return nil
}

// pendingCalls are the calls waiting for the glue's promise to settle.
type pendingCalls struct {
	mu      sync.Mutex
	last    int32
	waiting map[int32]chan delivery
}

var calls = &pendingCalls{waiting: map[int32]chan delivery{}}

// do starts a call with start, which gets the call's id, and blocks until
// the glue settles it: only on a promise the caller's request started. The
// outcome's bytes are in the inbox, copied out before anything else runs.
func (p *pendingCalls) do(start func(id int32)) settled {
	done := make(chan delivery, 1)
	p.mu.Lock()
	p.last++
	id := p.last
	p.waiting[id] = done
	p.mu.Unlock()
	start(id)
	d := <-done
	return settled{status: d.status, a: append([]byte(nil), inbox[:d.aLen]...),
		b: append([]byte(nil), inbox[d.aLen:d.aLen+d.bLen]...)}
}

// settle hands d to the call waiting for it, from the export: no allocation,
// nothing that blocks. An outcome no call waits for is dropped.
func (p *pendingCalls) settle(d delivery) int32 {
	p.mu.Lock()
	done := p.waiting[d.id]
	delete(p.waiting, d.id)
	p.mu.Unlock()
	if done == nil {
		return 1
	}
	select {
	case done <- d: // buffered, and only one outcome per call
		return 1
	default:
		return 0
	}
}

func stringPtr(s string) (unsafe.Pointer, int32) {
	return unsafe.Pointer(unsafe.StringData(s)), int32(len(s))
}

func bytesPtr(b []byte) (unsafe.Pointer, int32) {
	return unsafe.Pointer(unsafe.SliceData(b)), int32(len(b))
}
