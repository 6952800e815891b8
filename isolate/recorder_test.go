package isolate

import (
	"net/http"
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
