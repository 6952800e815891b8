//go:build unix

package main

import (
	"testing"
	"time"
)

// The KV budget BENCHMARKS.md reports per path; the checks and the state machine of docs/contract.md fix it.
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

// What a new order costs in queue mode (BENCHMARKS.md: Queue mode).
func TestQueueOpsPerOrder(t *testing.T) {
	ops, err := queueOpsPerOrder()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]queueOpsRow{
		"KV intake (202)":                       {kvGet: 3, kvPut: 3, sends: 1},
		"KV GET while queued":                   {kvGet: 2},
		"KV consumer: placed":                   {kvGet: 3, kvPut: 2},
		"KV GET once placed":                    {kvGet: 1},
		"KV replay of the intake (202)":         {kvGet: 1},
		"KV consumer: a duplicate delivery":     {kvGet: 1},
		"strict intake (202)":                   {kvGet: 1, kvPut: 2, d1: 3, sends: 1},
		"strict consumer: placed":               {kvGet: 1, kvPut: 1, d1: 3},
		"strict replay of the intake (202)":     {kvGet: 1},
		"strict consumer: a duplicate delivery": {kvGet: 1},
	}
	for _, row := range ops.rows {
		w, ok := want[row.mode+" "+row.step]
		if !ok {
			continue
		}
		got := queueOpsRow{kvGet: row.kvGet, kvPut: row.kvPut, d1: row.d1, sends: row.sends}
		if got != w {
			t.Errorf("%s mode, %s: %+v, want %+v", row.mode, row.step, got, w)
		}
	}
	if len(ops.rows) != 12 {
		t.Errorf("%d rows, want 6 steps in 2 modes", len(ops.rows))
	}
}
