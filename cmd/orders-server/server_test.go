package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/idempotency/storeurl"
	"github.com/orderintake/edge/internal/testservers"
)

func TestMain(m *testing.M) { testservers.Main(m) }

// A store that cannot be reached at start is one line on standard error and
// exit status 1, before anything listens.
func TestAStoreThatCannotBeReachedStopsTheStart(t *testing.T) {
	t.Parallel()
	port, err := testservers.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		store, want string
	}{
		{fmt.Sprintf("postgres://app:secret@127.0.0.1:%d/orders", port), "orders-server: cannot reach PostgreSQL at postgres://app:xxxxx@127.0.0.1:"},
		{fmt.Sprintf("redis://127.0.0.1:%d/0", port), "orders-server: cannot reach Redis at redis://127.0.0.1:"},
		{"sqlite:orders.db", "orders-server: the store URL sqlite:orders.db: want memory:, postgres://… or redis://…"},
	}
	for _, tt := range tests {
		t.Run(tt.store, func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-store", tt.store}, noEnv, &stdout, &stderr)
			if code != 1 || !strings.HasPrefix(stderr.String(), tt.want) || strings.Count(stderr.String(), "\n") != 1 ||
				strings.Contains(stderr.String(), "secret") || stdout.Len() != 0 {
				t.Errorf("exit %d, stderr %q, stdout %q; want 1 and one line starting %q, without the password", code, stderr.String(), stdout.String(), tt.want)
			}
		})
	}
}

func noEnv(string) string { return "" }

// syncBuffer is the server's standard output, read while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// started runs the server until ctx is done and returns its address, once
// it listens, and its exit status, when it has stopped.
func started(t *testing.T, ctx context.Context, store string, env map[string]string, stdout *syncBuffer) (string, <-chan int) {
	t.Helper()
	var stderr syncBuffer
	exit := make(chan int, 1)
	go func() {
		exit <- run(ctx, []string{"-addr", "127.0.0.1:0", "-store", store}, func(name string) string { return env[name] }, stdout, &stderr)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		sc := bufio.NewScanner(strings.NewReader(stdout.String()))
		for sc.Scan() {
			var line serverLine
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Event == "listening" {
				return line.Addr, exit
			}
		}
		select {
		case code := <-exit:
			t.Fatalf("the server exited with %d: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the server did not listen; stderr: %s", stderr.String())
	return "", nil
}

// SIGTERM (here, ctx done) stops new connections at once, lets the order in
// flight finish (the gateway answers after the shutdown began), stores its
// answer rather than leaving its claim, and exits 0.
func TestShutdownFinishesTheOrdersInFlight(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}), make(chan struct{})
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		close(arrived)
		<-release
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(gateway.Close)
	store := testservers.Postgres(t)
	ctx, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	var stdout syncBuffer
	addr, exit := started(t, ctx, store, map[string]string{"PLACEMENT_URL": gateway.URL + "/orders"}, &stdout)

	const key = "shutdown-1"
	answer := make(chan *http.Response, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/orders", strings.NewReader(`{"symbol":"MSFT","side":"buy","quantity":100}`))
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
		}
		answer <- resp
	}()
	<-arrived
	shutdown()
	for deadline := time.Now().Add(10 * time.Second); ; {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			break // no longer accepting
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("the server still accepts connections after the shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if resp := <-answer; resp == nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("the order in flight: %v, want 201", resp)
	}
	if code := <-exit; code != 0 {
		t.Fatalf("exit %d, want 0", code)
	}
	if !strings.Contains(stdout.String(), `{"event":"stopped"}`) {
		t.Errorf("no stopped line in the log:\n%s", stdout.String())
	}

	records, err := storeurl.Open(context.Background(), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer records.Close()
	result, claim, err := records.Lookup(context.Background(), idempotency.Call{Key: key}.RecordKey())
	if err != nil || result == nil || result.Status != http.StatusCreated || claim != nil {
		t.Errorf("after the shutdown the key holds %+v, %+v (%v); want the 201 stored", result, claim, err)
	}
}

// A client that hangs up while its order is being placed does not cut the
// placement off between the gateway and the store: the answer is stored,
// and the client's retry gets it.
func TestAClientThatHangsUpLeavesNoClaimBehind(t *testing.T) {
	t.Parallel()
	arrived, release := make(chan struct{}, 2), make(chan struct{})
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-release
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(gateway.Close)
	ctx, shutdown := context.WithCancel(context.Background())
	defer shutdown()
	var stdout syncBuffer
	addr, _ := started(t, ctx, "memory:", map[string]string{"PLACEMENT_URL": gateway.URL + "/orders"}, &stdout)

	post := func(ctx context.Context) (*http.Response, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/orders", strings.NewReader(`{"symbol":"MSFT","side":"buy","quantity":100}`))
		req.Header.Set("Idempotency-Key", "hang-up-1")
		req.Header.Set("Content-Type", "application/json")
		return http.DefaultClient.Do(req)
	}
	hangUp, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := post(hangUp)
		gone <- err
	}()
	<-arrived
	cancel()
	if err := <-gone; err == nil {
		t.Fatal("the first request was answered; want it cut off by its client")
	}
	close(release)
	for deadline := time.Now().Add(10 * time.Second); ; {
		resp, err := post(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && resp.Header.Get("Idempotent-Replay") == "true" {
			break // the first request's answer, stored
		}
		if resp.StatusCode == http.StatusCreated {
			t.Fatal("the retry placed the order again: the first placement was cut off")
		}
		if resp.StatusCode != http.StatusConflict || time.Now().After(deadline) {
			t.Fatalf("the retry: %d, want 409 while the first runs, then the 200 replay", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := len(arrived); n != 0 {
		t.Errorf("the gateway got %d more calls, want the first alone", n)
	}
}
