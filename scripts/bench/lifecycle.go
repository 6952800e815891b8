//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/orderintake/edge/scripts/internal/devserver"
)

// wranglerReloaded is what wrangler dev prints once it runs a changed worker
// in a new isolate.
const wranglerReloaded = "Local server updated and ready"

// coldSample is one fresh isolate's first answer: its wall time, and the
// CPU it took in workerd, on the thread that runs the isolate (the main
// thread of the workerd process wrangler started for the reload) and on
// workerd's other threads (V8's background compilation and GC, the proxy in
// front); and reload, the CPU that main thread spent from its start until
// just before the request: workerd's own start and the worker's module
// scope, where the worker's Go runtime now starts.
type coldSample struct{ wall, isolate, others, reload time.Duration }

// coldSettle is how long a cold start waits after wrangler's reload before
// the first request, so that the reload's own work is over.
const coldSettle = 1500 * time.Millisecond

// coldFirsts are the first requests a fresh isolate is timed on; a new
// order's key is one no request has used.
var coldFirsts = []struct {
	name string
	req  request
}{
	{"GET /healthz", request{method: "GET", path: "/healthz", want: 200}},
	{"POST /orders, a new order", request{method: "POST", path: "/orders", body: validOrder, key: freshKey("cold"), want: 201}},
}

// coldStarts times the first answer of a fresh isolate to first n times:
// wrangler dev starts a new isolate when the worker's module changes, so
// each sample appends a comment to the instance's worker.mjs, waits until
// wrangler says it reloaded and coldSettle more, and times first, the
// isolate's first event, in wall time and in workerd's CPU time (per thread,
// from /proc/<pid>/task/<tid>/schedstat). healthStatus is what the instance
// answers GET /healthz with.
func coldStarts(ctx context.Context, s *devserver.Server, first request, healthStatus, n int) ([]coldSample, error) {
	glue := filepath.Join(filepath.Dir(s.StateDir()), "worker.mjs")
	client := &http.Client{Timeout: 30 * time.Second} // a new connection, as a first visitor has
	defer client.CloseIdleConnections()
	if first.path == "/healthz" {
		first.want = healthStatus
	}
	var samples []coldSample
	for i := range n {
		reloads := strings.Count(s.Log(), wranglerReloaded)
		old := workerdThreadCPU(s.PID())
		f, err := os.OpenFile(glue, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(f, "\n// cold start %d\n", i)
		f.Close()
		for deadline := time.Now().Add(60 * time.Second); strings.Count(s.Log(), wranglerReloaded) == reloads; {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return nil, fmt.Errorf("wrangler did not reload the worker within 60 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(coldSettle)
		before := workerdThreadCPU(s.PID())
		start := time.Now()
		status, err := send(ctx, client, s.URL, first, seq.Add(1))
		if err != nil || status != first.want {
			return nil, fmt.Errorf("first %s %s: %d, want %d (%v)", first.method, first.path, status, first.want, err)
		}
		c := coldSample{wall: time.Since(start)}
		time.Sleep(300 * time.Millisecond) // for the answer's last work to be counted
		for t, after := range workerdThreadCPU(s.PID()) {
			_, existed := old[t]
			if !existed && t.pid == t.tid {
				c.isolate += after - before[t]
				c.reload += before[t]
			} else {
				c.others += after - before[t]
			}
		}
		samples = append(samples, c)
		client.CloseIdleConnections()
	}
	return samples, nil
}

// thread is one thread of a process.
type thread struct{ pid, tid int }

// workerdThreadCPU is the CPU time of every thread of the workerd processes
// in wrangler's process group pgid.
func workerdThreadCPU(pgid int) map[thread]time.Duration {
	out := map[thread]time.Duration{}
	for _, pid := range workerdPIDs(pgid) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/[0-9]*/schedstat", pid))
		for _, task := range tasks {
			b, err := os.ReadFile(task)
			fields := strings.Fields(string(b))
			if err != nil || len(fields) == 0 {
				continue
			}
			ns, _ := strconv.ParseInt(fields[0], 10, 64) // time on the CPU, in ns
			tid, _ := strconv.Atoi(filepath.Base(filepath.Dir(task)))
			out[thread{pid, tid}] = time.Duration(ns)
		}
	}
	return out
}

// workerdCPU is the CPU time of all the workerd threads in wrangler's
// process group pgid.
func workerdCPU(pgid int) time.Duration {
	var sum time.Duration
	for _, d := range workerdThreadCPU(pgid) {
		sum += d
	}
	return sum
}

// soakResult is what a soak saw: the answers, and memory every 10,000
// requests.
type soakResult struct {
	requests int
	elapsed  time.Duration
	statuses map[int]int
	rss      []rssSample        // workerd's resident memory, every 10,000 answers
	glue     []runtimeStatsLine // the glue's own line, every 10,000 events
}

type rssSample struct {
	requests int
	bytes    int64
}

// soakMix is the soak's request mix: the contract's four paths in turn.
var soakMix = []request{paths[0].req, paths[1].req, paths[2].req, paths[3].req}

// soak sends n requests of soakMix from conc clients to s. Every answer
// must have its path's status; every 10,000 answers it samples workerd's
// resident memory, and it reads the Wasm memory the glue logs every 10,000
// events.
func soak(ctx context.Context, client *http.Client, s *devserver.Server, n, conc int) (*soakResult, error) {
	res := &soakResult{statuses: map[int]int{}}
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		wg         sync.WaitGroup
		firstBad   string
	)
	logBefore := len(s.Log())
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				req := soakMix[int(i)%len(soakMix)]
				status, err := send(ctx, client, s.URL, req, seq.Add(1))
				mu.Lock()
				res.statuses[status]++
				if (err != nil || status != req.want) && firstBad == "" {
					firstBad = fmt.Sprintf("request %d: status %d, want %d (%v)", i, status, req.want, err)
				}
				mu.Unlock()
				if d := done.Add(1); d%10_000 == 0 {
					b, _ := workerdRSS(s.PID())
					mu.Lock()
					res.rss = append(res.rss, rssSample{requests: int(d), bytes: b})
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	res.elapsed, res.requests = time.Since(start), int(done.Load())
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.glue = runtimeStats(s.Log()[logBefore:])
	if firstBad != "" {
		return res, fmt.Errorf("%v; first: %s", res.statuses, firstBad)
	}
	return res, nil
}

// runtimeStatsLine is the glue's runtime_stats log line.
type runtimeStatsLine struct {
	Event           string `json:"event"`
	Runtime         int    `json:"runtime"`
	RuntimesStarted int    `json:"runtimesStarted"`
	EventsServed    int    `json:"eventsServed"`
	WasmMemoryBytes int64  `json:"wasmMemoryBytes"`
}

func runtimeStats(log string) []runtimeStatsLine {
	var lines []runtimeStatsLine
	for line := range strings.Lines(log) {
		var l runtimeStatsLine
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &l) == nil && l.Event == "runtime_stats" {
			lines = append(lines, l)
		}
	}
	return lines
}

// workerdPIDs are the workerd processes in wrangler's process group pgid,
// oldest first.
func workerdPIDs(pgid int) []int {
	var pids []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, stat := range stats {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces, so split after ')'.
		open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(string(b[closing+1:]))
		if string(b[open+1:closing]) != "workerd" || len(fields) < 3 || fields[2] != strconv.Itoa(pgid) {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(stat)))
		pids = append(pids, pid)
	}
	slices.Sort(pids)
	return pids
}

// workerdRSS is the resident memory of the workerd processes in wrangler's
// process group pgid (wrangler dev runs two), summed.
func workerdRSS(pgid int) (int64, error) {
	var total int64
	pids := workerdPIDs(pgid)
	for _, pid := range pids {
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return 0, err
		}
		for line := range strings.Lines(string(status)) {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err != nil {
					return 0, err
				}
				total += kb << 10
			}
		}
	}
	if len(pids) == 0 {
		return 0, fmt.Errorf("no workerd in process group %d", pgid)
	}
	return total, nil
}
