// Package kvstore is the seam between order intake and Workers KV: one small
// interface, the Workers KV adapter (workerskv.go, Wasm only) and an in-memory
// fake that refuses what the real KV refuses (fake.go).
package kvstore

import "context"

// Limits that Workers KV enforces, in production and in `wrangler dev` alike.
const (
	// MinTTLSeconds is the smallest expirationTtl KV accepts; below it a put
	// fails with "400 Invalid expiration_ttl".
	MinTTLSeconds = 60
	// MaxKeyBytes is the longest key KV accepts, in UTF-8 bytes.
	MaxKeyBytes = 512
)

// Store is the part of Workers KV that order intake uses.
type Store interface {
	// Get returns the value under key. found is false, with a nil error, when
	// the key does not exist or has expired.
	Get(ctx context.Context, key string) (value string, found bool, err error)
	// Put stores value under key; KV drops it ttlSeconds later.
	Put(ctx context.Context, key, value string, ttlSeconds int) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}
