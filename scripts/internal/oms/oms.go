// Package oms is a stand-in order-management service: the order gateway of
// SPEC §5 as the worker expects one, for the end-to-end suite and for demos
// (go run ./scripts/oms). It keeps its orders in memory, answers a repeated
// clientOrderId with its original answer, and can be told, per clientOrderId
// or for every order, to fail, hang or refuse.
package oms

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
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
//	POST /orders    place an order (SPEC §5)
//	POST /control   {"clientOrderId":"…","first":["503","hang"],"refuse":"…"} sets the plan
//	                of one clientOrderId, or without clientOrderId the plan of every other
//	GET  /calls     {"<clientOrderId>":<calls>, …}; ?clientOrderId=… for one
type Server struct {
	token string
	log   io.Writer

	mu       sync.Mutex
	fallback Plan
	plans    map[string]Plan
	calls    map[string]int
	answers  map[string]answer // the kept answer per clientOrderId
	placed   int
}

type answer struct {
	status int
	body   []byte
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
	return &Server{token: token, log: log, fallback: fallback,
		plans: map[string]Plan{}, calls: map[string]int{}, answers: map[string]answer{}}
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
	Client        string `json:"client,omitempty"`
}

func (s *Server) place(w http.ResponseWriter, r *http.Request) {
	var o order
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&o); err != nil || o.ClientOrderID == "" {
		reply(w, http.StatusBadRequest, "bad_request", "the body must be a JSON order with a clientOrderId")
		return
	}
	if r.Header.Get("Idempotency-Key") != o.ClientOrderID || r.Header.Get("Content-Type") != "application/json" {
		reply(w, http.StatusBadRequest, "bad_request", "Idempotency-Key must be the clientOrderId, Content-Type application/json")
		return
	}
	s.mu.Lock()
	s.calls[o.ClientOrderID]++
	call := s.calls[o.ClientOrderID]
	fmt.Fprintf(s.log, "oms: order %s (%s %d %s) call %d\n", o.ClientOrderID, o.Side, o.Quantity, o.Symbol, call)
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		s.mu.Unlock()
		reply(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
		return
	}
	if kept, ok := s.answers[o.ClientOrderID]; ok {
		s.mu.Unlock()
		send(w, kept)
		return
	}
	plan, ok := s.plans[o.ClientOrderID]
	if !ok {
		plan = s.fallback
	}
	if call <= len(plan.First) {
		s.mu.Unlock()
		s.fail(w, r, plan.First[call-1])
		return
	}
	var a answer
	if plan.Refuse != "" {
		a = answer{http.StatusUnprocessableEntity, mustJSON(map[string]string{"error": "rejected", "message": plan.Refuse})}
	} else {
		s.placed++
		a = answer{http.StatusCreated, mustJSON(map[string]string{
			"clientOrderId": o.ClientOrderID, "omsOrderId": "oms-" + strconv.Itoa(s.placed), "status": "accepted"})}
	}
	s.answers[o.ClientOrderID] = a
	s.mu.Unlock()
	send(w, a)
}

// fail answers one call with a failure that is not kept.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, how string) {
	if how == "hang" {
		select {
		case <-r.Context().Done():
		case <-time.After(maxHang):
		}
		return
	}
	status, err := strconv.Atoi(how)
	if err != nil || status < 100 || status > 599 {
		status = http.StatusInternalServerError
	}
	reply(w, status, "unavailable", "the stand-in was told to fail this call ("+how+")")
}

func reply(w http.ResponseWriter, status int, code, message string) {
	send(w, answer{status, mustJSON(map[string]string{"error": code, "message": message})})
}

func send(w http.ResponseWriter, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	w.Write(a.body)
}

func mustJSON(v map[string]string) []byte {
	b, _ := json.Marshal(v) // a map of strings: cannot fail
	return b
}
