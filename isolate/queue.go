//go:build js && wasm

package isolate

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
)

// ErrNoQueue is OpenQueue's error when the worker has no such binding.
var ErrNoQueue = errors.New("no such queue binding")

// Queue is a Workers Queue producer binding ([[queues.producers]] in
// wrangler.toml), called through the glue (bridge.go) as KV is.
type Queue struct {
	binding string
}

// OpenQueue opens the producer bound as binding.
func OpenQueue(binding string) (*Queue, error) {
	v := js.Global().Get("context").Get("env").Get(binding)
	if v.IsUndefined() || v.IsNull() {
		return nil, fmt.Errorf("%w: %s", ErrNoQueue, binding)
	}
	if v.Get("send").Type() != js.TypeFunction {
		return nil, fmt.Errorf("the binding %s is not a queue", binding)
	}
	return &Queue{binding: binding}, nil
}

// Send sends body, which must be JSON, as one message of content type json
// (readable in the dashboard, and delivered to a consumer as the object it
// encodes). It returns once the queue has written the message: the promise
// of send() is the event's own, as the request-path rule asks.
func (q *Queue) Send(_ context.Context, body []byte) error {
	return calls.do(func(id int32) {
		bindingPtr, bindingLen := stringPtr(q.binding)
		bodyPtr, bodyLen := bytesPtr(body)
		queueSendStart(id, bindingPtr, bindingLen, bodyPtr, bodyLen)
	}).err()
}
