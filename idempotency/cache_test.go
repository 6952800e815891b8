package idempotency

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/orderintake/edge/kvstore"
)

// countingStore is a Store in a map that counts Lookups.
type countingStore struct {
	results map[string]*Result
	claims  map[string]*Claim
	lookups int
}

func newCountingStore() *countingStore {
	return &countingStore{results: map[string]*Result{}, claims: map[string]*Claim{}}
}

func (s *countingStore) Lookup(_ context.Context, key string) (*Result, *Claim, error) {
	s.lookups++
	if r := s.results[key]; r != nil {
		return r, nil, nil
	}
	return nil, s.claims[key], nil
}

func (s *countingStore) Claim(_ context.Context, key string, c Claim) (bool, *Claim, error) {
	if s.results[key] != nil || (s.claims[key] != nil && c.ClaimedAt.Before(s.claims[key].LeaseUntil)) {
		return false, s.claims[key], nil
	}
	s.claims[key] = &c
	return true, &c, nil
}

func (s *countingStore) Complete(_ context.Context, key string, c Claim, r Result) error {
	delete(s.claims, key)
	s.results[key] = &r
	return nil
}

func (s *countingStore) Release(_ context.Context, key string, c Claim) error {
	delete(s.claims, key)
	return nil
}

func TestCacheAnswersReplaysUntilTheResultExpires(t *testing.T) {
	t.Parallel()
	clock := kvstore.NewClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	store := newCountingStore()
	e := &Engine{Store: store, Now: clock.Now, Retention: time.Hour, Cache: NewResultCache(10)}
	runs := 0
	fn := func(context.Context) (Response, error) {
		runs++
		return Response{Status: 201, Body: []byte(fmt.Sprint(runs))}, nil
	}
	call := Call{Key: "k", Fingerprint: "f"}
	if out := e.Do(context.Background(), call, fn); out.Kind != Executed {
		t.Fatalf("first: %v", out.Kind)
	}
	lookups := store.lookups
	for range 3 {
		if out := e.Do(context.Background(), call, fn); out.Kind != Replayed || string(out.Response.Body) != "1" {
			t.Fatalf("replay: %v %s", out.Kind, out.Response.Body)
		}
	}
	if store.lookups != lookups {
		t.Errorf("three replays read the store %d times, want 0: the result written was cached", store.lookups-lookups)
	}
	if out := e.Do(context.Background(), Call{Key: "k", Fingerprint: "other"}, fn); out.Kind != KeyReused || store.lookups != lookups {
		t.Errorf("another fingerprint: %v after %d lookups, want KeyReused from the cache", out.Kind, store.lookups-lookups)
	}

	// At the record's expiry the entry is no longer served: the store is
	// asked (here it still has the record: a store may keep it longer).
	clock.Advance(time.Hour - time.Nanosecond)
	e.Do(context.Background(), call, fn)
	if store.lookups != lookups {
		t.Error("the store was read before the entry expired")
	}
	clock.Advance(time.Nanosecond)
	e.Do(context.Background(), call, fn)
	if store.lookups != lookups+1 {
		t.Error("an entry was served at its record's expiry")
	}
	// Once the store has dropped it too, the call runs anew.
	delete(store.results, call.RecordKey())
	if out := e.Do(context.Background(), call, fn); out.Kind != Executed || runs != 2 {
		t.Errorf("after expiry: %v, runs %d; want a new execution", out.Kind, runs)
	}
}

func TestCacheNeverKeepsClaims(t *testing.T) {
	t.Parallel()
	clock := kvstore.NewClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	store := newCountingStore()
	e := &Engine{Store: store, Now: clock.Now, Cache: NewResultCache(10)}
	call := Call{Key: "k", Fingerprint: "f"}
	// A retryable outcome releases the claim: the next call runs at once.
	for i, want := range []Kind{Executed, Executed} {
		out := e.Do(context.Background(), call, func(context.Context) (Response, error) {
			return Response{Status: 503}, fmt.Errorf("downstream down (%d)", i)
		})
		if out.Kind != want || out.Final {
			t.Fatalf("call %d: %v final=%v", i, out.Kind, out.Final)
		}
	}
	if e.Cache.Len() != 0 {
		t.Errorf("the cache holds %d entries after two released claims", e.Cache.Len())
	}
	// A live claim is read from the store every time.
	store.claims[call.RecordKey()] = &Claim{Fingerprint: "f", ClaimedAt: clock.Now(), LeaseUntil: clock.Now().Add(time.Minute)}
	before := store.lookups
	for range 2 {
		if out := e.Do(context.Background(), call, nil); out.Kind != InFlight {
			t.Fatalf("during a claim: %v", out.Kind)
		}
	}
	if store.lookups-before != 2 || e.Cache.Len() != 0 {
		t.Errorf("a claim was cached: %d lookups for 2 calls, %d entries", store.lookups-before, e.Cache.Len())
	}
}

func TestCacheDropsTheLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c := NewResultCache(2)
	r := func(fp string) *Result { return &Result{Fingerprint: fp, ExpiresAt: now.Add(time.Hour)} }
	c.put("a", r("a"))
	c.put("b", r("b"))
	c.get("a", now) // a is now the most recently used
	c.put("c", r("c"))
	if c.get("b", now) != nil || c.get("a", now) == nil || c.get("c", now) == nil || c.Len() != 2 {
		t.Errorf("after a, b, use of a, c: b should be gone and a, c kept (len %d)", c.Len())
	}
	c.put("old", &Result{Fingerprint: "v1"}) // no expiry: written before results carried one
	if c.get("old", now) != nil {
		t.Error("a result without an expiry was cached")
	}
	if NewResultCache(0) != nil || NewResultCache(0).get("a", now) != nil || NewResultCache(0).Len() != 0 {
		t.Error("a cache of size 0 is not off")
	}
}

// BenchmarkCacheEntryMemory reports the heap one entry of a receipt-sized
// result costs, in bytes per entry (BENCHMARKS.md: the local result cache).
func BenchmarkCacheEntryMemory(b *testing.B) {
	const entries = 10000
	body := `{"orderId":"7224ca73-2aa5-5bc6-9194-b07395500fa7","status":"accepted","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day","acceptedAt":"2026-11-23T14:30:50.123Z"}`
	now := time.Now()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := NewResultCache(entries)
		for i := range entries {
			key := fmt.Sprintf("acme:e2e-%036d", i)
			c.put(key, &Result{Fingerprint: fmt.Sprintf("%064x", i), Status: 201,
				Header: map[string]string{"Content-Type": "application/json"}, Body: string([]byte(body)),
				CompletedAt: now, ExpiresAt: now.Add(time.Hour)})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/entries, "B/entry")
		runtime.KeepAlive(c)
	}
}

// The cache's map is keyed under a salt of each cache's own, so that the
// keys that collide in one cache's map are not known in advance.
func TestResultCacheSaltsItsKeys(t *testing.T) {
	t.Parallel()
	a, b := NewResultCache(1), NewResultCache(1)
	first := a.slotOf("key")
	if a.slotOf("key") != first {
		t.Error("one cache gave one key two slots")
	}
	if b.slotOf("key") == first {
		t.Error("two caches gave one key the same slot: the salt is not theirs")
	}
}
