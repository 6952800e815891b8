package isolate

import (
	"fmt"
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

// A rehearsal hands each round's requests over as the glue would, body and
// headers included, round after round; here each goes through answer, as
// serve runs it, and a panic ends only its own.
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
	round := func(n int) []*http.Request {
		key := fmt.Sprintf("k%d", n)
		post, _ := http.NewRequest(http.MethodPost, "https://warm.up/orders", strings.NewReader(`{"a":1}`))
		post.Header.Set("Idempotency-Key", key)
		panics, _ := http.NewRequest(http.MethodGet, "https://warm.up/panic", nil)
		health, _ := http.NewRequest(http.MethodGet, "https://warm.up/healthz", nil)
		return []*http.Request{post, panics, health}
	}
	var statuses []string
	rehearse(2, round, func(head string, body []byte) {
		defer func() { recover() }()
		head, _ = answer(h, head, body)
		statuses = append(statuses, strings.SplitN(head, "\n", 2)[0])
	})
	want := []string{`POST /orders k0 {"a":1}`, "GET /panic  ", "GET /healthz  ", `POST /orders k1 {"a":1}`, "GET /panic  ", "GET /healthz  "}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("the handler saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	if got := strings.Join(statuses, " "); got != "201 201 201 201" {
		t.Errorf("the answers' statuses were %s, want 201 for each request but the panics", got)
	}
}
