package order

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

// The fast paths (fast.go) must agree with the general ones wherever they
// answer, and must answer for the bodies clients send.

var fastBodies = []string{
	`{"symbol":"MSFT","side":"buy","quantity":100}`,
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
