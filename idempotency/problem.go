package idempotency

import (
	"net/http"
	"strconv"

	"github.com/orderintake/edge/internal/jsontext"
)

// ProblemContentType is the media type of a problem details body (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an error answered as RFC 9457 problem details. Besides the
// standard members it carries "error" (the code) and "message" (the detail
// again), which clients written before problem details switch on.
type Problem struct {
	// Status is the HTTP status.
	Status int
	// Code is stable API, such as "in_progress": the "error" member, and the
	// last part of the type URI.
	Code string
	// Detail is one human sentence about this occurrence.
	Detail string
	// Fields names each bad field of a request with what is wrong with it.
	Fields map[string]string
	// RetryAfter, when positive, is sent as the Retry-After header and the
	// retryAfter member: whole seconds until a retry can succeed.
	RetryAfter int
	// Reason is a downstream system's own words for a refusal.
	Reason string
	// Header holds further headers of the answer, such as WWW-Authenticate.
	Header map[string]string
}

// titles are the titles of the codes this package answers with, in any
// application whose Problems give its codes a type URI.
var titles = map[string]string{
	"missing_idempotency_key": "Idempotency key missing",
	"invalid_idempotency_key": "Idempotency key invalid",
	"unreadable_body":         "Request body unreadable",
	"payload_too_large":       "Request body too large",
	"in_progress":             "Request in progress",
	"idempotency_key_reused":  "Idempotency key reused",
	"storage_unavailable":     "Storage unavailable",
	"corrupt_record":          "Stored record corrupt",
	"invalid_request":         "Invalid request",
}

// Error returns the detail.
func (p *Problem) Error() string { return p.Detail }

// Problems says how an application's problems read: where their codes are
// documented, and their titles. The zero value is RFC 9457's generic form:
// every type is about:blank and every title its status's text, the code
// being in the "error" member.
type Problems struct {
	// TypeBase starts every problem's type URI, the code following it, so
	// that each code has one stable URI, documented at that address
	// ("https://example.com/problems#"); "" means about:blank.
	TypeBase string
	// Titles are the titles of the application's own codes, the same for
	// every occurrence of a code. A code not listed takes this package's
	// title for its own codes, else its status's text. Used only with a
	// TypeBase: an about:blank problem's title is its status's text.
	Titles map[string]string
}

// Type returns the type URI of code.
func (ps Problems) Type(code string) string {
	if ps.TypeBase == "" {
		return "about:blank"
	}
	return ps.TypeBase + code
}

// Title returns the title of p's code.
func (ps Problems) Title(p *Problem) string {
	if ps.TypeBase != "" {
		if title, ok := ps.Titles[p.Code]; ok {
			return title
		}
		if title, ok := titles[p.Code]; ok {
			return title
		}
	}
	return http.StatusText(p.Status)
}

// problemBody is the JSON form, members in this order.
type problemBody struct {
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Status     int               `json:"status"`
	Detail     string            `json:"detail"`
	Error      string            `json:"error"`
	Message    string            `json:"message"`
	Fields     map[string]string `json:"fields,omitempty"`
	RetryAfter int               `json:"retryAfter,omitempty"`
	Reason     string            `json:"reason,omitempty"`
}

// Response returns p as an answer in the application's words: its body,
// Content-Type application/problem+json, Retry-After and the extra headers.
func (ps Problems) Response(p *Problem) Response {
	body, _ := jsontext.Marshal(problemBody{ // strings, numbers and a string map: cannot fail
		Type: ps.Type(p.Code), Title: ps.Title(p), Status: p.Status, Detail: p.Detail,
		Error: p.Code, Message: p.Detail, Fields: p.Fields, RetryAfter: p.RetryAfter, Reason: p.Reason,
	})
	header := map[string]string{"Content-Type": ProblemContentType}
	if p.RetryAfter > 0 {
		header["Retry-After"] = strconv.Itoa(p.RetryAfter)
	}
	for name, value := range p.Header {
		header[name] = value
	}
	return Response{Status: p.Status, Header: header, Body: body}
}

// Write answers w with the response: its headers, Cache-Control: no-store,
// a Content-Length, the status and the body.
func (r Response) Write(w http.ResponseWriter) {
	h := w.Header()
	for name, value := range r.Header {
		h.Set(name, value)
	}
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(r.Body)))
	w.WriteHeader(r.Status)
	w.Write(r.Body)
}
