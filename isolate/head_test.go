package isolate

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestParseRequestHead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		head   string
		method string
		url    string
		header http.Header
	}{
		{"no headers", "GET\nhttp://w/healthz\n", "GET", "http://w/healthz", http.Header{}},
		{"names are canonical", "POST\nhttp://w/orders\nidempotency-key\nk-1\ncontent-type\napplication/json; charset=utf-8\n",
			"POST", "http://w/orders", http.Header{"Idempotency-Key": {"k-1"}, "Content-Type": {"application/json; charset=utf-8"}}},
		// Workers joins a header sent twice with ", "; splitting keeps it two values.
		{"joined values split at commas", "POST\nhttp://w/\nidempotency-key\na, b\n",
			"POST", "http://w/", http.Header{"Idempotency-Key": {"a", " b"}}},
		{"an empty value", "POST\nhttp://w/\nx-empty\n\n", "POST", "http://w/", http.Header{"X-Empty": {""}}},
		{"a name without its value line is dropped", "POST\nhttp://w/\nx-cut", "POST", "http://w/", http.Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method, url, header, err := parseRequestHead(tt.head)
			if err != nil || method != tt.method || url != tt.url || !reflect.DeepEqual(header, tt.header) {
				t.Errorf("parseRequestHead(%q) = %q, %q, %v, %v; want %q, %q, %v", tt.head, method, url, header, err, tt.method, tt.url, tt.header)
			}
		})
	}
	if _, _, _, err := parseRequestHead("GET"); err == nil {
		t.Error("a head without a URL line parsed")
	}
}

// A response head and a fetch request's head survive the trip through the
// glue's format unchanged.
func TestHeadsRoundTrip(t *testing.T) {
	t.Parallel()
	header := http.Header{
		"Content-Type":      {"application/json"},
		"Retry-After":       {"3"},
		"Idempotent-Replay": {"true"},
		"Set-Cookie":        {"a=1", "b=2"}, // a name with two values
	}
	status, text, got, err := parseResponseHead(responseHead(http.StatusConflict, header))
	if err != nil || status != http.StatusConflict || text != "Conflict" || !reflect.DeepEqual(got, header) {
		t.Errorf("response head came back as %d %q %v %v; want 409 Conflict %v", status, text, got, err, header)
	}
	method, url, got, err := parseRequestHead(requestHead("POST", "https://oms.example/orders", http.Header{"Idempotency-Key": {"id-1"}}))
	if err != nil || method != "POST" || url != "https://oms.example/orders" || !reflect.DeepEqual(got, http.Header{"Idempotency-Key": {"id-1"}}) {
		t.Errorf("request head came back as %q %q %v %v", method, url, got, err)
	}
	if _, _, _, err := parseResponseHead("two hundred\nOK\n"); err == nil {
		t.Error("a status that is not a number parsed")
	}
}

func FuzzParseRequestHead(f *testing.F) {
	f.Add("POST\nhttp://w/orders\nidempotency-key\nk\ncontent-type\napplication/json\n")
	f.Add("GET\n\n\n\n,,,\n")
	f.Fuzz(func(t *testing.T, head string) {
		method, url, header, err := parseRequestHead(head)
		if err != nil {
			return
		}
		if strings.Contains(method+url, "\n") {
			t.Errorf("method %q or URL %q holds a newline", method, url)
		}
		for name, values := range header {
			for _, v := range values {
				if strings.ContainsAny(name+v, "\n") || strings.Contains(v, ",") {
					t.Errorf("header %q: %q holds a newline or a comma", name, v)
				}
			}
		}
	})
}
