package isolate

import (
	"bytes"
	"net/http"
)

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
