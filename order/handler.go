package order

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/orderintake/edge/idempotency"
)

// MaxBodyBytes is the largest order body accepted.
const MaxBodyBytes = 16 << 10

// drainBytes is how much of an oversized body the worker's glue reads and
// drops before the 413: under wrangler dev, a body left unread breaks the
// local proxy's connection and fails the next request. The bound keeps a
// huge upload from costing the worker CPU time.
const drainBytes = 1 << 20

// MaxReadBytes is the most of a request body the worker's glue hands over.
const MaxReadBytes = MaxBodyBytes + 1 + drainBytes

// RequestHeaders are every request header the handler reads: the worker's
// glue hands over only these (isolate.Options.Headers).
var RequestHeaders = []string{"Authorization", "Content-Type", "Idempotency-Key"}

// Config is what the order intake's handler is made of.
type Config struct {
	// Engine keeps the idempotency records (its Store, lease and retention).
	Engine *idempotency.Engine
	// Placer places new orders.
	Placer Placer
	// Settings are the worker's settings; Clients, when set, must
	// authenticate.
	Settings Settings
	// Misconfigured, when set, is why every intake request answers 500
	// misconfigured instead of guessing a setting.
	Misconfigured error
	// Log receives one JSON line per intake request (docs/contract.md: Logs).
	Log io.Writer
	// Now is the clock of the log's elapsed time and of a queued order's
	// acceptedAt; nil means time.Now.
	Now func() time.Time
	// Queue, when set, is queue mode (docs/queue-mode.md): each new order is sent to
	// it and answered 202, and GET /orders/<orderId> reads its status.
	Queue Sender
	// Orders keeps queue mode's status records (the KV namespace); needed
	// when Queue is set.
	Orders StatusStore
}

// Handler serves the worker's routes: the order intake is the idempotency
// middleware in front of a handler that places one order.
type Handler struct {
	cfg    Config
	intake *idempotency.Handler
}

// NewHandler returns the worker's handler.
func NewHandler(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	place := placeHandler{placer: cfg.Placer, queue: cfg.Queue, orders: cfg.Orders, retention: cfg.Engine.Retention, now: cfg.Now}
	return &Handler{cfg: cfg, intake: idempotency.New(cfg.Engine, place, idempotency.Options{
		Methods:  []string{http.MethodPost},
		Required: true,
		Scope: func(r *http.Request) string {
			return stateOf(r.Context()).client
		},
		// The empty operation: the record keys of the first version.
		Operation:    func(*http.Request) string { return "" },
		CheckHeaders: checkContentType,
		MaxBodyBytes: MaxBodyBytes,
		Fingerprint:  fingerprint,
		ReplayStatus: func(stored int) int {
			if stored == http.StatusCreated {
				return http.StatusOK
			}
			return stored
		},
	})}
}

// intakeState is what one intake request carries from step to step: the
// client, the order once validated, and what placing it did, for the log.
type intakeState struct {
	client string
	order  Order
	event  string // what placing did: placed, order_rejected, placement_error
	code   string // the error code it answered with
	cause  error
}

type stateKey struct{}

func stateOf(ctx context.Context) *intakeState {
	s, _ := ctx.Value(stateKey{}).(*intakeState)
	if s == nil {
		s = &intakeState{}
	}
	return s
}

// ServeHTTP answers one request; a panic becomes a 500 internal_error, never
// a runtime trace.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.cfg.Now()
	if line := h.route(w, r); line != nil {
		line.ElapsedMs = h.cfg.Now().Sub(start).Milliseconds()
		b, _ := encodeJSON(line, 160) // strings and numbers: cannot fail
		h.cfg.Log.Write(append(b, '\n'))
	}
}

// route answers r and returns its log line, nil for requests that are not
// intake.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) (line *logLine) {
	defer func() {
		if p := recover(); p != nil {
			internal := &idempotency.Problem{Status: http.StatusInternalServerError, Code: "internal_error",
				Detail: "An internal error occurred. Retrying with the same Idempotency-Key is safe."}
			internal.Response().Write(w)
			line = &logLine{Event: "internal_error", Status: internal.Status, Code: internal.Code, Error: fmt.Sprintf("panic: %v", p)}
		}
	}()
	switch r.URL.Path {
	case "/healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead { // load balancers probe with either
			methodNotAllowed(r, "GET, HEAD").Response().Write(w)
			return nil
		}
		idempotency.Response{Status: http.StatusOK, Header: map[string]string{"Content-Type": "application/json"},
			Body: []byte(`{"status":"ok"}`)}.Write(w)
		return nil
	case "/", "/orders":
		if r.Method != http.MethodPost {
			methodNotAllowed(r, http.MethodPost).Response().Write(w)
			return nil
		}
		return h.serveIntake(w, r)
	default:
		if id, ok := strings.CutPrefix(r.URL.Path, "/orders/"); ok && h.cfg.Queue != nil {
			if r.Method != http.MethodGet {
				methodNotAllowed(r, http.MethodGet).Response().Write(w)
				return nil
			}
			h.serveStatus(w, r, id)
			return nil
		}
		notFound(r).Response().Write(w)
		return nil
	}
}

// authenticate answers 401 and reports false when clients are configured
// and r carries no valid token; otherwise it returns the client ("" when
// the worker is open).
func (h *Handler) authenticate(w http.ResponseWriter, r *http.Request) (string, bool) {
	clients := h.cfg.Settings.Clients
	if clients == nil {
		return "", true
	}
	client, ok := clients.Authenticate(r.Header.Values("Authorization"))
	if !ok {
		unauthorized.Response().Write(w)
	}
	return client, ok
}

var unauthorized = &idempotency.Problem{Status: http.StatusUnauthorized, Code: "unauthorized",
	Detail: "A valid Authorization: Bearer <token> header is required.", Header: map[string]string{"WWW-Authenticate": "Bearer"}}

// misconfigured answers 500 misconfigured and reports true when the
// worker's settings are wrong. It runs after authentication, so only
// clients learn about the configuration. A CLIENT_TOKENS that cannot be
// read leaves Clients nil and stops here: never open by accident.
func (h *Handler) misconfigured(w http.ResponseWriter) bool {
	if h.cfg.Misconfigured == nil {
		return false
	}
	misconfiguredProblem(h.cfg.Misconfigured).Response().Write(w)
	return true
}

func misconfiguredProblem(err error) *idempotency.Problem {
	return &idempotency.Problem{Status: http.StatusInternalServerError, Code: "misconfigured",
		Detail: fmt.Sprintf("The worker is misconfigured: %v.", err)}
}

// serveIntake runs the checks of the contract in order, the first failure
// winning: the client (401), the settings (500), then the idempotency
// middleware, which touches no storage until the order is known to be valid.
func (h *Handler) serveIntake(w http.ResponseWriter, r *http.Request) *logLine {
	state := &intakeState{}
	client, ok := h.authenticate(w, r)
	if !ok {
		return &logLine{Event: "rejected", Status: unauthorized.Status, Code: unauthorized.Code}
	}
	state.client = client
	if h.misconfigured(w) {
		return &logLine{Event: "misconfigured", Status: http.StatusInternalServerError, Code: "misconfigured", Error: h.cfg.Misconfigured.Error()}
	}

	call, out := h.intake.Serve(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, state)))
	line := &logLine{Status: out.Response.Status, Code: state.code}
	if call.Fingerprint != "" {
		line.OrderID = OrderID(call.Scope, call.Key, call.Fingerprint)
	}
	var p *idempotency.Problem
	errors.As(out.Err, &p)
	switch out.Kind {
	case idempotency.Refused:
		line.Event, line.Code = "rejected", p.Code
	case idempotency.Replayed:
		line.Event = "replayed"
	case idempotency.InFlight:
		line.Event, line.Code = "in_progress", "in_progress"
	case idempotency.KeyReused:
		line.Event, line.Code = "key_reused", "idempotency_key_reused"
	case idempotency.StorageFailed:
		line.Event, line.Code, line.Error = "storage_error", idempotency.StorageProblem(out.Err).Code, out.Err.Error()
	case idempotency.Executed:
		line.Event = state.event
		if state.cause != nil {
			line.Error = state.cause.Error()
		}
		if out.Final && out.Err != nil {
			// The answer was given; only its record is missing, and the
			// claim keeps retries out until its lease ends.
			line.Event, line.Error = "result_write_error", out.Err.Error()
		}
	}
	return line
}

// placeHandler places the order the middleware validated, under the order id
// that any execution of the same request gets; in queue mode it queues it.
type placeHandler struct {
	placer    Placer
	queue     Sender
	orders    StatusStore
	retention time.Duration
	now       func() time.Time
}

func (p placeHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	state := stateOf(r.Context())
	call, _ := idempotency.CallFrom(r.Context())
	orderID := OrderID(call.Scope, call.Key, call.Fingerprint)
	if p.queue != nil {
		p.enqueue(w, r, state, call, orderID)
		return
	}
	receipt, err := p.placer.Place(r.Context(), orderID, call.Scope, state.order)
	var refusal *Refusal
	switch {
	case errors.As(err, &refusal):
		// A definitive no is this key's answer, stored and replayed like a
		// receipt: a new order needs a new key.
		state.event, state.code, state.cause = "order_rejected", "order_rejected", err
		(&idempotency.Problem{Status: http.StatusUnprocessableEntity, Code: "order_rejected", Reason: refusal.Reason,
			Detail: "The order gateway refused this order (reason says why); a new order needs a new Idempotency-Key."}).Response().Write(w)
	case err != nil:
		// Ambiguous: a 5xx is never final, so the claim is released and a
		// retry sends the same order id again.
		state.event, state.code, state.cause = "placement_error", "placement_failed", err
		(&idempotency.Problem{Status: http.StatusBadGateway, Code: "placement_failed",
			Detail: "The order could not be placed. Retry with the same Idempotency-Key."}).Response().Write(w)
	default:
		body, err := encodeJSON(&receipt, 256)
		if err != nil {
			panic(err)
		}
		state.event = "placed"
		idempotency.Response{Status: http.StatusCreated, Header: map[string]string{"Content-Type": "application/json"}, Body: body}.Write(w)
	}
}

// fingerprint is the middleware's fingerprint of an order request: it parses
// and validates the order (a refusal touches no storage) and keeps it for
// placing.
func fingerprint(r *http.Request, body []byte) (string, error) {
	o, err := ParseOrder(body)
	var malformed *MalformedJSONError
	if errors.As(err, &malformed) {
		return "", &idempotency.Problem{Status: http.StatusBadRequest, Code: "malformed_json",
			Detail: fmt.Sprintf("The request body must be a single JSON object (%v).", malformed.Reason)}
	}
	var invalid *InvalidOrderError
	if errors.As(err, &invalid) {
		return "", &idempotency.Problem{Status: http.StatusUnprocessableEntity, Code: "invalid_order",
			Detail: "The order has invalid fields; each is named in fields.", Fields: invalid.Fields}
	}
	if err != nil {
		return "", err
	}
	stateOf(r.Context()).order = o
	return o.Fingerprint(), nil
}

// checkContentType accepts no Content-Type, or application/json with any
// parameters: curl -d without -H sends form encoding, and guessing is worse
// than saying so.
func checkContentType(r *http.Request) error {
	values := r.Header.Values("Content-Type")
	switch len(values) {
	case 0:
		return nil
	case 1:
		mediaType, _, _ := strings.Cut(values[0], ";")
		if strings.EqualFold(strings.TrimSpace(mediaType), "application/json") {
			return nil
		}
	}
	return &idempotency.Problem{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Detail: "Content-Type must be application/json (curl -d sends form encoding unless you add -H 'Content-Type: application/json')."}
}

func methodNotAllowed(r *http.Request, allow string) *idempotency.Problem {
	return &idempotency.Problem{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Header: map[string]string{"Allow": allow},
		Detail: fmt.Sprintf("%s is not allowed on %s; use %s.", r.Method, r.URL.Path, allow)}
}

func notFound(r *http.Request) *idempotency.Problem {
	return &idempotency.Problem{Status: http.StatusNotFound, Code: "not_found",
		Detail: fmt.Sprintf("There is nothing at %s; orders go to POST /orders.", r.URL.Path)}
}

// logLine is the one log line of an intake request: never the order body,
// never a credential.
type logLine struct {
	Event     string `json:"event"`
	Status    int    `json:"status"`
	Code      string `json:"code,omitempty"`
	OrderID   string `json:"orderId,omitempty"`
	ElapsedMs int64  `json:"elapsedMs"`
	Error     string `json:"error,omitempty"`
}

// marshalJSON writes JSON as JavaScript's JSON.stringify does.
var marshalJSON = idempotency.MarshalJSON
