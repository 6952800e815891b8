package idempotency

import (
	"container/list"
	"crypto/rand"
	"crypto/sha256"
	"maps"
	"sync"
	"time"
)

// ResultCache keeps recently read or written results in memory, so that a
// retry of a completed call is answered without reading the store: a result
// does not change until it expires (docs/adr: the local result cache). It
// holds at most its size in entries, dropping the least recently used first;
// an entry is served only until its result's ExpiresAt, never after, and a
// result without one (written before results carried it) is not kept. Claims
// are never kept: a claim can be released, and its key must then be free at
// once. A nil *ResultCache is a cache that is off. It is safe for concurrent
// use.
type ResultCache struct {
	mu      sync.Mutex
	size    int
	order   *list.List // of *cached, most recently used first
	entries map[slot]*list.Element
	salt    []byte // drawn on first use (slotOf)
}

// slot is what the cache's map is keyed by: the first half of SHA-256 of
// the cache's salt and a key. Clients choose the keys, and a Go map's hash
// seed is only as secret as the runtime's start, which at module scope
// draws it from Math.random: under a salt of its own, no client can choose
// keys whose hashes collide in the map (docs/adr/0008-a-runtime-seed-at-module-scope.md).
type slot [sha256.Size / 2]byte

type cached struct {
	key    string
	slot   slot
	result *Result
}

// NewResultCache returns a cache of at most size entries, or nil (off) when
// size is not positive. Size it to the memory of the process it lives in:
// BenchmarkCacheEntryMemory measures an entry (BENCHMARKS.md, "what one cache
// entry costs").
func NewResultCache(size int) *ResultCache {
	if size <= 0 {
		return nil
	}
	return &ResultCache{size: size, order: list.New(), entries: make(map[slot]*list.Element, size)}
}

// slotOf is key's slot. The salt is drawn from crypto/rand on the first
// call, in an event, never while the runtime starts. c.mu is held.
func (c *ResultCache) slotOf(key string) slot {
	if c.salt == nil {
		c.salt = make([]byte, 16)
		rand.Read(c.salt)
	}
	sum := sha256.Sum256(append(c.salt[:len(c.salt):len(c.salt)], key...))
	return slot(sum[:len(slot{})])
}

// get returns the result cached under key while it lives at now, else nil.
func (c *ResultCache) get(key string, now time.Time) *Result {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slotOf(key)
	e, ok := c.entries[s]
	if !ok || e.Value.(*cached).key != key {
		return nil
	}
	entry := e.Value.(*cached)
	if !now.Before(entry.result.ExpiresAt) {
		c.order.Remove(e)
		delete(c.entries, s)
		return nil
	}
	c.order.MoveToFront(e)
	return entry.result
}

// put keeps a copy of r under key, unless r has no expiry: the caller's
// header map stays the caller's.
func (c *ResultCache) put(key string, r *Result) {
	if c == nil || r.ExpiresAt.IsZero() {
		return
	}
	kept := *r
	kept.Header = maps.Clone(r.Header)
	r = &kept
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.slotOf(key)
	if e, ok := c.entries[s]; ok {
		*e.Value.(*cached) = cached{key: key, slot: s, result: r}
		c.order.MoveToFront(e)
		return
	}
	c.entries[s] = c.order.PushFront(&cached{key: key, slot: s, result: r})
	if c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cached).slot)
	}
}

// Len returns how many entries the cache holds, expired ones not yet dropped
// included.
func (c *ResultCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
