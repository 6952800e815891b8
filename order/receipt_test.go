package order

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestOrderIDIsDeterministicPerScopeKeyAndOrder(t *testing.T) {
	t.Parallel()
	fp := Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint()
	other := Order{Symbol: "MSFT", Side: "buy", Quantity: 101}.Fingerprint()
	id := OrderID("", "k1", fp)
	if again := OrderID("", "k1", fp); again != id {
		t.Fatalf("same request, two ids: %s, %s", id, again)
	}
	u, err := uuid.Parse(id)
	if err != nil || u.Version() != 5 || u.Variant() != uuid.RFC4122 {
		t.Fatalf("order id %s is not an RFC 4122 version-5 UUID (%v)", id, err)
	}
	for name, differentID := range map[string]string{
		"other key":   OrderID("", "k2", fp),
		"other order": OrderID("", "k1", other),
		"other scope": OrderID("acme", "k1", fp),
	} {
		if differentID == id {
			t.Errorf("%s gives the same order id", name)
		}
	}
}

func TestReceiptTimeIsJavaScriptISOString(t *testing.T) {
	t.Parallel()
	isoString := regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$`)
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 23, 14, 30, 50, 123456789, time.UTC), "2026-11-23T14:30:50.123Z"},
		{time.Date(2026, 11, 23, 14, 30, 50, 0, time.UTC), "2026-11-23T14:30:50.000Z"},
		{time.Date(2026, 11, 23, 15, 30, 50, 7e6, time.FixedZone("CET", 3600)), "2026-11-23T14:30:50.007Z"},
	}
	for _, tt := range tests {
		r, _ := MintReceipt{Now: func() time.Time { return tt.in }}.Place(context.Background(), "id", "", Order{Symbol: "MSFT", Side: "buy", Quantity: 1})
		if r.AcceptedAt != tt.want || !isoString.MatchString(r.AcceptedAt) {
			t.Errorf("acceptedAt for %v = %q, want %q", tt.in, r.AcceptedAt, tt.want)
		}
	}
}

// docs/contract.md#the-receipt: the receipt's members, in order, for every kind of order.
func TestReceiptBody(t *testing.T) {
	t.Parallel()
	at := func() time.Time { return time.Date(2026, 11, 23, 14, 30, 50, 123e6, time.UTC) }
	tests := []struct {
		o    Order
		want string
	}{
		{Order{Symbol: "MSFT", Side: "buy", Quantity: 100},
			`{"orderId":"id","status":"accepted","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day","acceptedAt":"2026-11-23T14:30:50.123Z"}`},
		{market("MSFT", "buy", 100),
			`{"orderId":"id","status":"accepted","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day","acceptedAt":"2026-11-23T14:30:50.123Z"}`},
		{Order{Symbol: "MSFT", Side: "sell", Quantity: 100, Type: TypeMarket, TimeInForce: TimeInForceIOC},
			`{"orderId":"id","status":"accepted","symbol":"MSFT","side":"sell","quantity":100,"type":"market","timeInForce":"ioc","acceptedAt":"2026-11-23T14:30:50.123Z"}`},
		{limit("MSFT", "buy", 100, "123.45", TimeInForceDay),
			`{"orderId":"id","status":"accepted","symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45","timeInForce":"day","acceptedAt":"2026-11-23T14:30:50.123Z"}`},
		{Order{Symbol: "BRK.B", Side: "sell", Quantity: 3, Type: TypeLimit, LimitPrice: "0400.10", TimeInForce: TimeInForceGTC},
			`{"orderId":"id","status":"accepted","symbol":"BRK.B","side":"sell","quantity":3,"type":"limit","limitPrice":"400.1","timeInForce":"gtc","acceptedAt":"2026-11-23T14:30:50.123Z"}`},
	}
	for _, tt := range tests {
		r, err := MintReceipt{Now: at}.Place(context.Background(), "id", "", tt.o)
		if err != nil {
			t.Fatal(err)
		}
		body, err := json.Marshal(r)
		if err != nil || string(body) != tt.want {
			t.Errorf("receipt of %+v\n got %s\nwant %s", tt.o, body, tt.want)
		}
	}
}

// A receipt the first version stored (no type, no timeInForce) still decodes,
// and encodes back to its own bytes.
func TestFirstVersionReceiptDecodes(t *testing.T) {
	t.Parallel()
	const v1 = `{"orderId":"7224ca73-2aa5-5bc6-9194-b07395500fa7","status":"accepted","symbol":"MSFT","side":"buy","quantity":100,"acceptedAt":"2026-11-23T14:30:50.123Z"}`
	var r Receipt
	if err := json.Unmarshal([]byte(v1), &r); err != nil {
		t.Fatal(err)
	}
	want := Receipt{OrderID: "7224ca73-2aa5-5bc6-9194-b07395500fa7", Status: "accepted", Symbol: "MSFT", Side: "buy",
		Quantity: 100, AcceptedAt: "2026-11-23T14:30:50.123Z"}
	if r != want {
		t.Errorf("decoded %+v, want %+v", r, want)
	}
	if again, _ := json.Marshal(r); string(again) != v1 {
		t.Errorf("re-encoded\n got %s\nwant %s", again, v1)
	}
}

// IsOrderID accepts exactly the form OrderID derives.
func TestIsOrderID(t *testing.T) {
	t.Parallel()
	id := OrderID("acme", "k", Order{Symbol: "MSFT", Side: "buy", Quantity: 100}.Fingerprint())
	if !IsOrderID(id) {
		t.Errorf("IsOrderID(%q) = false for an id OrderID derived", id)
	}
	for _, bad := range []string{
		"", "not-an-id", strings.ToUpper(id), "{" + id + "}", "urn:uuid:" + id, id + "0", id[:35],
		"0b6f3a4e-7d8c-4e1f-9a2b-3c4d5e6f7a8b", // version 4
		"0b6f3a4e_7d8c-5e1f-9a2b-3c4d5e6f7a8b", // not hyphenated
		"0b6f3a4e-7d8c-5e1f-9a2b-3c4d5e6f7a8g", // not hex
	} {
		if IsOrderID(bad) {
			t.Errorf("IsOrderID(%q) = true", bad)
		}
	}
}
