package oms

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/memory"
	"github.com/orderintake/edge/idempotency/storeurl"
	"github.com/orderintake/edge/internal/testservers"
)

type call struct {
	status int
	body   string
}

func post(t *testing.T, url, id, token string, timeout time.Duration) (call, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	body := fmt.Sprintf(`{"clientOrderId":%q,"symbol":"MSFT","side":"buy","quantity":100}`, id)
	req, _ := http.NewRequestWithContext(ctx, "POST", url+"/orders", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", id)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return call{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return call{resp.StatusCode, string(b)}, nil
}

func TestStandInAnswersByPlanAndKeepsItsAnswer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		plan   Plan
		want   []int // statuses of successive calls under one id; 0 = no answer in time
		sameAs int   // the call whose bytes every later call repeats
	}{
		{"accepts", Plan{}, []int{201, 201, 201}, 0},
		{"refuses", Plan{Refuse: "market closed"}, []int{422, 422}, 0},
		{"fails twice, then accepts", Plan{First: []string{"503", "503"}}, []int{503, 503, 201, 201}, 2},
		{"hangs, then refuses", Plan{First: []string{"hang"}, Refuse: "no"}, []int{0, 422, 422}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New("", Plan{}, nil)
			srv := httptest.NewServer(s)
			t.Cleanup(srv.Close)
			s.SetPlan("id-1", tt.plan)
			var got []call
			for range tt.want {
				c, err := post(t, srv.URL, "id-1", "", 200*time.Millisecond)
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					t.Fatal(err)
				}
				got = append(got, c)
			}
			for i, c := range got {
				if c.status != tt.want[i] {
					t.Errorf("call %d: %d %s, want %d", i+1, c.status, c.body, tt.want[i])
				}
				if i > tt.sameAs && c.body != got[tt.sameAs].body {
					t.Errorf("call %d: %s, want the kept answer %s", i+1, c.body, got[tt.sameAs].body)
				}
			}
			if n := s.Calls("id-1"); n != len(tt.want) {
				t.Errorf("counted %d calls, want %d", n, len(tt.want))
			}
			if c, _ := post(t, srv.URL, "id-2", "", time.Second); c.status != 201 {
				t.Errorf("another id without a plan: %d, want 201", c.status)
			}
		})
	}
}

func TestStandInControlTokenAndChecks(t *testing.T) {
	t.Parallel()
	s := New("tok", Plan{Refuse: "closed"}, nil)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	if c, _ := post(t, srv.URL, "a", "", time.Second); c.status != 401 {
		t.Errorf("without the token: %d, want 401", c.status)
	}
	if c, _ := post(t, srv.URL, "a", "tok", time.Second); c.status != 422 || !strings.Contains(c.body, `"message":"closed"`) {
		t.Errorf("by the fallback plan: %d %s, want 422 closed", c.status, c.body)
	}
	resp, err := http.Post(srv.URL+"/control", "application/json", strings.NewReader(`{"clientOrderId":"b","first":["429"]}`))
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("control: %v %v", resp, err)
	}
	if c, _ := post(t, srv.URL, "b", "tok", time.Second); c.status != 429 {
		t.Errorf("by the plan set over HTTP: %d, want 429", c.status)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/orders", strings.NewReader(`{"clientOrderId":"c"}`))
	req.Header.Set("Idempotency-Key", "not-c")
	req.Header.Set("Authorization", "Bearer tok")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != 400 {
		t.Errorf("Idempotency-Key other than the clientOrderId: %d, want 400", resp.StatusCode)
	}
	resp, _ = http.Get(srv.URL + "/calls?clientOrderId=a")
	b, _ := io.ReadAll(resp.Body)
	if string(b) != `{"calls":2,"clientOrderId":"a"}` {
		t.Errorf("GET /calls: %s", b)
	}
}

func TestMain(m *testing.M) { testservers.Main(m) }

// The stand-in deduplicates with the idempotency engine, on each store: 30
// concurrent calls under one clientOrderId place one order, and every
// answer that is not a 409 (one still in flight) is the kept one.
func TestStandInPlacesOncePerClientOrderID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		store func(t *testing.T) idempotency.Store
	}{
		{"memory", func(*testing.T) idempotency.Store { return memory.New(nil) }},
		{"postgres", postgresStore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			placesOnce(t, NewOn(tt.store(t), "", Plan{}, nil))
		})
	}
}

// postgresStore is a PostgreSQL store in a database of the test's own.
func postgresStore(t *testing.T) idempotency.Store {
	t.Helper()
	store, err := storeurl.Open(context.Background(), testservers.Postgres(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

// On PostgreSQL the answers outlive the stand-in: a new one on the same
// database answers a clientOrderId the old one placed with its answer, and
// places nothing.
func TestStandInOnPostgreSQLRemembersAcrossRestarts(t *testing.T) {
	t.Parallel()
	store := postgresStore(t)
	before := httptest.NewServer(NewOn(store, "", Plan{}, nil))
	first, err := post(t, before.URL, "kept", "", 5*time.Second)
	before.Close()
	if err != nil || first.status != 201 {
		t.Fatalf("the first stand-in: %v %v", first, err)
	}
	after := NewOn(store, "", Plan{}, nil)
	srv := httptest.NewServer(after)
	t.Cleanup(srv.Close)
	again, err := post(t, srv.URL, "kept", "", 5*time.Second)
	if err != nil || again != first || after.Placements("kept") != 0 {
		t.Errorf("the new stand-in answered %v (%v) and placed %d; want %v and none", again, err, after.Placements("kept"), first)
	}
}

// placesOnce sends 30 concurrent calls of one clientOrderId to s and checks
// that one order was placed.
func placesOnce(t *testing.T, s *Server) {
	t.Helper()
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	answers := make(chan call, 30)
	for range 30 {
		go func() {
			c, err := post(t, srv.URL, "dup", "", 5*time.Second)
			if err != nil {
				t.Error(err)
			}
			answers <- c
		}()
	}
	var kept string
	for range 30 {
		c := <-answers
		switch {
		case c.status == 409:
		case c.status == 201 && (kept == "" || c.body == kept):
			kept = c.body
		default:
			t.Errorf("answer %d %s, want 201 with the kept body %s or 409", c.status, c.body, kept)
		}
	}
	s.mu.Lock()
	placed := s.placed
	s.mu.Unlock()
	if placed != 1 {
		t.Errorf("placed %d orders, want 1", placed)
	}
	// Another order under the same clientOrderId is refused, not placed.
	req, _ := http.NewRequest("POST", srv.URL+"/orders", strings.NewReader(`{"clientOrderId":"dup","symbol":"AAPL","side":"buy","quantity":1}`))
	req.Header.Set("Idempotency-Key", "dup")
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 422 {
		t.Errorf("another order under the same clientOrderId: %v %v, want 422", resp, err)
	}
}
