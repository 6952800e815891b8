package idempotency_test

import (
	"strings"
	"testing"

	"github.com/orderintake/edge/idempotency"
)

// The record keys of the empty operation are the order intake's keys of
// docs/contract.md#the-idempotency-state-machine, so that records written before operations existed keep working;
// every other operation's keys carry it.
func TestRecordKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		call idempotency.Call
		want string
	}{
		{idempotency.Call{Key: "k-1"}, "k-1"},
		{idempotency.Call{Scope: "acme", Key: "k-1"}, "acme:k-1"},
		{idempotency.Call{Operation: "POST /webhooks", Key: "k-1"}, "POST /webhooks  k-1"},
		{idempotency.Call{Operation: "charge", Scope: "acme", Key: "k-1"}, "charge acme k-1"},
		{idempotency.Call{Operation: "charge", Scope: "acme", Key: "k-1", Fingerprint: "fp"}, "charge acme k-1"},
	}
	for _, tt := range tests {
		if got := tt.call.RecordKey(); got != tt.want {
			t.Errorf("%+v: RecordKey() = %q, want %q", tt.call, got, tt.want)
		}
	}
}

// validTriple reports whether a call keeps the rules RecordKey relies on: a
// key as ParseKey accepts it, and a scope without ':' or a space.
func validTriple(c idempotency.Call) bool {
	key, err := idempotency.ParseKey("Idempotency-Key", []string{c.Key})
	return err == nil && key == c.Key && !strings.ContainsAny(c.Scope, ": ")
}

// Two calls that keep the rules share a record key only if they are the same
// (operation, scope, key), with one exception written into docs/contract.md#the-idempotency-state-machine's keys: of
// the empty operation, an unscoped key "a:b" is the record key of scope "a"'s
// key "b". A deployment has either no client identities or one for every
// request (docs/contract.md#client-scoping), so the two never meet in one namespace.
func FuzzRecordKey(f *testing.F) {
	seeds := [][6]string{
		{"", "", "k", "", "", "k"},
		{"", "acme", "k", "", "", "acme:k"},
		{"POST /webhooks", "", "k", "", "", "k"},
		{"A B", "", "k", "A", "B", "k"},
		{"A", "B", "k", "A B", "", "k"},
		{"charge", "acme", "k", "charge acme", "", "k"},
		{"x", "", "k", "", "x", "k"},
		{"", "x", "k", "x", "", "k"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3], s[4], s[5])
	}
	f.Fuzz(func(t *testing.T, op1, scope1, key1, op2, scope2, key2 string) {
		a := idempotency.Call{Operation: op1, Scope: scope1, Key: key1}
		b := idempotency.Call{Operation: op2, Scope: scope2, Key: key2}
		if !validTriple(a) || !validTriple(b) {
			return
		}
		if op1 == "" && op2 == "" && (scope1 == "") != (scope2 == "") {
			return // the exception above
		}
		if same := a.RecordKey() == b.RecordKey(); same != (a == b) {
			t.Fatalf("%+v and %+v: record keys %q and %q", a, b, a.RecordKey(), b.RecordKey())
		}
	})
}
