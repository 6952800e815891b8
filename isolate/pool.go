package isolate

// A pool keeps goroutines for the next event once they have served one. A
// new goroutine starts with a small stack that the handler grows, by
// copying, several times per request: in a profile, stack growth was a large
// share of the Go runtime's CPU.
type pool[T any] struct {
	jobs chan T
	do   func(T)
}

func newPool[T any](do func(T)) *pool[T] {
	return &pool[T]{jobs: make(chan T), do: do}
}

// offer hands job to an idle worker, if there is one. It neither blocks nor
// allocates, so the bridge's export can call it.
func (p *pool[T]) offer(job T) bool {
	select {
	case p.jobs <- job:
		return true
	default:
		return false
	}
}

// start starts a worker with job.
func (p *pool[T]) start(job T) {
	go p.work(job)
}

// warm runs f on a new worker, which then waits for jobs as the others do:
// the first job it takes finds its stack grown by f. The worker lives as
// long as the runtime, so it lets go of f, and of what f holds, first.
func (p *pool[T]) warm(f func()) {
	go func() {
		f()
		f = nil
		p.work(<-p.jobs)
	}()
}

func (p *pool[T]) work(job T) {
	for {
		p.do(job)
		job = <-p.jobs
	}
}
