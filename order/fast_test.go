package order

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The fast paths (fast.go) must agree with the general ones wherever they
// answer, and must answer for the bodies clients send.

var fastBodies = []string{
	msft100,
	`{"symbol":"MSFT","side":"sell","quantity":1}`,
	` { "symbol" : "BRK.B" , "side" : "buy" , "quantity" : 9007199254740991 } ` + "\n",
	"{\n\t\"quantity\": 100,\r\n\t\"side\": \"buy\",\n\t\"symbol\": \"MSFT\"\n}",
	`{"symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day"}`,
	`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.450","timeInForce":"gtc"}`,
	`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"0100","timeInForce":"ioc"}`,
	`{"symbol":"A<&>\"","side":"buy","quantity":100}`, // not plain: general path
	`{"symbol":"!~","side":"buy","quantity":100}`,
	`{"symbol":"<&>","side":"buy","quantity":100}`,
}

var generalBodies = []string{
	``, ` `, `{}`, `[]`, `null`, `{"symbol":"MSFT"}`,
	`{"symbol":"MSFT","side":"buy","quantity":100}x`,
	`{"symbol":"MSFT","side":"buy","quantity":100}{}`,
	`{"symbol":"MSFT","side":"buy","quantity":100,}`,
	`{"symbol":"MSFT","side":"buy","quantity":100`,
	`{"symbol":"MSFT","side":"buy","quantity":100,"quantity":100}`,
	`{"symbol":"MSFT","side":"buy","quantity":100,"extra":1}`,
	`{"symbol":"MSFT","side":"buy","quantity":0}`,
	`{"symbol":"MSFT","side":"buy","quantity":0100}`,
	`{"symbol":"MSFT","side":"buy","quantity":100.0}`,
	`{"symbol":"MSFT","side":"buy","quantity":1e2}`,
	`{"symbol":"MSFT","side":"buy","quantity":-1}`,
	`{"symbol":"MSFT","side":"buy","quantity":9007199254740992}`,
	`{"symbol":"MSFT","side":"buy","quantity":99999999999999999}`,
	`{"symbol":"MSFT","side":"buy","quantity":"100"}`,
	`{"symbol":"MS FT","side":"buy","quantity":100}`,
	`{"symbol":"","side":"buy","quantity":100}`,
	`{"symbol":"` + strings.Repeat("A", 33) + `","side":"buy","quantity":100}`,
	`{"symbol":"M\u0053FT","side":"buy","quantity":100}`,
	`{"symbol":"MSFT","side":"hold","quantity":100}`,
	`{"symbol":"MSFT","side":"buy","quantity":100,"type":"stop"}`,
	`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit"}`,
	`{"symbol":"MSFT","side":"buy","quantity":100,"limitPrice":"1"}`,
	`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"0"}`,
	`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":1}`,
	`{"symbol":"MSFT","side":"buy","quantity":100,"timeInForce":"fok"}`,
	"{\"symbol\":\"MSFT\",\"side\":\"buy\",\"quantity\":100}\x00",
	"\ufeff{\"symbol\":\"MSFT\",\"side\":\"buy\",\"quantity\":100}",
	"{\"symbol\":\"MSFT\xff\",\"side\":\"buy\",\"quantity\":100}",
}

// checkParseFast fails when the fast path answers for body and the general
// path does not give the same order.
func checkParseFast(t *testing.T, body []byte) (answered bool) {
	fast, ok := parseOrderFast(body)
	if !ok {
		return false
	}
	general, err := parseOrder(body)
	if err != nil || !reflect.DeepEqual(fast, general) {
		t.Fatalf("%q: fast path %+v, general path %+v, %v", body, fast, general, err)
	}
	return true
}

func TestParseOrderFastAgreesWithTheGeneralPath(t *testing.T) {
	for _, body := range fastBodies {
		if !checkParseFast(t, []byte(body)) && !strings.Contains(body, `\"`) {
			t.Errorf("%q: the fast path did not answer", body)
		}
	}
	for _, body := range generalBodies {
		if checkParseFast(t, []byte(body)) {
			t.Errorf("%q: the fast path answered for a body the general path refuses or writes otherwise", body)
		}
	}
}

func FuzzParseOrderFast(f *testing.F) {
	for _, body := range append(append([]string{}, fastBodies...), generalBodies...) {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkParseFast(t, body) })
}

func checkCanonicalFast(t *testing.T, o Order) {
	o = o.WithDefaults()
	general := canonicalJSON(o)
	if fast, ok := appendCanonical(nil, o); ok && !bytes.Equal(fast, general) {
		t.Fatalf("%+v: fast path %s, json.Marshal %s", o, fast, general)
	}
}

func TestCanonicalFastAgreesWithJSON(t *testing.T) {
	for _, body := range fastBodies {
		o, err := ParseOrder([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		checkCanonicalFast(t, o)
		if _, ok := appendCanonical(nil, o.WithDefaults()); !ok && validPlain(o.Symbol) {
			t.Errorf("%+v: the fast path did not answer", o)
		}
	}
	for _, o := range []Order{{}, {Symbol: "é", Side: "buy", Quantity: 1}, {Symbol: "a\x00b", Side: "x\"", Type: "<>", TimeInForce: "&"},
		{Symbol: "MSFT", Side: "buy", Quantity: 1, Type: TypeLimit, LimitPrice: "1.50", TimeInForce: TimeInForceGTC}} {
		checkCanonicalFast(t, o)
	}
}

func validPlain(s string) bool { return !strings.ContainsAny(s, "\"\\<>&") }

func FuzzCanonicalFast(f *testing.F) {
	f.Add("MSFT", "buy", uint64(100), "", "", "")
	f.Add("A<B", "sell", uint64(1), "limit", "1.5", "gtc")
	f.Fuzz(func(t *testing.T, symbol, side string, quantity uint64, typ, price, tif string) {
		checkCanonicalFast(t, Order{Symbol: symbol, Side: side, Quantity: quantity, Type: typ, LimitPrice: price, TimeInForce: tif})
	})
}

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

func checkReceiptFast(t *testing.T, r Receipt) (answered bool) {
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
	accepted := formatTime(time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC))
	for _, r := range []Receipt{
		{OrderID: "0b6f3a4e-7d8c-5e1f-9a2b-3c4d5e6f7a8b", Status: "accepted", Symbol: "MSFT", Side: "buy", Quantity: 100,
			Type: TypeMarket, TimeInForce: TimeInForceDay, AcceptedAt: accepted},
		{OrderID: "x", Status: "accepted", Symbol: "BRK.B", Side: "sell", Quantity: 18446744073709551615,
			Type: TypeLimit, LimitPrice: "123.45", TimeInForce: TimeInForceIOC, AcceptedAt: accepted},
		{OrderID: "v1", Status: "accepted", Symbol: "A&B<C>", Side: "buy", Quantity: 1, AcceptedAt: accepted}, // the first version's fields
		{OrderID: "q", Status: "queued", Symbol: `"\`, Side: "buy", AcceptedAt: accepted},
	} {
		if !checkReceiptFast(t, r) {
			t.Errorf("%+v: the fast path did not answer", r)
		}
	}
	if checkReceiptFast(t, Receipt{Symbol: "caf\u00e9"}) {
		t.Error("a symbol that is not ASCII: the fast path answered, want marshalJSON")
	}
}

func FuzzReceiptFast(f *testing.F) {
	f.Add("id", "accepted", "MSFT", "buy", uint64(100), "market", "", "day", "2026-12-02T06:00:00.000Z")
	f.Add("", "", "a<b>&\"\\\n\u2028", "", uint64(0), "", "1.5", "", "")
	f.Fuzz(func(t *testing.T, id, status, symbol, side string, quantity uint64, typ, price, tif, at string) {
		checkReceiptFast(t, Receipt{OrderID: id, Status: status, Symbol: symbol, Side: side, Quantity: quantity,
			Type: typ, LimitPrice: price, TimeInForce: tif, AcceptedAt: at})
	})
}
