package main

import (
	"encoding/json"
	"io"
	"sync"
)

// lineWriter writes whole lines to w, one Write at a time: the intake's log
// lines and the server's own never interleave.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// serverLine is a log line of the server's own, beside the intake's:
// listening, cleanup, stopped.
type serverLine struct {
	Event     string `json:"event"`
	Addr      string `json:"addr,omitempty"`
	Store     string `json:"store,omitempty"`
	Deleted   *int   `json:"deleted,omitempty"`
	ElapsedMs *int64 `json:"elapsedMs,omitempty"`
	Error     string `json:"error,omitempty"`
}

// event logs line.
func (l *lineWriter) event(line serverLine) {
	b, _ := json.Marshal(line) // strings and numbers: cannot fail
	l.Write(append(b, '\n'))
}
