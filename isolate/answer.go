package isolate

import (
	"bytes"
	"io"
	"net/http"
)

// answer runs h on the request the glue handed over as head and body and
// returns the response's head and its recorder.
func answer(h http.Handler, head string, body []byte) (string, *recorder) {
	method, url, header, err := parseRequestHead(head)
	if err != nil {
		panic(err)
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header = header
	w := &recorder{header: http.Header{}}
	h.ServeHTTP(w, req)
	return responseHead(w.status(), w.header), w
}

// rehearse hands serve, round after round, each request that requests
// returns for that round, as the head and body the glue hands over. A request
// whose body cannot be read is handed over with what was read of it. As the
// bridge hands each event to a worker, another goroutine hands each request
// over a channel to the one that serves it, so the rehearsal runs the
// scheduler's part of an event too.
func rehearse(rounds int, requests func(round int) []*http.Request, serve func(head string, body []byte)) {
	type request struct {
		head string
		body []byte
	}
	handed := make(chan request)
	go func() {
		defer close(handed)
		for round := range rounds {
			for _, r := range requests(round) {
				var body []byte
				if r.Body != nil {
					body, _ = io.ReadAll(r.Body)
				}
				handed <- request{requestHead(r.Method, r.URL.String(), r.Header), body}
			}
		}
	}()
	for r := range handed {
		serve(r.head, r.body)
	}
}

// recorder keeps the handler's answer until it is complete: the worker's
// responses are small JSON bodies, sent whole. As with net/http, the first
// status written is the response's: a later WriteHeader, or one after the
// body began (which implies 200), changes nothing.
type recorder struct {
	header http.Header
	code   int // 0 until the status is written
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.code == 0 {
		w.code = status
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// status is the response's status: 200 when the handler wrote none.
func (w *recorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
