package kv

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/orderintake/edge/idempotency"
)

// decodeFast must agree with encoding/json wherever it answers, and answer
// for the records this package writes.

// checkFast fails when decodeFast answers for raw and encoding/json does not
// decode the same record.
func checkFast[T any](t *testing.T, raw string) (answered bool) {
	var fast, general T
	if !decodeFast(raw, &fast) {
		return false
	}
	if err := json.Unmarshal([]byte(raw), &general); err != nil || !reflect.DeepEqual(fast, general) {
		t.Fatalf("%s:\nfast path    %+v\nencoding/json %+v, %v", raw, fast, general, err)
	}
	return true
}

var (
	fastT0      = time.Date(2026, 11, 24, 17, 24, 0, 123456789, time.UTC)
	fastResults = []idempotency.Result{
		{Fingerprint: "f", Status: 201, Header: map[string]string{"Content-Type": "application/json"},
			Body: `{"orderId":"x","status":"accepted"}`, CompletedAt: fastT0, ExpiresAt: fastT0.Add(24 * time.Hour)},
		{Fingerprint: "f", Status: 422, Header: map[string]string{"Content-Type": "application/problem+json", "Location": "/x"},
			Body: "{\"detail\":\"a <b> & 'c' \\\\ / \\n\\t\\r\"}\n\t\r\b\f", CompletedAt: fastT0, ExpiresAt: fastT0.Add(time.Minute)},
		{Fingerprint: "f", Status: 201, Body: `{"orderId":"v1"}`, CompletedAt: fastT0}, // the first version's
		{Status: 204, Header: map[string]string{}, CompletedAt: fastT0.In(time.FixedZone("", 3600)), ExpiresAt: fastT0},
		{Fingerprint: "f", Status: 200, Body: "caf\u00e9 \u2028", CompletedAt: fastT0, ExpiresAt: fastT0}, // not ASCII: encoding/json
		{Fingerprint: "f", Status: 200, Body: "\x00\x1f\x7f", CompletedAt: fastT0, ExpiresAt: fastT0},
	}
	fastClaims = []idempotency.Claim{
		{Fingerprint: "f", ID: "c", ClaimedAt: fastT0, LeaseUntil: fastT0.Add(30 * time.Second)},
		{Fingerprint: "f", ClaimedAt: fastT0, LeaseUntil: fastT0.Add(30 * time.Second)},
	}
)

func TestDecodeFastAgreesWithJSON(t *testing.T) {
	for _, r := range fastResults {
		raw, _ := json.Marshal(resultRecord{Result: r})
		ascii := !strings.ContainsFunc(r.Body, func(c rune) bool { return c > 0x7e || c == 0x7f })
		if !checkFast[resultRecord](t, string(raw)) && ascii {
			t.Errorf("%s: the fast path did not answer", raw)
		}
	}
	raw, _ := json.Marshal(resultRecord{Result: idempotency.Result{Fingerprint: "f", Status: 200, CompletedAt: fastT0}, BodyBase64: "AAE="})
	if !checkFast[resultRecord](t, string(raw)) {
		t.Errorf("%s: the fast path did not answer", raw)
	}
	for _, c := range fastClaims {
		raw, _ := json.Marshal(c)
		if !checkFast[idempotency.Claim](t, string(raw)) {
			t.Errorf("%s: the fast path did not answer", raw)
		}
	}
	for _, raw := range []string{
		``, `{}`, ` {"status":201} `, `{"status":201,}`, `{"status":201}x`, `{"status":201,"status":202}`,
		`{"Status":201}`, `{"status":null}`, `{"status":"201"}`, `{"status":201.0}`, `{"status":2e2}`, `{"status":0201}`,
		`{"status":1234567890}`, `{"unknown":1}`, `{"body":"\ud83d\ude00"}`, `{"body":"\u00e9\u0000"}`, `{"body":"a\qb"}`,
		`{"completedAt":"2026-11-24T17:24:00Z"}`, `{"completedAt":"2026-11-24 17:24:00Z"}`, `{"completedAt":"2026-11-24T17:24:00\u005a"}`,
		`{"header":{"a":"b","a":"c"}}`, `{"header":{"a":1}}`, `{"header":null}`, `{"header":{}}`,
		`{"fingerprint":"f","claimId":"c","claimedAt":"2026-11-24T17:24:00Z","leaseUntil":"2026-11-24T17:24:30Z"}`,
	} {
		checkFast[resultRecord](t, raw)
		checkFast[idempotency.Claim](t, raw)
	}
}

func FuzzDecodeFast(f *testing.F) {
	for _, r := range fastResults {
		raw, _ := json.Marshal(resultRecord{Result: r})
		f.Add(string(raw))
	}
	for _, c := range fastClaims {
		raw, _ := json.Marshal(c)
		f.Add(string(raw))
	}
	f.Add(`{"header":{"a":"b"},"status":-1,"body":"\u0041\/"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		checkFast[resultRecord](t, raw)
		checkFast[idempotency.Claim](t, raw)
	})
}

// marshalRecord must write what json.Marshal writes, and answer by hand for
// the records the engine writes.
func checkMarshal(t *testing.T, record any) (byHand bool) {
	t.Helper()
	want, wantErr := json.Marshal(record)
	got, err := marshalRecord(record)
	if string(got) != string(want) || (err == nil) != (wantErr == nil) {
		t.Fatalf("%+v:\nmarshalRecord %s, %v\njson.Marshal  %s, %v", record, got, err, want, wantErr)
	}
	switch r := record.(type) {
	case *resultRecord:
		_, byHand = appendResultRecord(nil, r)
	case *idempotency.Claim:
		_, byHand = appendClaim(nil, r)
	}
	return byHand
}

func TestMarshalRecordAgreesWithJSON(t *testing.T) {
	now := time.Now() // with a monotonic reading, as the engine's claims have
	byHand := []any{
		&idempotency.Claim{Fingerprint: "v2:abc", ID: "c", ClaimedAt: now, LeaseUntil: now.Add(30 * time.Second)},
		&resultRecord{Result: idempotency.Result{Fingerprint: "v2:abc", Status: 201, Header: map[string]string{"Content-Type": "application/json"},
			Body: `{"orderId":"x","status":"accepted"}`, CompletedAt: now, ExpiresAt: now.Add(24 * time.Hour)}},
		&resultRecord{Result: idempotency.Result{Status: 204, CompletedAt: fastT0}, BodyBase64: "AAE="},
		// several headers: json.Marshal writes a map's keys sorted
		&resultRecord{Result: idempotency.Result{Fingerprint: "f", Status: 202, Header: map[string]string{"Location": "/orders/x",
			"Content-Type": "application/json", "Retry-After": "1", "A": "b"}, Body: `{}`, CompletedAt: fastT0, ExpiresAt: fastT0}},
	}
	for _, r := range fastResults {
		byHand = append(byHand, &resultRecord{Result: r})
	}
	for _, c := range fastClaims {
		byHand = append(byHand, &c)
	}
	for _, record := range byHand {
		if !checkMarshal(t, record) && isPlain(record) {
			t.Errorf("%+v: not encoded by hand", record)
		}
	}
	for _, record := range []any{
		&idempotency.Claim{Fingerprint: "<script>", ClaimedAt: fastT0, LeaseUntil: fastT0},
		&idempotency.Claim{Fingerprint: "f", ClaimedAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), LeaseUntil: fastT0},
		&resultRecord{Result: idempotency.Result{Status: 200, Header: map[string]string{"X-\u00e9": "a&b"}, Body: "\u2028", CompletedAt: fastT0}},
	} {
		if checkMarshal(t, record) {
			t.Errorf("%+v: encoded by hand, want encoding/json", record)
		}
	}
}

// isPlain reports whether json.Marshal writes every string of record as it
// is but for '"' and '\' (those the hand-written encoder writes).
func isPlain(record any) bool {
	raw, _ := json.Marshal(record)
	s := strings.NewReplacer(`\\`, "", `\"`, "").Replace(string(raw))
	return !strings.Contains(s, `\`) && !strings.ContainsFunc(s, func(c rune) bool { return c < 0x20 || c > 0x7e })
}

func FuzzMarshalRecord(f *testing.F) {
	f.Add("v2:abc", "c", 201, "Content-Type", "application/json", `{"orderId":"x"}`, int64(1764000000123456789), int64(30e9))
	f.Add("", "", 0, "", "", "\x00<\u2028>", int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, fingerprint, id string, status int, name, value, body string, unixNano, lease int64) {
		at := time.Unix(0, unixNano).UTC()
		checkMarshal(t, &idempotency.Claim{Fingerprint: fingerprint, ID: id, ClaimedAt: at, LeaseUntil: at.Add(time.Duration(lease))})
		header := map[string]string{name: value, "Content-Type": "application/json"}
		checkMarshal(t, &resultRecord{Result: idempotency.Result{Fingerprint: fingerprint, Status: status, Header: header,
			Body: body, CompletedAt: at, ExpiresAt: at.Add(time.Duration(lease))}})
		checkMarshal(t, &resultRecord{Result: idempotency.Result{Status: status, Body: body, CompletedAt: at}, BodyBase64: id})
	})
}
