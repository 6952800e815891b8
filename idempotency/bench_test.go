package idempotency

import "testing"

// Benchmarks of the engine's pure-Go steps, natively (BENCHMARKS.md):
// go test -run '^$' -bench . -benchmem ./idempotency

func BenchmarkIdempotencyKey(b *testing.B) {
	values := []string{"bench-9b2f3c1e-5d6a-4e7f-8a9b-0c1d2e3f4a5b"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseKey("Idempotency-Key", values); err != nil {
			b.Fatal(err)
		}
	}
}
