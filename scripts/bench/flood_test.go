package main

import (
	"fmt"
	"strings"
	"testing"
)

// What a hash flood of the result cache could cost at most (docs/adr/0008):
// the cache is a Go map keyed by Idempotency-Key and holds at most
// RESULT_CACHE_ENTRIES keys (1,000 by default, 5,000 at most). Were every
// key's hash to collide, a lookup would compare the key with each of them,
// which BenchmarkFloodBound does (a scan of n keys of 255 characters,
// differing only in their last one), beside the map lookup of the same key
// among n keys whose hashes do not collide. The other map keyed by client
// input is an order body's member names (order.ParseOrder), one map per
// request: a 16 KiB body holds at most some 2,300 members ("ab":0,), and
// were all their hashes to collide, each insertion would compare the name
// with every one before it. Run it on Wasm too:
//
//	GOOS=js GOARCH=wasm PATH="$(go env GOROOT)/lib/wasm:$PATH" go test -run '^$' -bench FloodBound ./scripts/bench/
func BenchmarkFloodBound(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		keys := make([]string, n)
		m := make(map[string]int, n)
		prefix := strings.Repeat("k", 250)
		for i := range keys {
			keys[i] = fmt.Sprintf("%s%05d", prefix, i)
			m[keys[i]] = i
		}
		missing := prefix + "zzzzz" // compared with every key: the worst case
		b.Run(fmt.Sprintf("map lookup, %d keys", n), func(b *testing.B) {
			for b.Loop() {
				if _, ok := m[missing]; ok {
					b.Fatal("found")
				}
			}
		})
		b.Run(fmt.Sprintf("every hash colliding, %d keys", n), func(b *testing.B) {
			for b.Loop() {
				for _, k := range keys {
					if k == missing {
						b.Fatal("found")
					}
				}
			}
		})
	}
	const members = 16 << 10 / len(`"ab":0,`)
	names := make([]string, members)
	for i := range names {
		names[i] = fmt.Sprintf("%x", i)
	}
	b.Run(fmt.Sprintf("a body's %d member names, map", members), func(b *testing.B) {
		for b.Loop() {
			m := map[string]bool{}
			for _, name := range names {
				m[name] = true
			}
		}
	})
	b.Run(fmt.Sprintf("a body's %d member names, every hash colliding", members), func(b *testing.B) {
		for b.Loop() {
			for i, name := range names {
				for _, before := range names[:i] {
					if before == name {
						b.Fatal("a repeated name")
					}
				}
			}
		}
	})
}
