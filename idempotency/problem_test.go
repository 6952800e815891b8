package idempotency_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/orderintake/edge/idempotency"
)

// The package's own words are generic; an application's Problems give the
// type URIs and titles, the engine's codes keeping the engine's titles.
func TestProblemsSpeakTheApplicationsWords(t *testing.T) {
	t.Parallel()
	app := idempotency.Problems{TypeBase: "https://example.com/problems#", Titles: map[string]string{"out_of_stock": "Out of stock"}}
	tests := []struct {
		name        string
		problems    idempotency.Problems
		p           *idempotency.Problem
		typ, title  string
		wantHeaders map[string]string
	}{
		{"generic: about:blank, the status's text", idempotency.Problems{},
			&idempotency.Problem{Status: 409, Code: "in_progress", Detail: "Wait.", RetryAfter: 3},
			"about:blank", "Conflict", map[string]string{"Retry-After": "3"}},
		{"generic, whatever the code", idempotency.Problems{},
			&idempotency.Problem{Status: 422, Code: "out_of_stock", Detail: "None left."},
			"about:blank", "Unprocessable Entity", nil},
		{"the application's code and title", app,
			&idempotency.Problem{Status: 422, Code: "out_of_stock", Detail: "None left."},
			"https://example.com/problems#out_of_stock", "Out of stock", nil},
		{"the engine's code keeps the engine's title", app,
			&idempotency.Problem{Status: 422, Code: "idempotency_key_reused", Detail: "Used."},
			"https://example.com/problems#idempotency_key_reused", "Idempotency key reused", nil},
		{"a code nobody titled takes the status's text", app,
			&idempotency.Problem{Status: 402, Code: "pay_first", Detail: "Pay."},
			"https://example.com/problems#pay_first", "Payment Required", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp := tt.problems.Response(tt.p)
			var body struct{ Type, Title, Detail, Error, Message string }
			if err := json.Unmarshal(resp.Body, &body); err != nil {
				t.Fatal(err)
			}
			if body.Type != tt.typ || body.Title != tt.title || body.Error != tt.p.Code || body.Detail != tt.p.Detail || body.Message != tt.p.Detail {
				t.Errorf("got %s; want type %s, title %q", resp.Body, tt.typ, tt.title)
			}
			if resp.Status != tt.p.Status || resp.Header["Content-Type"] != idempotency.ProblemContentType {
				t.Errorf("status %d, header %v", resp.Status, resp.Header)
			}
			for name, value := range tt.wantHeaders {
				if resp.Header[name] != value {
					t.Errorf("%s = %q, want %q", name, resp.Header[name], value)
				}
			}
		})
	}
}

// The middleware answers in the Problems it is given.
func TestMiddlewareAnswersInTheApplicationsWords(t *testing.T) {
	t.Parallel()
	h := newHarness(t, idempotency.Options{Required: true, Problems: idempotency.Problems{TypeBase: "https://example.com/problems#"}})
	rec := h.deliver("", delivery)
	var body struct{ Type, Title string }
	json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusBadRequest || body.Type != "https://example.com/problems#missing_idempotency_key" || body.Title != "Idempotency key missing" {
		t.Errorf("got %d %s", rec.Code, rec.Body)
	}
}
