package order

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxBodyBytes is the largest order body accepted.
const MaxBodyBytes = 16 << 10

// drainBytes is how much of an oversized body is read and dropped before the
// 413: under wrangler dev, a body left unread breaks the local proxy's
// connection and fails the next request. The bound keeps a huge upload from
// costing the worker CPU time.
const drainBytes = 1 << 20

// MaxReadBytes is the most of a request body the handler ever reads: the
// worker's glue hands over no more.
const MaxReadBytes = MaxBodyBytes + 1 + drainBytes

// Handler serves the worker's routes.
type Handler struct {
	Intake Intake
	// Misconfigured, when set, is why every intake request answers 500
	// misconfigured instead of guessing a setting.
	Misconfigured error
	// Log receives one JSON line per intake request.
	Log io.Writer
}

// response is everything the worker answers and logs for one request.
type response struct {
	status  int
	body    []byte
	header  map[string]string // beyond Content-Type, Cache-Control, Content-Length
	event   string            // the log event; "" for requests that are not intake
	code    string            // the error code, for the log
	orderID string
	cause   error // logged, never sent
}

// errorBody is every error the API sends.
type errorBody struct {
	Error      string            `json:"error"`
	Message    string            `json:"message"`
	Fields     map[string]string `json:"fields,omitempty"`
	RetryAfter int               `json:"retryAfter,omitempty"`
	Reason     string            `json:"reason,omitempty"`
}

func failure(status int, event string, cause error, e errorBody) response {
	body, _ := marshalJSON(e) // strings, a string map and an int: cannot fail
	out := response{status: status, body: body, event: event, code: e.Error, cause: cause}
	if e.RetryAfter > 0 {
		out.header = map[string]string{"Retry-After": strconv.Itoa(e.RetryAfter)}
	}
	return out
}

func internalError(cause error) response {
	return failure(http.StatusInternalServerError, "internal_error", cause, errorBody{
		Error: "internal_error", Message: "An internal error occurred. Retrying with the same Idempotency-Key is safe."})
}

func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.Intake.Now()
	out := h.route(r)
	write(w, out)
	if out.event != "" {
		h.log(out, h.Intake.Now().Sub(start))
	}
}

// route answers one request; a panic becomes a JSON 500, never a runtime trace.
func (h Handler) route(r *http.Request) (out response) {
	defer func() {
		if p := recover(); p != nil {
			out = internalError(fmt.Errorf("panic: %v", p))
		}
	}()
	switch r.URL.Path {
	case "/healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead { // load balancers probe with either
			return methodNotAllowed(r, "GET, HEAD")
		}
		return response{status: http.StatusOK, body: []byte(`{"status":"ok"}`)}
	case "/", "/orders":
		if r.Method != http.MethodPost {
			return methodNotAllowed(r, http.MethodPost)
		}
		return h.intake(r)
	default:
		return failure(http.StatusNotFound, "", nil, errorBody{
			Error: "not_found", Message: fmt.Sprintf("There is nothing at %s; orders go to POST /orders.", r.URL.Path)})
	}
}

// intake runs the checks of SPEC §2 in order, the first failure winning, and
// touches no storage until the order is known to be valid.
func (h Handler) intake(r *http.Request) response {
	var scope string
	if clients := h.Intake.Settings.Clients; clients != nil {
		clientID, ok := clients.Authenticate(r.Header.Values("Authorization"))
		if !ok {
			out := rejected(http.StatusUnauthorized, "unauthorized", "A valid Authorization: Bearer <token> header is required.")
			out.header = map[string]string{"WWW-Authenticate": "Bearer"}
			return out
		}
		scope = clientID
	}
	// After authentication, so only clients learn about the configuration.
	// A CLIENT_TOKENS that cannot be read leaves Clients nil and stops here:
	// never open by accident.
	if h.Misconfigured != nil {
		return failure(http.StatusInternalServerError, "misconfigured", h.Misconfigured, errorBody{
			Error: "misconfigured", Message: fmt.Sprintf("The worker is misconfigured: %v.", h.Misconfigured)})
	}
	key, err := ParseIdempotencyKey(r.Header.Values("Idempotency-Key"))
	if errors.Is(err, errKeyMissing) {
		return rejected(http.StatusBadRequest, "missing_idempotency_key",
			"The Idempotency-Key header is required: send a new unique key (a UUID, say) with each order and the same key on its retries.")
	}
	if err != nil {
		return rejected(http.StatusBadRequest, "invalid_idempotency_key", err.Error()+".")
	}
	if !isJSONContentType(r.Header.Values("Content-Type")) {
		return rejected(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"Content-Type must be application/json (curl -d sends form encoding unless you add -H 'Content-Type: application/json').")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return rejected(http.StatusBadRequest, "malformed_json", "The request body could not be read.")
	}
	if len(body) > MaxBodyBytes {
		io.Copy(io.Discard, io.LimitReader(r.Body, drainBytes))
		return rejected(http.StatusRequestEntityTooLarge, "payload_too_large",
			fmt.Sprintf("The request body is larger than %d bytes.", MaxBodyBytes))
	}
	o, err := ParseOrder(body)
	var malformed *MalformedJSONError
	if errors.As(err, &malformed) {
		return rejected(http.StatusBadRequest, "malformed_json",
			fmt.Sprintf("The request body must be a single JSON object (%v).", malformed.Reason))
	}
	var invalid *InvalidOrderError
	if errors.As(err, &invalid) {
		return failure(http.StatusUnprocessableEntity, "rejected", nil, errorBody{
			Error: "invalid_order", Message: "The order has invalid fields; each is named in fields.", Fields: invalid.Fields})
	}
	return h.Intake.Submit(r.Context(), scope, key, o)
}

func rejected(status int, code, message string) response {
	return failure(status, "rejected", nil, errorBody{Error: code, Message: message})
}

func methodNotAllowed(r *http.Request, allow string) response {
	out := failure(http.StatusMethodNotAllowed, "", nil, errorBody{
		Error: "method_not_allowed", Message: fmt.Sprintf("%s is not allowed on %s; use %s.", r.Method, r.URL.Path, allow)})
	out.header = map[string]string{"Allow": allow}
	return out
}

// isJSONContentType accepts no Content-Type, or application/json with any
// parameters.
func isJSONContentType(values []string) bool {
	switch len(values) {
	case 0:
		return true
	case 1:
		mediaType, _, _ := strings.Cut(values[0], ";")
		return strings.EqualFold(strings.TrimSpace(mediaType), "application/json")
	default:
		return false
	}
}

func write(w http.ResponseWriter, out response) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	// A known length lets syumai/workers send a fixed-length body, not chunks.
	h.Set("Content-Length", strconv.Itoa(len(out.body)))
	for name, value := range out.header {
		h.Set(name, value)
	}
	w.WriteHeader(out.status)
	w.Write(out.body)
}

type logLine struct {
	Event     string `json:"event"`
	Status    int    `json:"status"`
	Code      string `json:"code,omitempty"`
	OrderID   string `json:"orderId,omitempty"`
	ElapsedMs int64  `json:"elapsedMs"`
	Error     string `json:"error,omitempty"`
}

// log writes the request's one log line: never the order body, never a
// credential.
func (h Handler) log(out response, elapsed time.Duration) {
	line := logLine{Event: out.event, Status: out.status, Code: out.code, OrderID: out.orderID, ElapsedMs: elapsed.Milliseconds()}
	if out.cause != nil {
		line.Error = out.cause.Error()
	}
	b, _ := marshalJSON(line)
	h.Log.Write(append(b, '\n'))
}

// marshalJSON writes v as JavaScript's JSON.stringify does: "<", ">" and "&"
// stay as they are instead of becoming \u003c escapes.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
