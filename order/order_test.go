package order

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
)

func TestParseOrderAcceptsEveryWayOfWritingAValidOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want Order
	}{
		{`{"symbol":"MSFT","side":"buy","quantity":100}`, Order{"MSFT", "buy", 100}},
		{`{"symbol":"MSFT","side":"buy","quantity":100.0}`, Order{"MSFT", "buy", 100}},
		{`{"symbol":"MSFT","side":"buy","quantity":1e2}`, Order{"MSFT", "buy", 100}},
		{`{"symbol":"MSFT","side":"buy","quantity":1E+2}`, Order{"MSFT", "buy", 100}},
		{`{"symbol":"MSFT","side":"buy","quantity":1000e-1}`, Order{"MSFT", "buy", 100}},
		{`{"symbol":"MSFT","side":"buy","quantity":0.001e5}`, Order{"MSFT", "buy", 100}},
		{` { "quantity" : 7 , "side" : "sell" , "symbol" : "BRK.B" } ` + "\n", Order{"BRK.B", "sell", 7}},
		{`{"symbol":"A","side":"buy","quantity":1}`, Order{"A", "buy", 1}},
		{`{"symbol":"` + strings.Repeat("Z", 32) + `","side":"buy","quantity":9007199254740991}`, Order{strings.Repeat("Z", 32), "buy", MaxQuantity}},
		{`{"symbol":"ÄÖÜ€","side":"buy","quantity":9.007199254740991e15}`, Order{"ÄÖÜ€", "buy", MaxQuantity}},
	}
	for _, tt := range tests {
		got, err := ParseOrder([]byte(tt.body))
		if err != nil || got != tt.want {
			t.Errorf("ParseOrder(%s) = %+v, %v; want %+v", tt.body, got, err, tt.want)
		}
	}
}

func TestParseOrderRefusesWhatIsNotOneJSONObject(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		``,
		` `,
		`{`,
		`{"symbol":"MSFT",}`,
		`[{"symbol":"MSFT","side":"buy","quantity":1}]`,
		`"order"`,
		`null`,
		`42`,
		`{"symbol":"MSFT","side":"buy","quantity":1} x`,
		`{"symbol":"MSFT","side":"buy","quantity":1}{}`,
		`{"symbol":"MSFT","side":"buy","quantity":1,"quantity":2}`,
		"{\"symbol\":\"MS\xffT\",\"side\":\"buy\",\"quantity\":1}",
		`{'symbol':'MSFT'}`,
	} {
		_, err := ParseOrder([]byte(body))
		var malformed *MalformedJSONError
		if !errors.As(err, &malformed) {
			t.Errorf("ParseOrder(%q) error = %v, want malformed JSON", body, err)
		}
	}
}

func TestParseOrderListsEveryBadField(t *testing.T) {
	t.Parallel()
	const wholeNumber = "must be a whole number from 1 to 9007199254740991"
	tests := []struct {
		body string
		want map[string]string
	}{
		{`{}`, map[string]string{"symbol": "required", "side": "required", "quantity": "required"}},
		{`{"symbol":"","side":"hold","quantity":0,"price":10.5}`, map[string]string{
			"symbol": "must be 1 to 32 characters", "side": `must be "buy" or "sell"`, "quantity": wholeNumber, "price": "unknown field"}},
		{`{"symbol":"` + strings.Repeat("Z", 33) + `","side":"buy","quantity":1}`, map[string]string{"symbol": "must be 1 to 32 characters"}},
		{`{"symbol":"MS FT","side":"BUY","quantity":1}`, map[string]string{
			"symbol": "must not contain whitespace or control characters", "side": `must be "buy" or "sell"`}},
		{`{"symbol":"MSFT\u0000","side":"buy","quantity":1}`, map[string]string{"symbol": "must not contain whitespace or control characters"}},
		{`{"symbol":"MSFT\u00a0","side":"buy","quantity":1}`, map[string]string{"symbol": "must not contain whitespace or control characters"}},
		{`{"symbol":42,"side":null,"quantity":1}`, map[string]string{"symbol": "must be a string", "side": `must be "buy" or "sell"`}},
		{`{"symbol":"MSFT","side":"buy","quantity":100.5}`, map[string]string{"quantity": wholeNumber}},
		{`{"symbol":"MSFT","side":"buy","quantity":-1}`, map[string]string{"quantity": wholeNumber}},
		{`{"symbol":"MSFT","side":"buy","quantity":-0}`, map[string]string{"quantity": wholeNumber}},
		{`{"symbol":"MSFT","side":"buy","quantity":0.0e9}`, map[string]string{"quantity": wholeNumber}},
		{`{"symbol":"MSFT","side":"buy","quantity":9007199254740992}`, map[string]string{"quantity": wholeNumber}},
		{`{"symbol":"MSFT","side":"buy","quantity":1e16}`, map[string]string{"quantity": wholeNumber}},
		// float64 would round this to a whole number; the exact value is not one.
		{`{"symbol":"MSFT","side":"buy","quantity":9007199254740990.5}`, map[string]string{"quantity": wholeNumber}},
		{`{"symbol":"MSFT","side":"buy","quantity":1e999999999999999999999}`, map[string]string{"quantity": wholeNumber}},
		{`{"symbol":"MSFT","side":"buy","quantity":1e-999999999999999999999}`, map[string]string{"quantity": wholeNumber}},
		{`{"symbol":"MSFT","side":"buy","quantity":"100"}`, map[string]string{"quantity": "must be a JSON number"}},
		{`{"symbol":"MSFT","side":"buy","quantity":null}`, map[string]string{"quantity": "must be a JSON number"}},
		{`{"symbol":"MSFT","side":"buy","quantity":[1]}`, map[string]string{"quantity": "must be a JSON number"}},
		{`{"symbol":"MSFT","side":"buy","quantity":1,"Symbol":"X"}`, map[string]string{"Symbol": "unknown field"}},
	}
	for _, tt := range tests {
		_, err := ParseOrder([]byte(tt.body))
		var invalid *InvalidOrderError
		if !errors.As(err, &invalid) {
			t.Errorf("ParseOrder(%s) error = %v, want an invalid order", tt.body, err)
			continue
		}
		if !maps.Equal(invalid.Fields, tt.want) {
			t.Errorf("ParseOrder(%s) fields = %v, want %v", tt.body, invalid.Fields, tt.want)
		}
	}
}

func TestFingerprintIgnoresNotationButNotContent(t *testing.T) {
	t.Parallel()
	parse := func(body string) string {
		o, err := ParseOrder([]byte(body))
		if err != nil {
			t.Fatalf("ParseOrder(%s): %v", body, err)
		}
		return o.Fingerprint()
	}
	base := parse(`{"symbol":"MSFT","side":"buy","quantity":100}`)
	if got := parse(` {"quantity":1e2, "side":"buy", "symbol":"MSFT"}`); got != base {
		t.Errorf("the same order written differently fingerprints differently")
	}
	for _, other := range []string{
		`{"symbol":"MSFU","side":"buy","quantity":100}`,
		`{"symbol":"MSFT","side":"sell","quantity":100}`,
		`{"symbol":"MSFT","side":"buy","quantity":101}`,
	} {
		if parse(other) == base {
			t.Errorf("%s fingerprints like the base order", other)
		}
	}
	if len(base) != 64 {
		t.Errorf("fingerprint %q is not a hex SHA-256", base)
	}
}

// FuzzParseOrder: no input panics, and whatever is accepted is a valid order
// that reads back unchanged from its canonical JSON.
func FuzzParseOrder(f *testing.F) {
	for _, seed := range []string{
		`{"symbol":"MSFT","side":"buy","quantity":100}`,
		`{"symbol":"MSFT","side":"sell","quantity":1e2}`,
		`{"symbol":"MSFT","side":"buy","quantity":9007199254740991}`,
		`{"symbol":"MSFT","side":"buy","quantity":100.5,"price":1}`,
		`[1,2]`, `{"a":{"b":[1,{"c":null}]}}`, `{"quantity":-0.0e-0}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseOrder(body)
		if err != nil {
			return
		}
		if o.Quantity < 1 || o.Quantity > MaxQuantity || (o.Side != "buy" && o.Side != "sell") || o.Symbol == "" {
			t.Fatalf("accepted an invalid order %+v from %q", o, body)
		}
		canonical, _ := json.Marshal(o)
		again, err := ParseOrder(canonical)
		if err != nil || again != o {
			t.Fatalf("canonical %s of accepted %q reads back as %+v, %v", canonical, body, again, err)
		}
	})
}
