package isolate

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The recorder keeps the first status written, as net/http and
// httptest.ResponseRecorder do: a later WriteHeader, or one after the body
// began, does not change it.
func TestRecorderKeepsTheFirstStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write func(w http.ResponseWriter)
		want  int
	}{
		{"nothing written", func(http.ResponseWriter) {}, http.StatusOK},
		{"one status", func(w http.ResponseWriter) { w.WriteHeader(http.StatusCreated) }, http.StatusCreated},
		{"two statuses", func(w http.ResponseWriter) {
			w.WriteHeader(http.StatusConflict)
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusConflict},
		{"a status after the body", func(w http.ResponseWriter) {
			w.Write([]byte("{}"))
			w.WriteHeader(http.StatusInternalServerError)
		}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := &recorder{header: http.Header{}}
			tt.write(w)
			if got := w.status(); got != tt.want {
				t.Errorf("status %d, want %d", got, tt.want)
			}
		})
	}
}

// A rehearsal hands the handler each request as the glue would, body and
// headers included, and drops the answers; a panic ends only its own.
func TestRehearse(t *testing.T) {
	t.Parallel()
	var seen []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Idempotency-Key")+" "+string(body))
		if r.URL.Path == "/panic" {
			panic("in a rehearsal")
		}
		w.WriteHeader(http.StatusCreated)
	})
	post, _ := http.NewRequest(http.MethodPost, "https://warm.up/orders", strings.NewReader(`{"a":1}`))
	post.Header.Set("Idempotency-Key", "k")
	panics, _ := http.NewRequest(http.MethodGet, "https://warm.up/panic", nil)
	health, _ := http.NewRequest(http.MethodGet, "https://warm.up/healthz", nil)
	for _, r := range []*http.Request{post, panics, health} {
		rehearse(h, r)
	}
	want := []string{`POST /orders k {"a":1}`, "GET /panic  ", "GET /healthz  "}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("the handler saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
