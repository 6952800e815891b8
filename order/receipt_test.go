package order

import (
	"context"
	"regexp"
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
