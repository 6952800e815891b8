package isolate

import (
	"runtime"
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
