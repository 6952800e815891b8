// Package oms is a stand-in order-management service: the order gateway of
// docs/downstreams.md as the worker expects one, for the end-to-end suite and
// for demos (go run ./scripts/oms). It answers a repeated clientOrderId with
// its original answer through the same idempotency engine as the worker, with
// the in-memory store: a second, native user of the engine. It can be told,
// per clientOrderId or for every order, to fail, hang or refuse.
package oms

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/memory"
)

// Plan is how the stand-in answers the calls for one clientOrderId.
type Plan struct {
	// First are the answers to the first calls, one per call, and none of
	// them is kept: an HTTP status such as "503", or "hang" (no answer until
	// the caller gives up).
	First []string `json:"first,omitempty"`
	// Refuse, when set, refuses the order with 422 and this message; otherwise
	// it is accepted with 201. Either answer is kept and repeated.
	Refuse string `json:"refuse,omitempty"`
}

// Server is the stand-in's HTTP handler:
//
//	POST /orders    place an order (docs/downstreams.md#the-order-gateway)
//	POST /control   {"clientOrderId":"…","first":["503","hang"],"refuse":"…"} sets the plan
//	                of one clientOrderId, or without clientOrderId the plan of every other
//	GET  /calls     {"<clientOrderId>":<calls>, …}; ?clientOrderId=… for one
type Server struct {
	token string
	log   io.Writer

	orders http.Handler // POST /orders, at most once per clientOrderId

	mu       sync.Mutex
	fallback Plan
	plans    map[string]Plan
	calls    map[string]int    // arrivals per clientOrderId, replays included
	attempts map[string]int    // runs of decide per clientOrderId
	bodies   map[string][]byte // the first body per clientOrderId
	placed   int
	placedBy map[string]int // orders placed per clientOrderId: at most 1, or the engine failed
}

// maxHang bounds a hanging call whose caller never gives up.
const maxHang = 10 * time.Minute

// New returns a stand-in that demands Authorization: Bearer <token> when
// token is set, answers by fallback unless told otherwise, and logs one line
// per call to log (which may be nil).
func New(token string, fallback Plan, log io.Writer) *Server {
	if log == nil {
		log = io.Discard
	}
	s := &Server{token: token, log: log, fallback: fallback,
		plans: map[string]Plan{}, calls: map[string]int{}, attempts: map[string]int{}, bodies: map[string][]byte{},
		placedBy: map[string]int{}}
	// The key is the clientOrderId; failures (5xx, and a hang the caller
	// gave up on) are not final, so a retry under the same id is decided
	// again, while a placement or a refusal is kept and repeated.
	s.orders = idempotency.Middleware(&idempotency.Engine{Store: memory.New(nil)},
		idempotency.Options{Required: true, Operation: func(*http.Request) string { return "place" }, Fingerprint: s.fingerprint})(http.HandlerFunc(s.decide))
	return s
}

// SetPlan sets the plan for clientOrderID, or for every order without a plan
// of its own when clientOrderID is "".
func (s *Server) SetPlan(clientOrderID string, p Plan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if clientOrderID == "" {
		s.fallback = p
	} else {
		s.plans[clientOrderID] = p
	}
}

// Calls is how many orders arrived under clientOrderID.
func (s *Server) Calls(clientOrderID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[clientOrderID]
}

// ServeHTTP serves the routes listed on Server.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/orders" && r.Method == http.MethodPost:
		s.place(w, r)
	case r.URL.Path == "/control" && r.Method == http.MethodPost:
		var c struct {
			ClientOrderID string `json:"clientOrderId"`
			Plan
		}
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			reply(w, http.StatusBadRequest, "bad_request", err.Error())
			return
		}
		s.SetPlan(c.ClientOrderID, c.Plan)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/calls" && r.Method == http.MethodGet:
		s.mu.Lock()
		var out any = s.calls
		if id := r.URL.Query().Get("clientOrderId"); id != "" {
			out = map[string]any{"clientOrderId": id, "calls": s.calls[id]}
		}
		b, _ := json.Marshal(out)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(b)
	default:
		reply(w, http.StatusNotFound, "not_found", "POST /orders, POST /control or GET /calls")
	}
}

type order struct {
	ClientOrderID string `json:"clientOrderId"`
	Symbol        string `json:"symbol"`
	Side          string `json:"side"`
	Quantity      uint64 `json:"quantity"`
	Type          string `json:"type,omitempty"`
	LimitPrice    string `json:"limitPrice,omitempty"`
	TimeInForce   string `json:"timeInForce,omitempty"`
	Client        string `json:"client,omitempty"`
}

// place counts the call, checks the token, and hands the order to the
// engine.
func (s *Server) place(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	s.calls[id]++
	fmt.Fprintf(s.log, "oms: order %s call %d\n", id, s.calls[id])
	s.mu.Unlock()
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		reply(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
		return
	}
	s.orders.ServeHTTP(w, r)
}

// Placements is how many orders the stand-in placed under clientOrderID:
// its calls include the ones it failed and the ones it answered as a
// repeat, this only the ones that placed an order.
func (s *Server) Placements(clientOrderID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.placedBy[clientOrderID]
}

// Body is the first body that arrived under clientOrderID, as sent.
func (s *Server) Body(clientOrderID string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodies[clientOrderID]
}

// fingerprint accepts a JSON order whose clientOrderId is its
// Idempotency-Key, and identifies it by its fields.
func (s *Server) fingerprint(r *http.Request, body []byte) (string, error) {
	var o order
	if err := json.Unmarshal(body, &o); err != nil || o.ClientOrderID == "" ||
		r.Header.Get("Idempotency-Key") != o.ClientOrderID || r.Header.Get("Content-Type") != "application/json" {
		return "", &idempotency.Problem{Status: http.StatusBadRequest, Code: "bad_request",
			Detail: "the body must be a JSON order with a clientOrderId, sent as its Idempotency-Key, with Content-Type application/json"}
	}
	s.mu.Lock()
	if _, ok := s.bodies[o.ClientOrderID]; !ok {
		s.bodies[o.ClientOrderID] = body
	}
	s.mu.Unlock()
	canonical, _ := json.Marshal(o) // strings and a number: cannot fail
	return idempotency.DefaultFingerprint(r, canonical)
}

// decide answers an order by its plan; the engine runs it at most once per
// clientOrderId until an answer is final.
func (s *Server) decide(w http.ResponseWriter, r *http.Request) {
	call, _ := idempotency.CallFrom(r.Context())
	id := call.Key
	s.mu.Lock()
	s.attempts[id]++
	attempt := s.attempts[id]
	plan, ok := s.plans[id]
	if !ok {
		plan = s.fallback
	}
	if attempt <= len(plan.First) {
		s.mu.Unlock()
		s.fail(w, r, plan.First[attempt-1])
		return
	}
	if plan.Refuse != "" {
		s.mu.Unlock()
		reply(w, http.StatusUnprocessableEntity, "rejected", plan.Refuse)
		return
	}
	s.placed++
	s.placedBy[id]++
	omsOrderID := "oms-" + strconv.Itoa(s.placed)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(mustJSON(map[string]string{"clientOrderId": id, "omsOrderId": omsOrderID, "status": "accepted"}))
}

// fail answers one call with a failure that is not kept.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, how string) {
	if how == "hang" {
		select {
		case <-r.Context().Done():
		case <-time.After(maxHang):
		}
		// Nobody reads this, but the engine must see an answer that is not
		// final, or it would keep an empty 200 for the clientOrderId.
		reply(w, http.StatusGatewayTimeout, "hung", "the stand-in was told to hang")
		return
	}
	status, err := strconv.Atoi(how)
	if err != nil || status < 100 || status > 599 {
		status = http.StatusInternalServerError
	}
	reply(w, status, "unavailable", "the stand-in was told to fail this call ("+how+")")
}

func reply(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(mustJSON(map[string]string{"error": code, "message": message}))
}

func mustJSON(v map[string]string) []byte {
	b, _ := json.Marshal(v) // a map of strings: cannot fail
	return b
}
