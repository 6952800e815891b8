// Package intake is the order intake: the worker's HTTP routes (POST
// /orders, GET /healthz and, in queue mode, GET /orders/<orderId>), queue
// mode's consumer, the settings and the clients' authentication. It puts the
// idempotency engine (package idempotency) in front of placing one order of
// the domain (package order), and answers in the contract's words
// (docs/contract.md).
//
// It is pure Go: it builds and is tested natively, and takes everything of
// the platform as a seam (Config): the records' store, the status records'
// KV namespace, the queue, the fetch of the order gateway and the log. The
// worker (main.go) gives it the Workers bindings; a native server gives it
// its own.
package intake

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/kvstore"
	"github.com/orderintake/edge/order"
	"github.com/orderintake/edge/queue"
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

// RequestHeaders are every request header the intake reads: the worker's
// glue hands over only these (isolate.Options.Headers).
var RequestHeaders = []string{"Authorization", "Content-Type", "Idempotency-Key"}

// keyHeader carries the idempotency key.
const keyHeader = "Idempotency-Key"

// ProblemTypeBase starts the type URI of every problem the intake answers
// with; the code follows it (docs/problems.md).
const ProblemTypeBase = "https://github.com/orderintake/edge/blob/main/docs/problems.md#"

// problems are the intake's problem details: its type URIs and the titles
// of its own codes (the engine's codes keep the engine's titles).
var problems = idempotency.Problems{TypeBase: ProblemTypeBase, Titles: map[string]string{
	"unsupported_media_type": "Unsupported media type",
	"malformed_json":         "Malformed JSON",
	"invalid_order":          "Invalid order",
	"order_rejected":         "Order rejected",
	"placement_failed":       "Placement failed",
	"unauthorized":           "Unauthorized",
	"misconfigured":          "Worker misconfigured",
	"not_found":              "Not found",
	"method_not_allowed":     "Method not allowed",
	"internal_error":         "Internal error",
}}

// answer writes p to w in the intake's words.
func answer(w http.ResponseWriter, p *idempotency.Problem) {
	problems.Response(p).Write(w)
}

// Config is what the intake is made of: its settings, and a seam for each
// thing of the platform it uses.
type Config struct {
	// Settings are the worker's settings, as ParseSettings reads them.
	Settings Settings
	// Misconfigured, when set, is why every intake request answers 500
	// misconfigured (and every queued message is retried) instead of
	// guessing a setting.
	Misconfigured error
	// Store keeps the idempotency records.
	Store idempotency.Store
	// Statuses keeps queue mode's status records (a KV namespace); needed
	// when Queue is set.
	Statuses kvstore.Namespace
	// Queue, when set, is queue mode (docs/queue-mode.md): each new order is
	// sent to it and answered 202, GET /orders/<orderId> reads its status,
	// and Consume places the orders it delivers.
	Queue queue.Sender
	// Fetch reaches the order gateway when Settings.PlacementURL is set.
	Fetch Fetch
	// Placer, when set, places the orders instead of the placer the
	// settings choose (the gateway, or minting receipts).
	Placer order.Placer
	// Log receives one JSON line per intake request and per queued message
	// consumed (docs/contract.md#logs).
	Log io.Writer
	// Now is the clock of the records, the logs' elapsed times and the
	// orders' times; nil means time.Now.
	Now func() time.Time
}

// Service is the order intake: an http.Handler for the worker's routes, and
// the consumer of queue mode's batches.
type Service struct {
	cfg    Config
	engine *idempotency.Engine
	placer order.Placer
}

// New returns the intake cfg describes.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := cfg.Settings
	placer := cfg.Placer
	switch {
	case placer != nil:
	case s.PlacementURL != "":
		// The gateway's timeout is enforced by the fetch: on Workers, no Go
		// timer on the request path (docs/runtime.md).
		placer = order.Gateway{URL: s.PlacementURL, Token: s.PlacementToken, Timeout: s.PlacementTimeout,
			Fetcher: cfg.Fetch, Now: cfg.Now}
	default:
		placer = order.MintReceipt{Now: cfg.Now}
	}
	return &Service{cfg: cfg, placer: placer, engine: &idempotency.Engine{Store: cfg.Store, Lease: s.Lease,
		Retention: s.ResultTTL, Now: cfg.Now, Cache: idempotency.NewResultCache(s.ResultCacheEntries)}}
}

// internalError is the answer to a request that failed inside: a panic in
// the intake, or one the glue answers for Go (InternalErrorBody).
var internalError = &idempotency.Problem{Status: http.StatusInternalServerError, Code: "internal_error",
	Detail: "An internal error occurred. Retrying with the same Idempotency-Key is safe."}

// InternalErrorBody is the problem details body of a 500 internal_error, for
// the glue to answer when Go gives no answer (isolate.Options.InternalError).
func InternalErrorBody() []byte { return problems.Response(internalError).Body }

// ServeHTTP answers one request and logs the intake's; a panic becomes a 500
// internal_error, never a runtime trace.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	if line := s.route(w, r); line != nil {
		line.ElapsedMs = s.cfg.Now().Sub(start).Milliseconds()
		s.log(line)
	}
}

// route answers r and returns its log line, nil for requests that are not
// intake.
func (s *Service) route(w http.ResponseWriter, r *http.Request) (line *logLine) {
	defer func() {
		if p := recover(); p != nil {
			answer(w, internalError)
			line = &logLine{Event: "internal_error", Status: internalError.Status, Code: internalError.Code, Error: fmt.Sprintf("panic: %v", p)}
		}
	}()
	switch r.URL.Path {
	case "/healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead { // load balancers probe with either
			answer(w, methodNotAllowed(r, "GET, HEAD"))
			return nil
		}
		document(w, http.StatusOK, []byte(`{"status":"ok"}`))
		return nil
	case "/", "/orders":
		if r.Method != http.MethodPost {
			answer(w, methodNotAllowed(r, http.MethodPost))
			return nil
		}
		return s.serveOrder(w, r)
	}
	if id, ok := strings.CutPrefix(r.URL.Path, "/orders/"); ok && s.cfg.Queue != nil {
		if r.Method != http.MethodGet {
			answer(w, methodNotAllowed(r, http.MethodGet))
			return nil
		}
		s.serveStatus(w, r, id)
		return nil
	}
	answer(w, notFound(r))
	return nil
}

// admit runs the checks every route of a client runs first, in the
// contract's order: the client (401), then the settings (500). It answers
// and returns false when one fails; otherwise it returns the client ("" when
// the worker is open). Only clients learn about the configuration, and a
// CLIENT_TOKENS that cannot be read leaves Clients nil and stops at the
// settings: never open by accident.
func (s *Service) admit(w http.ResponseWriter, r *http.Request) (client string, line *logLine) {
	if clients := s.cfg.Settings.Clients; clients != nil {
		id, ok := clients.Authenticate(r.Header.Values("Authorization"))
		if !ok {
			answer(w, unauthorized)
			return "", &logLine{Event: "rejected", Status: unauthorized.Status, Code: unauthorized.Code}
		}
		client = id
	}
	if err := s.cfg.Misconfigured; err != nil {
		p := &idempotency.Problem{Status: http.StatusInternalServerError, Code: "misconfigured",
			Detail: fmt.Sprintf("The worker is misconfigured: %v.", err)}
		answer(w, p)
		return "", &logLine{Event: "misconfigured", Status: p.Status, Code: p.Code, Error: err.Error()}
	}
	return client, nil
}

var unauthorized = &idempotency.Problem{Status: http.StatusUnauthorized, Code: "unauthorized",
	Detail: "A valid Authorization: Bearer <token> header is required.", Header: map[string]string{"WWW-Authenticate": "Bearer"}}

func methodNotAllowed(r *http.Request, allow string) *idempotency.Problem {
	return &idempotency.Problem{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Header: map[string]string{"Allow": allow},
		Detail: fmt.Sprintf("%s is not allowed on %s; use %s.", r.Method, r.URL.Path, allow)}
}

func notFound(r *http.Request) *idempotency.Problem {
	return &idempotency.Problem{Status: http.StatusNotFound, Code: "not_found",
		Detail: fmt.Sprintf("There is nothing at %s; orders go to POST /orders.", r.URL.Path)}
}

// document answers with a JSON body.
func document(w http.ResponseWriter, status int, body []byte) {
	idempotency.Response{Status: status, Header: map[string]string{"Content-Type": "application/json"}, Body: body}.Write(w)
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

// log writes one line.
func (s *Service) log(line *logLine) {
	b, _ := encodeJSON(line, 160) // strings and numbers: cannot fail
	s.cfg.Log.Write(append(b, '\n'))
}
