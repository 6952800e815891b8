// Package kvstore is the seam between the worker and Workers KV: the
// Namespace interface, which the glue's binding (isolate.KV) satisfies, and an
// in-memory fake that refuses what the real KV refuses (fake.go). It is pure
// Go and imports nothing of the platform.
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

// Namespace is the part of a Workers KV namespace that the worker uses.
type Namespace interface {
	// Get returns the value under key. found is false, with a nil error, when
	// the key does not exist or has expired.
	Get(ctx context.Context, key string) (value string, found bool, err error)
	// Put stores value under key; KV drops it ttlSeconds later.
	Put(ctx context.Context, key, value string, ttlSeconds int) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Two sequences of operations that a Namespace may run in one call, saving the
// round trip between them (isolate.KV does: each costs Go a turn through
// JavaScript and back). GetFirst and PutGet run them one by one on any other
// Namespace, so what is read and written, and in which order, is the same.

// FirstGetter reads first, and second only when first holds no value.
type FirstGetter interface {
	GetFirst(ctx context.Context, first, second string) (index int, value string, err error)
}

// PutGetter writes a key and then reads it back.
type PutGetter interface {
	PutGet(ctx context.Context, key, value string, ttlSeconds int) (readBack string, found bool, err error)
}

// GetFirst reads first and, when it holds no value, second; index is 0 or 1
// for the key whose value it returns, -1 when neither holds one.
func GetFirst(ctx context.Context, s Namespace, first, second string) (index int, value string, err error) {
	if f, ok := s.(FirstGetter); ok {
		return f.GetFirst(ctx, first, second)
	}
	for i, key := range []string{first, second} {
		v, found, err := s.Get(ctx, key)
		if err != nil {
			return -1, "", err
		}
		if found {
			return i, v, nil
		}
	}
	return -1, "", nil
}

// PutGet stores value under key and reads key back; a failed write is not
// read back.
func PutGet(ctx context.Context, s Namespace, key, value string, ttlSeconds int) (readBack string, found bool, err error) {
	if p, ok := s.(PutGetter); ok {
		return p.PutGet(ctx, key, value, ttlSeconds)
	}
	if err := s.Put(ctx, key, value, ttlSeconds); err != nil {
		return "", false, err
	}
	return s.Get(ctx, key)
}
