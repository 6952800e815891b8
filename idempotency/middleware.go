package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"
)

// Options configure Middleware. The zero value works: POST and PATCH under
// an optional Idempotency-Key, fingerprinted by method, path and body.
type Options struct {
	// Methods are the methods the middleware applies to; others pass through
	// untouched. nil means POST and PATCH.
	Methods []string
	// KeyHeader is the name of the key's header; "" means Idempotency-Key.
	KeyHeader string
	// Required refuses a request without a key (400 missing_idempotency_key);
	// otherwise it passes through without idempotency.
	Required bool
	// ValidateKey, when set, adds a rule to the key rules of ParseKey (a
	// UUID, say); its error refuses the request (400 invalid_idempotency_key).
	ValidateKey func(key string) error
	// Skip, when set, passes the requests it picks through untouched.
	Skip func(r *http.Request) bool
	// Scope returns who is calling (a client id: a scope holds no ':' or
	// space); nil means everyone shares one scope.
	Scope func(r *http.Request) string
	// Operation names what the request does; nil means its method and path
	// ("POST /webhooks"). See Call.RecordKey.
	Operation func(r *http.Request) string
	// CheckHeaders, when set, runs after the key is parsed and before the
	// body is read (a Content-Type check, say); its error refuses the request
	// before any storage is touched.
	CheckHeaders func(r *http.Request) error
	// MaxBodyBytes bounds the body; a larger one is refused with 413
	// payload_too_large. 0 means 1 MiB.
	MaxBodyBytes int64
	// Fingerprint identifies what the request asks for. It may also validate
	// the body: its error refuses the request before any storage is touched.
	// nil means DefaultFingerprint.
	Fingerprint func(r *http.Request, body []byte) (string, error)
	// Final reports whether an answer of the handler with this status is
	// final (stored and replayed) or retryable (the key is released); nil
	// means FinalStatus. A handler may decide for one answer with SetFinal.
	Final func(status int) bool
	// ReplayHeader marks a replayed answer with the value "true"; "" means
	// Idempotent-Replay.
	ReplayHeader string
	// StoredHeaders are the handler's response headers kept for replays;
	// nil means Content-Type and Location. Set-Cookie is never kept.
	StoredHeaders []string
	// ReplayStatus, when set, maps a stored status to the one replayed (a
	// 201 Created replayed as 200, say: nothing is created again); nil keeps
	// it.
	ReplayStatus func(stored int) int
	// OnReplay and OnConflict, when set, see a replay, and an answer of 409
	// in_progress or 422 idempotency_key_reused, before it is written.
	OnReplay, OnConflict func(r *http.Request, o Outcome)
	// Problems render the middleware's refusals in the application's words
	// (its problem type URIs and titles); the zero value is generic.
	Problems Problems
}

// Middleware puts e in front of handlers: each request it applies to runs the
// handler at most once per key, and every retry gets the first final answer.
// The handler finds its call with CallFrom.
//
// It does not recover a panic of the handler: the panic goes on to the
// caller, whose own recover answers. The claim is neither released nor
// completed, since the handler may have done its work: it holds the key
// until its lease ends.
func Middleware(e *Engine, opts Options) func(http.Handler) http.Handler {
	if opts.Methods == nil {
		opts.Methods = []string{http.MethodPost, http.MethodPatch}
	}
	if opts.KeyHeader == "" {
		opts.KeyHeader = "Idempotency-Key"
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.Fingerprint == nil {
		opts.Fingerprint = DefaultFingerprint
	}
	if opts.Final == nil {
		opts.Final = FinalStatus
	}
	if opts.ReplayHeader == "" {
		opts.ReplayHeader = "Idempotent-Replay"
	}
	if opts.StoredHeaders == nil {
		opts.StoredHeaders = []string{"Content-Type", "Location"}
	}
	opts.StoredHeaders = slices.DeleteFunc(slices.Clone(opts.StoredHeaders), func(name string) bool {
		return http.CanonicalHeaderKey(name) == "Set-Cookie"
	})
	return func(next http.Handler) http.Handler { return &handler{engine: e, next: next, opts: opts} }
}

// handler is the middleware around one http.Handler.
type handler struct {
	engine *Engine
	next   http.Handler
	opts   Options
}

// ServeHTTP answers r: through the handler once per key, else from the
// records.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !slices.Contains(h.opts.Methods, r.Method) || (h.opts.Skip != nil && h.opts.Skip(r)) {
		h.next.ServeHTTP(w, r)
		return
	}
	call, body, problem := h.admit(r)
	if errors.Is(problem, ErrKeyMissing) && !h.opts.Required {
		h.next.ServeHTTP(w, r)
		return
	}
	if problem != nil {
		h.opts.Problems.Response(asProblem(problem)).Write(w)
		return
	}

	var rec *recorder // the handler's answer, with every header it set
	out := h.engine.Do(r.Context(), call, func(ctx context.Context) (Response, error) {
		rec = &recorder{header: http.Header{}}
		req := r.WithContext(context.WithValue(ctx, callKey{}, call))
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		h.next.ServeHTTP(rec, req)
		rec.WriteHeader(http.StatusOK) // a handler that never wrote answered 200
		if _, set := rec.header["Content-Type"]; !set && rec.body.Len() > 0 {
			// What net/http sends for a body without one, so that the
			// live answer and its replays say the same.
			rec.header.Set("Content-Type", http.DetectContentType(rec.body.Bytes()))
		}
		resp := Response{Status: rec.status, Header: map[string]string{}, Body: rec.body.Bytes()}
		for _, name := range h.opts.StoredHeaders {
			if value := rec.header.Get(name); value != "" {
				resp.Header[http.CanonicalHeaderKey(name)] = value
			}
		}
		final := h.opts.Final(rec.status)
		if rec.final != nil {
			final = *rec.final
		}
		if !final {
			return resp, errRetryable{status: rec.status}
		}
		return resp, nil
	})

	switch out.Kind {
	case Executed:
		for name, values := range rec.header {
			w.Header()[name] = values
		}
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
		return
	case Replayed:
		if h.opts.ReplayStatus != nil {
			out.Response.Status = h.opts.ReplayStatus(out.Response.Status)
		}
		if h.opts.OnReplay != nil {
			h.opts.OnReplay(r, out)
		}
		w.Header().Set(h.opts.ReplayHeader, "true")
	case InFlight, KeyReused:
		out.Response = h.opts.Problems.Response(out.Problem(h.opts.KeyHeader, h.engine.now()))
		if h.opts.OnConflict != nil {
			h.opts.OnConflict(r, out)
		}
	case StorageFailed:
		out.Response = h.opts.Problems.Response(out.Problem(h.opts.KeyHeader, h.engine.now()))
	}
	out.Response.Write(w)
}

// admit runs the checks that need no storage, in order: the key, the
// headers, the body's size, the fingerprint. Its error refuses the request.
func (h *handler) admit(r *http.Request) (Call, []byte, error) {
	key, err := ParseKey(h.opts.KeyHeader, r.Header.Values(h.opts.KeyHeader))
	if err == nil && h.opts.ValidateKey != nil {
		err = h.opts.ValidateKey(key)
	}
	if err != nil {
		return Call{}, nil, fmt.Errorf("%w: %w", err, KeyProblem(h.opts.KeyHeader, err))
	}
	call := Call{Key: key}
	if h.opts.Scope != nil {
		call.Scope = h.opts.Scope(r)
	}
	call.Operation = r.Method + " " + r.URL.Path
	if h.opts.Operation != nil {
		call.Operation = h.opts.Operation(r)
	}
	if h.opts.CheckHeaders != nil {
		if err := h.opts.CheckHeaders(r); err != nil {
			return call, nil, err
		}
	}
	body, err := ReadBody(r, h.opts.MaxBodyBytes)
	if err != nil {
		return call, nil, err
	}
	call.Fingerprint, err = h.opts.Fingerprint(r, body)
	return call, body, err
}

// KeyProblem is the refusal of a request whose key, sent in the header
// named header, ParseKey (or an application's own rule) refused with err:
// 400 missing_idempotency_key or invalid_idempotency_key.
func KeyProblem(header string, err error) *Problem {
	if errors.Is(err, ErrKeyMissing) {
		return &Problem{Status: http.StatusBadRequest, Code: "missing_idempotency_key",
			Detail: fmt.Sprintf("The %s header is required: send a new unique key (a UUID, say) with each request and the same key on its retries.", header)}
	}
	return &Problem{Status: http.StatusBadRequest, Code: "invalid_idempotency_key", Detail: err.Error() + "."}
}

// ErrUnreadableBody is in the chain of ReadBody's error for a body that
// could not be read (a connection that broke, say).
var ErrUnreadableBody = errors.New("the request body could not be read")

// ReadBody reads r's body, refusing one larger than limit bytes (413
// payload_too_large) or one that cannot be read (400 unreadable_body,
// wrapping ErrUnreadableBody); its error is then a *Problem. Only limit+1
// bytes are read, whatever the body's size.
func ReadBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnreadableBody, &Problem{Status: http.StatusBadRequest, Code: "unreadable_body",
			Detail: "The request body could not be read."})
	}
	if int64(len(body)) > limit {
		return nil, &Problem{Status: http.StatusRequestEntityTooLarge, Code: "payload_too_large",
			Detail: fmt.Sprintf("The request body is larger than %d bytes.", limit)}
	}
	return body, nil
}

// Problem is the answer to an outcome that another call's record, or the
// records' failure, decided: 422 idempotency_key_reused (KeyReused), 409
// in_progress with Retry-After until the lease ends, counted from now
// (InFlight), or StorageProblem (StorageFailed); nil for the others.
// keyHeader names the key's header in the detail.
func (o Outcome) Problem(keyHeader string, now time.Time) *Problem {
	switch o.Kind {
	case KeyReused:
		return &Problem{Status: http.StatusUnprocessableEntity, Code: "idempotency_key_reused",
			Detail: fmt.Sprintf("This %s was already used for a different request; use a new key for a new request.", keyHeader)}
	case InFlight:
		wait := o.RetryAfter(now)
		return &Problem{Status: http.StatusConflict, Code: "in_progress", RetryAfter: wait,
			Detail: fmt.Sprintf("A request with this %s is in progress; retry in %d s to get its answer.", keyHeader, wait)}
	case StorageFailed:
		return StorageProblem(o.Err)
	}
	return nil
}

// StorageProblem is the answer to a failure of the records: 500
// corrupt_record for a record that cannot be decoded, else 503
// storage_unavailable with Retry-After: 1.
func StorageProblem(err error) *Problem {
	if errors.Is(err, ErrCorruptRecord) {
		return &Problem{Status: http.StatusInternalServerError, Code: "corrupt_record",
			Detail: "The stored record for this idempotency key cannot be read; nothing was done. Contact the operator."}
	}
	return &Problem{Status: http.StatusServiceUnavailable, Code: "storage_unavailable", RetryAfter: 1,
		Detail: "Storage is unavailable; nothing was done. Retry with the same idempotency key."}
}

// asProblem returns the *Problem in err's chain, or a 400 invalid_request
// carrying err's text.
func asProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return &Problem{Status: http.StatusBadRequest, Code: "invalid_request", Detail: err.Error()}
}

// DefaultFingerprint is the hex SHA-256 of the method, the path and the body.
func DefaultFingerprint(r *http.Request, body []byte) (string, error) {
	h := sha256.New()
	io.WriteString(h, r.Method+"\n"+r.URL.Path+"\n")
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// FinalStatus is the default rule for which answers are final: every 2xx,
// and every 4xx but 408, 409, 425 and 429, which say "try again". No 5xx is
// final: the next retry runs the handler again.
func FinalStatus(status int) bool {
	switch {
	case status >= 200 && status < 300:
		return true
	case status == http.StatusRequestTimeout, status == http.StatusConflict,
		status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return false
	default:
		return status >= 400 && status < 500
	}
}

// SetFinal decides, for the answer being written to w, whether it is final,
// overriding Options.Final. w must be the ResponseWriter the middleware gave
// the handler, or wrap it (an Unwrap method); otherwise SetFinal does nothing.
func SetFinal(w http.ResponseWriter, final bool) {
	for {
		switch v := w.(type) {
		case *recorder:
			v.final = &final
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return
		}
	}
}

type callKey struct{}

// CallFrom returns the call the middleware is running the handler for: its
// scope, operation, key and fingerprint (an id for a downstream system can
// be derived from them, the same for every execution of one request).
func CallFrom(ctx context.Context) (Call, bool) {
	call, ok := ctx.Value(callKey{}).(Call)
	return call, ok
}

// errRetryable is the error of a handler's answer that is not final.
type errRetryable struct{ status int }

func (e errRetryable) Error() string {
	return fmt.Sprintf("the handler answered %d, which is not final", e.status)
}

// recorder keeps the handler's answer: it is stored whole and sent whole.
// As net/http does, it keeps the first status written, and a Write before
// any is a 200.
type recorder struct {
	header http.Header
	status int // 0 until written
	body   bytes.Buffer
	final  *bool
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}
