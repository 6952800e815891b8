//go:build unix

package main

import (
	"testing"
	"time"
)

// The KV budget BENCHMARKS.md reports per path; SPEC §2 and §3 fix it.
func TestKVOpsPerPath(t *testing.T) {
	got, err := kvOpsPerPath()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]kvCount{"replay": {1, 0, 0}, "new": {3, 2, 0}, "409": {2, 0, 0}, "422": {0, 0, 0}}
	for path, w := range want {
		if got[path] != w {
			t.Errorf("%s: %+v KV operations, want %+v", path, got[path], w)
		}
	}
}

func TestPercentileAndMedian(t *testing.T) {
	var sorted []time.Duration
	for i := range 100 {
		sorted = append(sorted, time.Duration(i+1)*time.Millisecond)
	}
	if p := percentile(sorted, 0.50); p != 50*time.Millisecond {
		t.Errorf("p50 of 1..100 ms = %v, want 50ms", p)
	}
	if p := percentile(sorted, 0.99); p != 99*time.Millisecond {
		t.Errorf("p99 of 1..100 ms = %v, want 99ms", p)
	}
	if p := percentile(sorted[:1], 0.99); p != time.Millisecond {
		t.Errorf("p99 of one sample = %v, want it", p)
	}
	if m := median([]int{5, 1, 3, 2}); m != 2 {
		t.Errorf("median = %d, want 2 (the lower middle)", m)
	}
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median = %v, want 2", m)
	}
}
