package isolate

// workers are goroutines kept for the next event once they have served one.
// A new goroutine starts with a small stack that the handler grows, by
// copying, several times per request: in a profile, stack growth was a large
// share of the Go runtime's CPU.
var workers = &pool{jobs: make(chan func())}

type pool struct {
	jobs    chan func()
	started int // workers started; run is called from one goroutine
}

// run hands job to an idle worker, or starts a new one when all are busy.
func (p *pool) run(job func()) {
	select {
	case p.jobs <- job:
	default:
		p.started++
		go p.work(job)
	}
}

func (p *pool) work(job func()) {
	for {
		job()
		job = <-p.jobs
	}
}
