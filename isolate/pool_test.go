package isolate

import (
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Events that come one after another are served by one goroutine; events in
// flight together each get one, and those goroutines serve the next events.
// One thread, as on js/wasm, where a worker is back waiting before the next
// event arrives. Events are handed over as the bridge does: offered to an
// idle worker, else given to a new one.
func TestPoolReusesIdleGoroutines(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := newPool(func(job func()) { job() })
	started := 0
	run := func(job func()) {
		if !p.offer(job) {
			started++
			p.start(job)
		}
	}
	for range 100 {
		done := make(chan struct{})
		run(func() { close(done) })
		<-done
		runtime.Gosched() // let the worker get back to waiting for a job
	}
	if started != 1 {
		t.Fatalf("100 events one after another started %d goroutines, want 1", started)
	}

	const inFlight = 10
	release := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(inFlight)
	for range inFlight {
		run(func() { wg.Done(); <-release })
	}
	wg.Wait()
	close(release)
	runtime.Gosched()
	for range 50 {
		done := make(chan struct{})
		run(func() { close(done) })
		<-done
	}
	if started != inFlight {
		t.Errorf("after %d events in flight at once and 50 more, %d goroutines started, want %d", inFlight, started, inFlight)
	}
}

// A worker warmed with a function serves the next job once the function
// returns: no new goroutine is needed for it.
func TestPoolWarmWorkerTakesTheNextJob(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var ran []string
	done := make(chan struct{})
	p := newPool(func(job string) { ran = append(ran, job); close(done) })
	p.warm(func() { ran = append(ran, "warm-up") })
	offered := false
	for range 100 { // until the worker is back waiting for a job
		if offered = p.offer("first"); offered {
			break
		}
		runtime.Gosched()
	}
	if !offered {
		t.Fatal("no worker was idle after the warm-up")
	}
	<-done
	if got := strings.Join(ran, " "); got != "warm-up first" {
		t.Errorf("ran %q, want the warm-up, then the first job", got)
	}
}

// A warmed worker keeps nothing of its warm-up once it returns: it waits for
// jobs for the life of the runtime, and what the warm-up used (main.go's
// rehearsal handler and the records it wrote) must not live as long.
func TestPoolWarmWorkerDropsTheWarmUp(t *testing.T) {
	p := newPool(func(string) {})
	collected, warmed := make(chan struct{}), make(chan struct{})
	p.warm(warmUpHolding(collected, warmed))
	<-warmed
	for range 100 {
		runtime.GC()
		select {
		case <-collected:
			return
		default:
			runtime.Gosched()
		}
	}
	t.Fatal("what the warm-up function held was still reachable after it returned")
}

// warmUpHolding returns a warm-up that holds memory whose collection closes
// collected, and closes warmed when it has run.
func warmUpHolding(collected, warmed chan struct{}) func() {
	held := new([1 << 16]byte)
	runtime.SetFinalizer(held, func(*[1 << 16]byte) { close(collected) })
	return func() { held[0] = 1; close(warmed) }
}
