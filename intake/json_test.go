package intake

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/orderintake/edge/order"
)

// The hand-written encoders (json.go) must write what marshalJSON writes
// wherever they answer, and must answer for what the worker usually writes.

func checkLogLineFast(t *testing.T, l logLine) {
	general, err := marshalJSON(&l)
	if err != nil {
		t.Fatal(err)
	}
	if fast, ok := l.appendJSON(nil); ok && !bytes.Equal(fast, general) {
		t.Fatalf("%+v: fast path %s, marshalJSON %s", l, fast, general)
	}
}

func TestLogLineFastAgreesWithJSON(t *testing.T) {
	for _, l := range []logLine{
		{Event: "replayed", Status: 200, OrderID: "0b6f3a4e-7d8c-5e1f-9a2b-3c4d5e6f7a8b", ElapsedMs: 3},
		{Event: "placed", Status: 201, OrderID: "x"},
		{Event: "rejected", Status: 422, Code: "invalid_order", ElapsedMs: -1},
		{Event: "storage_error", Status: 503, Code: "storage_unavailable", Error: `failed on promise: Error: KV GET failed: 500 <Internal> & "quoted"`},
		{Event: "storage_error", Status: 500, Code: "corrupt_record", Error: "corrupt record under \"result:k\"\n\té \u2028"},
	} {
		checkLogLineFast(t, l)
		if _, ok := l.appendJSON(nil); !ok && !strings.ContainsAny(l.Error, "\"\n") {
			t.Errorf("%+v: the fast path did not answer", l)
		}
	}
}

func FuzzLogLineFast(f *testing.F) {
	f.Add("replayed", 200, "", "id", int64(3), "")
	f.Add("storage_error", 503, "storage_unavailable", "", int64(0), "a <b> & \"c\"\n")
	f.Fuzz(func(t *testing.T, event string, status int, code, orderID string, elapsed int64, errText string) {
		checkLogLineFast(t, logLine{Event: event, Status: status, Code: code, OrderID: orderID, ElapsedMs: elapsed, Error: errText})
	})
}

func checkReceiptFast(t *testing.T, r receiptJSON) (answered bool) {
	t.Helper()
	fast, ok := r.appendJSON(nil)
	general, err := marshalJSON(&r)
	if err != nil {
		t.Fatal(err)
	}
	if ok && string(fast) != string(general) {
		t.Fatalf("%+v: fast path %s, marshalJSON %s", r, fast, general)
	}
	return ok
}

func TestReceiptFastAgreesWithJSON(t *testing.T) {
	accepted := order.FormatTime(time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC))
	for _, r := range []receiptJSON{
		{OrderID: "0b6f3a4e-7d8c-5e1f-9a2b-3c4d5e6f7a8b", Status: "accepted", Symbol: "MSFT", Side: "buy", Quantity: 100,
			Type: order.TypeMarket, TimeInForce: order.TimeInForceDay, AcceptedAt: accepted},
		{OrderID: "x", Status: "accepted", Symbol: "BRK.B", Side: "sell", Quantity: 18446744073709551615,
			Type: order.TypeLimit, LimitPrice: "123.45", TimeInForce: order.TimeInForceIOC, AcceptedAt: accepted},
		{OrderID: "v1", Status: "accepted", Symbol: "A&B<C>", Side: "buy", Quantity: 1, AcceptedAt: accepted}, // the first version's fields
		{OrderID: "q", Status: "queued", Symbol: `"\`, Side: "buy", AcceptedAt: accepted},
	} {
		if !checkReceiptFast(t, r) {
			t.Errorf("%+v: the fast path did not answer", r)
		}
	}
	if checkReceiptFast(t, receiptJSON{Symbol: "caf\u00e9"}) {
		t.Error("a symbol that is not ASCII: the fast path answered, want marshalJSON")
	}
}

func FuzzReceiptFast(f *testing.F) {
	f.Add("id", "accepted", "MSFT", "buy", uint64(100), "market", "", "day", "2026-12-02T06:00:00.000Z")
	f.Add("", "", "a<b>&\"\\\n\u2028", "", uint64(0), "", "1.5", "", "")
	f.Fuzz(func(t *testing.T, id, status, symbol, side string, quantity uint64, typ, price, tif, at string) {
		checkReceiptFast(t, receiptJSON{OrderID: id, Status: status, Symbol: symbol, Side: side, Quantity: quantity,
			Type: typ, LimitPrice: price, TimeInForce: tif, AcceptedAt: at})
	})
}
