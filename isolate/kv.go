//go:build js && wasm

package isolate

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"syscall/js"
)

// KV is a Workers KV namespace bound to the worker, called through the glue:
// one JavaScript call per Run, its outcome delivered as the other events are
// (bridge.go). syumai's cloudflare/kv makes an options object, a promise
// chain and two Go callbacks per operation, and leaks one of the callbacks.
// It is a kvstore.Namespace (and the kvstore.FirstGetter and
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

// KVOp is one operation of KV's own API (get, put, delete), for Run.
type KVOp struct {
	name       string // as the glue knows it: "get", "put" or "delete"
	key, value string
	ttlSeconds int
}

// KVGet reads key.
func KVGet(key string) KVOp { return KVOp{name: "get", key: key} }

// KVPut stores value under key, to expire ttlSeconds later.
func KVPut(key, value string, ttlSeconds int) KVOp {
	return KVOp{name: "put", key: key, value: value, ttlSeconds: ttlSeconds}
}

// KVDelete removes key.
func KVDelete(key string) KVOp { return KVOp{name: "delete", key: key} }

// Run runs ops one after another in one call through the glue, which saves
// Go a turn through JavaScript and back for each operation after the first,
// and stops at the first get that finds a value: found is that get's index
// in ops and value its value, or found is -1 when no get found one. A
// failed operation ends the run with its error; the ones after it do not run.
func (kv *KV) Run(ops ...KVOp) (found int, value string, err error) {
	if len(ops) == 0 {
		return -1, "", nil
	}
	// The ops as lines ("get <key bytes>", "put <key bytes> <value bytes>
	// <ttl>", "delete <key bytes>"), their keys and values one after another.
	var head strings.Builder
	data := ops[0].key + ops[0].value // no copy for a lone get or delete
	for i, op := range ops {
		if i > 0 {
			head.WriteByte('\n')
			data += op.key + op.value
		}
		head.WriteString(op.name + " " + strconv.Itoa(len(op.key)))
		if op.name == "put" {
			head.WriteString(" " + strconv.Itoa(len(op.value)) + " " + strconv.Itoa(op.ttlSeconds))
		}
	}
	s := calls.do(func(id int32) {
		bindingPtr, bindingLen := stringPtr(kv.binding)
		headPtr, headLen := stringPtr(head.String())
		dataPtr, dataLen := stringPtr(data)
		kvStart(id, bindingPtr, bindingLen, headPtr, headLen, dataPtr, dataLen)
	})
	if err := s.err(); err != nil {
		return -1, "", err
	}
	return int(s.status) - 1, string(s.a), nil
}

// Get returns the text stored under key; found is false for a missing key.
func (kv *KV) Get(_ context.Context, key string) (value string, found bool, err error) {
	i, value, err := kv.Run(KVGet(key))
	return value, i == 0, err
}

// Put stores value under key, to expire ttlSeconds later.
func (kv *KV) Put(_ context.Context, key, value string, ttlSeconds int) error {
	_, _, err := kv.Run(KVPut(key, value, ttlSeconds))
	return err
}

// Delete removes key.
func (kv *KV) Delete(_ context.Context, key string) error {
	_, _, err := kv.Run(KVDelete(key))
	return err
}

// GetFirst reads first and, only when it holds no value, second, in one
// call; index is 0 or 1 for the key whose value it returns, -1 for neither.
func (kv *KV) GetFirst(_ context.Context, first, second string) (index int, value string, err error) {
	return kv.Run(KVGet(first), KVGet(second))
}

// PutGet stores value under key and then reads key back, in one call.
func (kv *KV) PutGet(_ context.Context, key, value string, ttlSeconds int) (readBack string, found bool, err error) {
	i, readBack, err := kv.Run(KVPut(key, value, ttlSeconds), KVGet(key))
	return readBack, i == 1, err
}
