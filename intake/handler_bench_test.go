package intake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	idemkv "github.com/orderintake/edge/idempotency/kv"
	"github.com/orderintake/edge/order"
)

// Benchmarks of the whole handler, natively, over an in-memory KV: a proxy
// for the Go work of one request on the worker (BENCHMARKS.md), to profile
// with go test -run '^$' -bench Handler -cpuprofile cpu.out ./order.

// mapKV is the least a kvstore.Namespace can be, so that the profile shows the
// handler rather than a fake's bookkeeping. It ignores TTLs.
type mapKV struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *mapKV) Get(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}

func (s *mapKV) Put(_ context.Context, key, value string, _ int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = value
	return nil
}

func (s *mapKV) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// benchHandler is the handler as main.go wires it (default settings, the
// cache of cacheEntries results), over a mapKV.
func benchHandler(b *testing.B, cacheEntries int) *Service {
	settings, err := ParseSettings(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	settings.ResultCacheEntries = cacheEntries
	return New(Config{Store: idemkv.Store{KV: &mapKV{m: map[string]string{}}},
		Placer: order.MintReceipt{Now: time.Now}, Settings: settings, Log: io.Discard})
}

var benchBody = []byte(`{"symbol":"MSFT","side":"buy","quantity":100}`)

// benchResponse is what isolate's recorder is: the answer kept whole.
type benchResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *benchResponse) Header() http.Header         { return w.header }
func (w *benchResponse) WriteHeader(status int)      { w.status = status }
func (w *benchResponse) Write(b []byte) (int, error) { return w.body.Write(b) }

// serveBench sends one intake request the way isolate.serve builds it.
func serveBench(b *testing.B, h *Service, key string, want int) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://127.0.0.1:8787/orders", bytes.NewReader(benchBody))
	if err != nil {
		b.Fatal(err)
	}
	req.Header = http.Header{"Idempotency-Key": {key}, "Content-Type": {"application/json"},
		"Content-Length": {"45"}, "Host": {"127.0.0.1:8787"}, "User-Agent": {"Go-http-client/1.1"}, "Accept-Encoding": {"gzip"}}
	w := &benchResponse{header: http.Header{}, status: http.StatusOK}
	h.ServeHTTP(w, req)
	if w.status != want {
		b.Fatalf("%s: %d %s, want %d", key, w.status, w.body.String(), want)
	}
}

// A replay the cache answers.
func BenchmarkHandlerReplayCached(b *testing.B) {
	h := benchHandler(b, 1000)
	serveBench(b, h, "bench-replay", http.StatusCreated)
	b.ReportAllocs()
	for b.Loop() {
		serveBench(b, h, "bench-replay", http.StatusOK)
	}
}

// A replay the cache misses: 3000 keys in a cycle through a cache of 1000.
func BenchmarkHandlerReplayMiss(b *testing.B) { benchReplayCycle(b, 1000) }

func BenchmarkHandlerNewOrder(b *testing.B) {
	h := benchHandler(b, 1000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		serveBench(b, h, fmt.Sprintf("bench-new-%d", i), http.StatusCreated)
		i++
	}
}

// The same without the cache: what the cache costs a replay it cannot answer.
func BenchmarkHandlerReplayNoCache(b *testing.B) { benchReplayCycle(b, 0) }

// benchReplayCycle replays 3000 placed keys in a cycle on a handler whose
// cache holds cacheEntries results.
func benchReplayCycle(b *testing.B, cacheEntries int) {
	h := benchHandler(b, cacheEntries)
	keys := make([]string, 3000)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench-many-%d", i)
		serveBench(b, h, keys[i], http.StatusCreated)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		serveBench(b, h, keys[i%len(keys)], http.StatusOK)
		i++
	}
}
