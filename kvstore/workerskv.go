//go:build js && wasm

package kvstore

import (
	"context"

	"github.com/orderintake/edge/isolate"
)

// WorkersKV is a Store backed by the Workers KV namespace bound to the worker,
// through the glue's own KV calls (isolate.KV).
type WorkersKV struct {
	ns *isolate.KV
}

// OpenWorkersKV opens the KV namespace bound under binding in wrangler.toml.
func OpenWorkersKV(binding string) (*WorkersKV, error) {
	ns, err := isolate.OpenKV(binding)
	if err != nil {
		return nil, err
	}
	return &WorkersKV{ns: ns}, nil
}

// Get reads key from the namespace.
func (s *WorkersKV) Get(_ context.Context, key string) (string, bool, error) {
	return s.ns.Get(key)
}

// Put writes key to the namespace with an expirationTtl of ttlSeconds.
func (s *WorkersKV) Put(_ context.Context, key, value string, ttlSeconds int) error {
	return s.ns.Put(key, value, ttlSeconds)
}

// Delete deletes key from the namespace.
func (s *WorkersKV) Delete(_ context.Context, key string) error {
	return s.ns.Delete(key)
}

// GetFirst reads both keys in one call through the glue (see GetFirst).
func (s *WorkersKV) GetFirst(_ context.Context, first, second string) (int, string, error) {
	return s.ns.Run(isolate.KVGet(first), isolate.KVGet(second))
}

// PutGet writes and reads back in one call through the glue (see PutGet).
func (s *WorkersKV) PutGet(_ context.Context, key, value string, ttlSeconds int) (string, bool, error) {
	i, readBack, err := s.ns.Run(isolate.KVPut(key, value, ttlSeconds), isolate.KVGet(key))
	return readBack, i == 1, err
}
