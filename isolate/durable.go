//go:build js && wasm

package isolate

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
	"unsafe"
)

//go:wasmimport isolate durable
func durableStart(call int32, binding unsafe.Pointer, bindingLen int32, name unsafe.Pointer, nameLen int32,
	method unsafe.Pointer, methodLen int32, arg unsafe.Pointer, argLen int32)

// ErrNoDurableObjects is OpenDurableObjects' error when the worker has no
// such binding.
var ErrNoDurableObjects = errors.New("no such Durable Object binding")

// DurableObjects is a namespace of the IdempotencyRecords Durable Object
// class (records.mjs) bound to the worker, called through the glue as KV is
// (kv.go): one call per method, its outcome delivered as the other events
// are (bridge.go), no syscall/js on the request path.
type DurableObjects struct {
	binding string
}

// OpenDurableObjects opens the namespace bound as binding
// ([[durable_objects.bindings]] in wrangler.toml).
func OpenDurableObjects(binding string) (*DurableObjects, error) {
	v := js.Global().Get("context").Get("env").Get(binding)
	if v.IsUndefined() || v.IsNull() {
		return nil, fmt.Errorf("%w: %s", ErrNoDurableObjects, binding)
	}
	if v.Get("idFromName").Type() != js.TypeFunction {
		return nil, fmt.Errorf("the binding %s is not a Durable Object namespace", binding)
	}
	return &DurableObjects{binding: binding}, nil
}

// Call calls method of the object named name with arg, JSON, and returns
// its reply, JSON. An object that throws, or cannot be reached, is an error.
func (d *DurableObjects) Call(_ context.Context, name, method string, arg []byte) ([]byte, error) {
	s := calls.do(func(id int32) {
		bindingPtr, bindingLen := stringPtr(d.binding)
		namePtr, nameLen := stringPtr(name)
		methodPtr, methodLen := stringPtr(method)
		argPtr, argLen := bytesPtr(arg)
		durableStart(id, bindingPtr, bindingLen, namePtr, nameLen, methodPtr, methodLen, argPtr, argLen)
	})
	if err := s.err(); err != nil {
		return nil, err
	}
	return s.a, nil
}
