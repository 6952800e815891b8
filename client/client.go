// Package client submits orders to the order-intake worker and retries them
// safely (docs/contract.md#retrying). It is the other side of the wire: code that calls the
// worker uses it, the worker itself does not. In queue mode
// (docs/queue-mode.md), where Submit's receipt says "queued", Status reads what
// became of the order and Wait reads it until it is final.
//
// Submit sends one logical order under one Idempotency-Key, the same on every
// attempt, so a retry can never place the order twice: the worker answers a
// retry with the original receipt. The retry policy:
//
//   - Retried: a network error or timeout (no answer, or a success whose
//     body was cut off; but not a TLS certificate error), 409 in_progress,
//     429, 500 internal_error or a 500 that is not the API's (the platform's
//     own error page), 502, 503 and 504 (a proxy's gateway timeout).
//     Every other answer is final:
//     400, 401, 413, 415, 422 and every other 4xx, and the API's other 500s
//     (misconfigured, corrupt_record: asking again changes nothing).
//   - The wait before retry n (n = 1, 2, …) is drawn uniformly from
//     [0, min(MaxBackoff, BaseBackoff × 2^(n-1))] ("full jitter"): 250 ms,
//     500 ms, 1 s, 2 s, 4 s, 8 s, then 10 s at most.
//   - A Retry-After header (whole seconds or an HTTP date; for a body
//     without the header, the body's retryAfter member) that asks for longer
//     than that draw is honoured: the wait is then exactly Retry-After, which
//     may exceed MaxBackoff up to MaxRetryAfter (60 s). An answer that asks
//     for longer ends Submit at once with an error wrapping that answer's
//     *Error, whose RetryAfter says when the worker will take the retry:
//     Submit neither blocks for minutes nor retries earlier than asked.
//   - At most Client.MaxAttempts attempts (default 5), and never past the
//     context's deadline: when the next wait would end after the deadline,
//     Submit returns at once, without waiting, with an error that wraps both
//     context.DeadlineExceeded (errors.Is) and the last answer's *Error
//     (errors.As), when an attempt got one.
//
// Status's GET follows the same policy. Wait follows it too, taking a status
// that is not final yet as an answer to retry, with MaxPollInterval in place
// of MaxBackoff and no limit on attempts but the context's.
//
// Submit bounds each attempt only by the context and Client.HTTPClient (its
// Timeout); http.DefaultClient has none, so give the context a deadline.
//
// When Submit returns an error after the order may have reached the worker
// (a network error, a retried answer), the order may or may not be placed;
// submitting it again under the same key is safe and tells which. So for an
// order that must survive a crash or a deadline, make the key yourself
// (uuid.NewString), keep it with the order, and pass it to Submit.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/orderintake/edge/order"
)

// The retry policy's numbers (see the package documentation).
const (
	// DefaultMaxAttempts is how many attempts Submit makes when
	// Client.MaxAttempts is 0.
	DefaultMaxAttempts = 5
	// BaseBackoff bounds the first retry's jittered wait; each further
	// retry doubles the bound.
	BaseBackoff = 250 * time.Millisecond
	// MaxBackoff caps the bound of the jittered wait.
	MaxBackoff = 10 * time.Second
	// MaxRetryAfter is the longest Retry-After that Submit waits for; an
	// answer asking for longer is returned to the caller instead.
	MaxRetryAfter = 60 * time.Second
)

// maxBodyBytes bounds how much of an answer is read. A receipt or a problem
// details object is well under 1 KiB; a proxy's error page may be large and
// only its first bytes matter.
const maxBodyBytes = 64 << 10

// Client submits orders to one worker. Its zero value, with BaseURL set, is
// ready to use; it is safe for concurrent use once its fields are set.
type Client struct {
	BaseURL     string       // the worker's URL, e.g. https://order-intake.example.workers.dev
	Token       string       // bearer token when client scoping is on; empty: no Authorization header
	HTTPClient  *http.Client // nil: http.DefaultClient
	MaxAttempts int          // 0 (or less): DefaultMaxAttempts

	// Test seams; nil means the real thing.
	sleep  func(ctx context.Context, d time.Duration) error // waits d or until ctx is done
	now    func() time.Time
	jitter func(bound time.Duration) time.Duration // uniform in [0, bound]
}

// Submit posts o to BaseURL+"/orders" under key (empty: a new random UUID) and
// retries safely, as the package documentation describes. It returns the
// receipt of a 201 (placed), a 202 (queue mode: status "queued") or a 200 (a
// replay: the original receipt). Its error is the *Error of an answer that is
// final or the last of MaxAttempts; when Submit stops for another reason (the
// context, a Retry-After beyond MaxRetryAfter, attempts that all went without
// an answer) an error wrapping the last outcome, the last *Error and the
// context's error; or, before any attempt, what is wrong with the arguments.
func (c *Client) Submit(ctx context.Context, key string, o order.Order) (order.Receipt, error) {
	endpoint, err := c.endpoint()
	if err != nil {
		return order.Receipt{}, err
	}
	if key == "" {
		key = uuid.NewString()
	} else if err := checkKey(key); err != nil {
		return order.Receipt{}, err
	}
	body, err := json.Marshal(o)
	if err != nil {
		return order.Receipt{}, fmt.Errorf("client: encoding the order: %w", err)
	}
	var rc order.Receipt
	err = c.retry(ctx, c.callPolicy(), func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		return c.exchange(req, func(b []byte) (why string) {
			if rc, why = decodeReceipt(b); why != "" {
				why += "; the order may be placed: submitting it again under the same key returns its receipt"
			}
			return why
		}, http.StatusOK, http.StatusCreated, http.StatusAccepted)
	})
	if err != nil {
		return order.Receipt{}, err
	}
	return rc, nil
}

// retryPolicy bounds a retry loop: how many attempts, and how long its
// jittered waits may grow.
type retryPolicy struct {
	attempts   int           // at most this many; 0: until the context ends
	maxBackoff time.Duration // the cap of the jittered wait's bound
}

// callPolicy is Submit's and Status's: MaxAttempts attempts, waits up to
// MaxBackoff.
func (c *Client) callPolicy() retryPolicy {
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultMaxAttempts
	}
	return retryPolicy{attempts: attempts, maxBackoff: MaxBackoff}
}

// retry calls try until it returns nil or an outcome that is not retryable,
// waiting between attempts as the package documentation describes, within p
// and the context. Its error is as Submit's.
func (c *Client) retry(ctx context.Context, p retryPolicy, try func() error) error {
	// last is the last attempt's outcome (an *Error, a network error, or an
	// order still queued); answer is the last *Error, which may be older
	// than last.
	var last error
	var answer *Error
	stop := func(made int, ctxErr error, why string) error {
		return &stopError{attempts: made, why: why, last: last, answer: answer, ctx: ctxErr}
	}
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return stop(n-1, err, "the context ended before the next attempt")
		}
		err := try()
		if err == nil {
			return nil
		}
		last = err
		var e *Error
		var notFinal *notFinalError
		switch {
		case errors.As(err, &e):
			e.Attempts = n
			answer = e
		case errors.As(err, &notFinal):
			answer = nil // an answer newer than any *Error
		case ctx.Err() != nil:
			return stop(n, ctx.Err(), "the context ended during the attempt")
		}
		if !retryable(err) {
			return err
		}
		if p.attempts > 0 && n >= p.attempts {
			if e != nil {
				return e
			}
			return stop(n, nil, "no attempt left")
		}
		var retryAfter time.Duration
		if e != nil {
			retryAfter = e.RetryAfter
		}
		wait := max(c.backoff(n, p.maxBackoff), retryAfter)
		if deadline, ok := ctx.Deadline(); ok && c.clock().Add(wait).After(deadline) {
			return stop(n, context.DeadlineExceeded,
				fmt.Sprintf("the next attempt, in %v, would start after the context's deadline", wait.Round(time.Millisecond)))
		}
		if retryAfter > MaxRetryAfter {
			return stop(n, nil,
				fmt.Sprintf("the worker asks to retry in %v, longer than the %v the client waits", retryAfter, MaxRetryAfter))
		}
		if err := c.pause(ctx, wait); err != nil {
			return stop(n, err, "the context ended while waiting to retry")
		}
	}
}

// endpoint is BaseURL+"/orders", checked before anything is sent.
func (c *Client) endpoint() (string, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return "", fmt.Errorf("client: BaseURL: %w", err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("client: BaseURL %q is not an http:// or https:// URL", c.BaseURL)
	}
	return strings.TrimSuffix(c.BaseURL, "/") + "/orders", nil
}

// checkKey refuses a key that cannot be sent as a header value at all (the
// worker would refuse it too, docs/contract.md#checks-in-order): failing here is clearer than a
// transport error, and such an error must not be retried.
func checkKey(key string) error {
	if len(key) > 255 {
		return fmt.Errorf("client: the Idempotency-Key is %d characters long; at most 255 are allowed", len(key))
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return fmt.Errorf("client: the Idempotency-Key has a character outside visible ASCII at byte %d", i)
		}
	}
	return nil
}

// exchange makes one request with the client's Accept and Authorization
// headers and reads its answer. An answer whose status is one of ok goes to
// decode, which says what is wrong with a body it cannot read (an *Error
// then); any other answer is an *Error; no answer is the transport's error.
func (c *Client) exchange(req *http.Request, decode func(body []byte) (why string), ok ...int) error {
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes)) // lets the connection be reused
	if readErr != nil && resp.StatusCode/100 == 2 {
		// A success cut off is as good as no answer: asking again is
		// safe (a POST under the same key returns the receipt).
		return fmt.Errorf("client: reading the %d answer: %w", resp.StatusCode, readErr)
	}

	if slices.Contains(ok, resp.StatusCode) {
		if why := decode(b); why != "" {
			return &Error{Status: resp.StatusCode, Detail: why,
				contentType: resp.Header.Get("Content-Type"), body: snippet(b)}
		}
		return nil
	}
	e := decodeProblem(resp.StatusCode, resp.Header.Get("Content-Type"), b)
	e.RetryAfter = c.parseRetryAfter(resp.Header.Get("Retry-After"))
	if e.RetryAfter == 0 && e.bodyRetryAfter > 0 {
		e.RetryAfter = time.Duration(e.bodyRetryAfter) * time.Second
	}
	return e
}

// decodeJSON reads a success body into v, which what names for messages;
// why is what is wrong with it.
func decodeJSON(b []byte, v any, what string) (why string) {
	if len(b) > maxBodyBytes {
		return fmt.Sprintf("the answer is larger than %d bytes, not %s", maxBodyBytes, what)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return "the answer is not " + what + ": " + err.Error()
	}
	return ""
}

// decodeReceipt reads a success body; why is what is wrong with it.
func decodeReceipt(b []byte) (rc order.Receipt, why string) {
	if why := decodeJSON(b, &rc, "a receipt"); why != "" {
		return order.Receipt{}, why
	}
	if rc.OrderID == "" {
		return order.Receipt{}, "the answer is not a receipt: it has no orderId"
	}
	return rc, ""
}

// retryable says whether an attempt's failure may change on another attempt.
func retryable(err error) bool {
	var notFinal *notFinalError
	if errors.As(err, &notFinal) {
		return true
	}
	var e *Error
	if !errors.As(err, &e) {
		// No answer: a network error or a timeout, except the few that
		// cannot change.
		var certErr *tls.CertificateVerificationError
		var unknownAuthority x509.UnknownAuthorityError
		var hostname x509.HostnameError
		return !errors.As(err, &certErr) && !errors.As(err, &unknownAuthority) && !errors.As(err, &hostname)
	}
	switch e.Status {
	case http.StatusConflict:
		return e.Code == "in_progress"
	case http.StatusInternalServerError:
		// internal_error, or a 500 the worker did not write (the platform's
		// own page when a Go runtime died under the request): either may
		// go another way next time; misconfigured and corrupt_record cannot.
		return e.Code == "internal_error" || e.Code == ""
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is the jittered wait before retry n: uniform in
// [0, min(ceiling, BaseBackoff × 2^(n-1))].
func (c *Client) backoff(n int, ceiling time.Duration) time.Duration {
	bound := ceiling
	if n <= 16 { // beyond that the doubling passed any cap long ago
		bound = min(ceiling, BaseBackoff<<(n-1))
	}
	if c.jitter != nil {
		return c.jitter(bound)
	}
	return rand.N(bound + 1)
}

func (c *Client) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

func (c *Client) pause(ctx context.Context, d time.Duration) error {
	if c.sleep != nil {
		return c.sleep(ctx, d)
	}
	return sleep(ctx, d)
}

// sleep waits d or until ctx is done. A Go timer is fine here: this package
// runs in the worker's callers, never in the worker, where Go timers hang
// requests under workerd (docs/runtime.md). isolate/requestpath_test.go
// forbids them in every package the Wasm builds compile, so a worker that
// imported this package would fail make test.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// parseRetryAfter reads a Retry-After header: whole seconds or an HTTP
// date (RFC 9110 §10.2.3). Anything else, or a time already past, is 0.
func (c *Client) parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		return time.Duration(secs) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil {
		if d := at.Sub(c.clock()); d > 0 {
			return d
		}
	}
	return 0
}

// stopError is what Submit returns when it stops for a reason other than the
// last answer itself: the context ended, or would before the next attempt,
// or the worker asked for a wait longer than MaxRetryAfter. It wraps the last
// outcome, the last *Error (when older), and the context's error.
type stopError struct {
	attempts int
	why      string
	last     error  // the last attempt's outcome; nil if there was none
	answer   *Error // the last answer; nil if there was none
	ctx      error  // context.DeadlineExceeded or context.Canceled; nil if the context did not end
}

func (e *stopError) Error() string {
	msg := fmt.Sprintf("client: stopped after %d attempt(s): %s", e.attempts, e.why)
	if e.last != nil {
		msg += "; last outcome: " + e.last.Error()
	}
	if e.answer != nil && e.answer != e.last {
		msg += "; last answer: " + e.answer.Error()
	}
	return msg
}

func (e *stopError) Unwrap() []error {
	var errs []error
	if e.last != nil {
		errs = append(errs, e.last)
	}
	if e.answer != nil && e.answer != e.last {
		errs = append(errs, e.answer)
	}
	if e.ctx != nil {
		errs = append(errs, e.ctx)
	}
	return errs
}

// Error is an answer from the worker that the client may not retry or gave
// up on: a problem details object (docs/contract.md#routes), or, for an answer that is not
// one (a proxy's HTML error page, a success whose body is not a receipt),
// its status and what was wrong with it.
type Error struct {
	Status int    // HTTP status
	Code   string // the "error" member: in_progress, invalid_order, ...; "" when the answer had none
	Type   string // the problem type URI (docs/contract.md#routes), when sent
	Title  string // the problem's short title, when sent
	// Detail is the human sentence: the "detail" member, else the first
	// version's "message"; for an answer that is not problem details, what
	// was wrong with it.
	Detail string
	// Fields names every bad field of a 422 invalid_order, with what is
	// wrong with it.
	Fields map[string]string
	// Reason is the order gateway's reason for a 422 order_rejected.
	Reason string
	// RetryAfter is how long the worker asked the client to wait
	// (Retry-After, or the body's retryAfter); 0 when it did not ask.
	RetryAfter time.Duration
	// Attempts is how many requests the call (Submit, Status, Wait) made,
	// this answer's included.
	Attempts int

	bodyRetryAfter int64  // the body's retryAfter member, seconds
	contentType    string // for an answer that is not problem details
	body           string // its first characters, printable
}

// Error is one line: the status, the code, the detail, and the bad fields.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("order intake: ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	} else if text := http.StatusText(e.Status); text != "" {
		b.WriteString(" " + text)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.Detail != "" {
		b.WriteString(": " + oneLine(e.Detail))
	}
	if len(e.Fields) > 0 {
		names := make([]string, 0, len(e.Fields))
		for name := range e.Fields {
			names = append(names, name)
		}
		sort.Strings(names)
		for i, name := range names {
			sep := "; "
			if i == 0 {
				sep = " ["
			}
			b.WriteString(sep + oneLine(name) + ": " + oneLine(e.Fields[name]))
		}
		b.WriteString("]")
	}
	if e.Reason != "" {
		b.WriteString(" (reason: " + oneLine(e.Reason) + ")")
	}
	if e.contentType != "" || e.body != "" {
		fmt.Fprintf(&b, " (Content-Type %q, body %q)", e.contentType, e.body)
	}
	return b.String()
}

// decodeProblem reads an error answer. It never fails: a body that is not
// problem details gives an *Error naming the status and what came instead.
func decodeProblem(status int, contentType string, b []byte) *Error {
	e := &Error{Status: status}
	var members map[string]json.RawMessage
	if len(b) > maxBodyBytes || json.Unmarshal(b, &members) != nil || members == nil {
		media, _, _ := mime.ParseMediaType(contentType)
		what := "not JSON"
		if len(bytes.TrimSpace(b)) == 0 {
			what = "empty"
		} else if media != "" {
			what = "not JSON but " + media
		}
		e.Detail = "the answer is " + what + ", not the worker's problem details (a proxy or load balancer in between may have answered)"
		e.contentType, e.body = contentType, snippet(b)
		return e
	}
	str := func(name string) string {
		var s string
		json.Unmarshal(members[name], &s) // absent or not a string: ""
		return s
	}
	e.Code, e.Type, e.Title, e.Reason = str("error"), str("type"), str("title"), str("reason")
	e.Detail = str("detail")
	if e.Detail == "" {
		e.Detail = str("message")
	}
	var fields map[string]string
	if json.Unmarshal(members["fields"], &fields) == nil && len(fields) > 0 {
		e.Fields = fields
	}
	var secs json.Number
	if json.Unmarshal(members["retryAfter"], &secs) == nil {
		if n, err := secs.Int64(); err == nil && n > 0 {
			e.bodyRetryAfter = n
		}
	}
	if e.Code == "" && e.Type == "" && e.Title == "" && e.Detail == "" {
		e.Detail = "the answer is JSON but not the worker's problem details"
		e.contentType, e.body = contentType, snippet(b)
	}
	return e
}

// snippet is the start of a body, printable and on one line, for messages.
func snippet(b []byte) string {
	const max = 120
	s := oneLine(strings.ToValidUTF8(string(b[:min(len(b), 4*max)]), "?"))
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	return s
}

// oneLine replaces control characters and runs of white space with one space.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
}
