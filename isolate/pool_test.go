package isolate

import (
	"runtime"
	"sync"
	"testing"
)

// Events that come one after another are served by one goroutine; events in
// flight together each get one, and those goroutines serve the next events.
// One thread, as on js/wasm, where a worker is back waiting before the next
// event arrives.
func TestPoolReusesIdleGoroutines(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	p := newPool(func(job func()) { job() })
	for range 100 {
		done := make(chan struct{})
		p.run(func() { close(done) })
		<-done
		runtime.Gosched() // let the worker get back to waiting for a job
	}
	if n := p.started; n != 1 {
		t.Fatalf("100 events one after another left %d goroutines, want 1", n)
	}

	const inFlight = 10
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(inFlight)
	for range inFlight {
		p.run(func() { started.Done(); <-release })
	}
	started.Wait()
	close(release)
	runtime.Gosched()
	for range 50 {
		done := make(chan struct{})
		p.run(func() { close(done) })
		<-done
	}
	if n := p.started; n != inFlight {
		t.Errorf("after %d events in flight at once and 50 more, %d goroutines, want %d", inFlight, n, inFlight)
	}
}
