//go:build js && wasm

package kvstore

import (
	"context"

	"github.com/syumai/workers/cloudflare/kv"
)

// syumai's GetString turns JavaScript's null (a missing key) into this string
// and reports no error. Every value order intake stores is a JSON object, so a
// real value can never be this string.
const missingValue = "<null>"

// WorkersKV is a Store backed by the Workers KV namespace bound to the worker.
type WorkersKV struct {
	ns *kv.Namespace
}

// OpenWorkersKV opens the KV namespace bound under binding in wrangler.toml.
func OpenWorkersKV(binding string) (*WorkersKV, error) {
	ns, err := kv.NewNamespace(binding)
	if err != nil {
		return nil, err
	}
	return &WorkersKV{ns: ns}, nil
}

// Get reads key from the namespace.
func (s *WorkersKV) Get(_ context.Context, key string) (string, bool, error) {
	v, err := s.ns.GetString(key, nil)
	if err != nil {
		return "", false, err
	}
	if v == missingValue {
		return "", false, nil
	}
	return v, true, nil
}

// Put writes key to the namespace with an expirationTtl of ttlSeconds.
func (s *WorkersKV) Put(_ context.Context, key, value string, ttlSeconds int) error {
	return s.ns.PutString(key, value, &kv.PutOptions{ExpirationTTL: ttlSeconds})
}

// Delete deletes key from the namespace.
func (s *WorkersKV) Delete(_ context.Context, key string) error {
	return s.ns.Delete(key)
}
