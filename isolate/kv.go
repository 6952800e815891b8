//go:build js && wasm

package isolate

import (
	"context"
	"errors"
	"syscall/js"
)

// The operations of KV, as the glue's kv import numbers them.
const (
	kvGet      = 1
	kvPut      = 2
	kvDelete   = 3
	kvGetFirst = 4 // get the key; if it holds nothing, get the value's key
	kvPutGet   = 5 // put, then get the same key
)

// KV is a Workers KV namespace bound to the worker, called through the glue:
// one JavaScript call per operation, its outcome delivered as the other
// events are (bridge.go). syumai's cloudflare/kv makes an options object, a
// promise chain and two Go callbacks per operation, and leaks one of the
// callbacks. It is a kvstore.Namespace (and the kvstore.FirstGetter and
// kvstore.PutGetter that save a round trip); the context is not used, as the
// platform's own call cannot be cancelled.
type KV struct {
	binding string
}

// OpenKV returns the KV namespace bound under binding, or an error when the
// worker has no such binding.
func OpenKV(binding string) (*KV, error) {
	if js.Global().Get("context").Get("env").Get(binding).IsUndefined() {
		return nil, errors.New(binding + " is undefined")
	}
	return &KV{binding: binding}, nil
}

// Get returns the text stored under key; found is false for a missing key.
func (kv *KV) Get(_ context.Context, key string) (value string, found bool, err error) {
	s := kv.call(kvGet, key, "", 0)
	if err := s.err(); err != nil {
		return "", false, err
	}
	return string(s.a), s.status == 1, nil
}

// Put stores value under key, to expire ttlSeconds later.
func (kv *KV) Put(_ context.Context, key, value string, ttlSeconds int) error {
	return kv.call(kvPut, key, value, ttlSeconds).err()
}

// GetFirst reads first and, only when it holds no value, second, in one
// call; index is 0 or 1 for the key whose value it returns, -1 for neither.
func (kv *KV) GetFirst(_ context.Context, first, second string) (index int, value string, err error) {
	s := kv.call(kvGetFirst, first, second, 0)
	if err := s.err(); err != nil {
		return -1, "", err
	}
	return int(s.status) - 1, string(s.a), nil
}

// PutGet stores value under key and then reads key back, in one call.
func (kv *KV) PutGet(_ context.Context, key, value string, ttlSeconds int) (readBack string, found bool, err error) {
	s := kv.call(kvPutGet, key, value, ttlSeconds)
	if err := s.err(); err != nil {
		return "", false, err
	}
	return string(s.a), s.status == 1, nil
}

// Delete removes key.
func (kv *KV) Delete(_ context.Context, key string) error {
	return kv.call(kvDelete, key, "", 0).err()
}

func (kv *KV) call(op int32, key, value string, ttlSeconds int) settled {
	return calls.do(func(id int32) {
		bindingPtr, bindingLen := stringPtr(kv.binding)
		keyPtr, keyLen := stringPtr(key)
		valuePtr, valueLen := stringPtr(value)
		kvStart(id, op, bindingPtr, bindingLen, keyPtr, keyLen, valuePtr, valueLen, int32(ttlSeconds))
	})
}
