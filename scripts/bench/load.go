//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// request is one kind of request and the status every answer to it must have.
type request struct {
	method, path, body string
	// key gives the Idempotency-Key of the nth request; nil sends none.
	key  func(n int64) string
	want int
}

// stats is one measurement: a closed loop of conc clients for a fixed time.
type stats struct {
	n        int
	rps      float64
	p50, p99 time.Duration
	bad      int    // answers with another status, or transport errors
	firstBad string // one of them, for the error message
	// cpu is the CPU time workerd's threads spent per answer (all of the
	// instance's workerd processes: the worker's isolate, local KV, the
	// proxy in front), from /proc; 0 where /proc has no schedstat.
	cpu time.Duration
}

// seq numbers requests across all measurements, so keys made from it never repeat.
var seq atomic.Int64

// measure runs conc clients, each sending req again as soon as its previous
// answer has been read, for d.
func measure(ctx context.Context, client *http.Client, baseURL string, req request, conc int, d time.Duration) stats {
	var (
		mu        sync.Mutex
		latencies []time.Duration
		bad       int
		firstBad  string
		wg        sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				status, err := send(ctx, client, baseURL, req, seq.Add(1))
				lat := time.Since(t0)
				if err != nil || status != req.want {
					mu.Lock()
					if bad++; firstBad == "" {
						firstBad = fmt.Sprintf("status %d, want %d (%v)", status, req.want, err)
					}
					mu.Unlock()
					continue
				}
				mine = append(mine, lat)
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	return stats{
		n:        len(latencies),
		rps:      float64(len(latencies)) / elapsed.Seconds(),
		p50:      percentile(latencies, 0.50),
		p99:      percentile(latencies, 0.99),
		bad:      bad,
		firstBad: firstBad,
	}
}

func send(ctx context.Context, client *http.Client, baseURL string, req request, n int64) (int, error) {
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	r, err := http.NewRequestWithContext(ctx, req.method, baseURL+req.path, body)
	if err != nil {
		return 0, err
	}
	if req.body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if req.key != nil {
		r.Header.Set("Idempotency-Key", req.key(n))
	}
	resp, err := client.Do(r)
	if err != nil {
		return 0, err
	}
	// Read it all, so the connection is reused and the latency includes the body.
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// medianStats is the median of each figure over runs.
func medianStats(runs []stats) stats {
	var rps []float64
	var p50, p99, cpu []time.Duration
	var n []int
	for _, r := range runs {
		rps, p50, p99, n = append(rps, r.rps), append(p50, r.p50), append(p99, r.p99), append(n, r.n)
		cpu = append(cpu, r.cpu)
	}
	return stats{rps: median(rps), p50: median(p50), p99: median(p99), n: median(n), cpu: median(cpu)}
}

// percentile of sorted latencies, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// median of the values (the lower middle one for an even count); zero for
// none.
func median[T int | float64 | time.Duration](values []T) T {
	if len(values) == 0 {
		var zero T
		return zero
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}
