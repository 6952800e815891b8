package idempotency

import (
	"container/list"
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
	entries map[string]*list.Element
}

type cached struct {
	key    string
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
	return &ResultCache{size: size, order: list.New(), entries: make(map[string]*list.Element, size)}
}

// get returns the result cached under key while it lives at now, else nil.
func (c *ResultCache) get(key string, now time.Time) *Result {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	entry := e.Value.(*cached)
	if !now.Before(entry.result.ExpiresAt) {
		c.order.Remove(e)
		delete(c.entries, key)
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
	if e, ok := c.entries[key]; ok {
		e.Value.(*cached).result = r
		c.order.MoveToFront(e)
		return
	}
	c.entries[key] = c.order.PushFront(&cached{key: key, result: r})
	if c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.entries, oldest.Value.(*cached).key)
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
