package order

import (
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"testing"
)

// market is the order ParseOrder returns for a market day order.
func market(symbol, side string, quantity uint64) Order {
	return Order{Symbol: symbol, Side: side, Quantity: quantity, Type: TypeMarket, TimeInForce: TimeInForceDay}
}

// limit is the order ParseOrder returns for a limit order.
func limit(symbol, side string, quantity uint64, price, timeInForce string) Order {
	return Order{Symbol: symbol, Side: side, Quantity: quantity, Type: TypeLimit, LimitPrice: price, TimeInForce: timeInForce}
}

func TestParseOrderAcceptsEveryWayOfWritingAValidOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want Order
	}{
		{`{"symbol":"MSFT","side":"buy","quantity":100}`, market("MSFT", "buy", 100)},
		{`{"symbol":"MSFT","side":"buy","quantity":100.0}`, market("MSFT", "buy", 100)},
		{`{"symbol":"MSFT","side":"buy","quantity":1e2}`, market("MSFT", "buy", 100)},
		{`{"symbol":"MSFT","side":"buy","quantity":1E+2}`, market("MSFT", "buy", 100)},
		{`{"symbol":"MSFT","side":"buy","quantity":1000e-1}`, market("MSFT", "buy", 100)},
		{`{"symbol":"MSFT","side":"buy","quantity":0.001e5}`, market("MSFT", "buy", 100)},
		{` { "quantity" : 7 , "side" : "sell" , "symbol" : "BRK.B" } ` + "\n", market("BRK.B", "sell", 7)},
		{`{"symbol":"A","side":"buy","quantity":1}`, market("A", "buy", 1)},
		{`{"symbol":"` + strings.Repeat("Z", 32) + `","side":"buy","quantity":9007199254740991}`, market(strings.Repeat("Z", 32), "buy", MaxQuantity)},
		{`{"symbol":"BTC-USD","side":"buy","quantity":9.007199254740991e15}`, market("BTC-USD", "buy", MaxQuantity)},
		{`{"symbol":"!~A&B<C>\"\\","side":"buy","quantity":1}`, market(`!~A&B<C>"\`, "buy", 1)},
		// the defaults written out
		{`{"symbol":"MSFT","side":"buy","quantity":100,"type":"market"}`, market("MSFT", "buy", 100)},
		{`{"symbol":"MSFT","side":"buy","quantity":100,"timeInForce":"day"}`, market("MSFT", "buy", 100)},
		{`{"timeInForce":"day","type":"market","symbol":"MSFT","side":"buy","quantity":100}`, market("MSFT", "buy", 100)},
		// other times in force
		{`{"symbol":"MSFT","side":"buy","quantity":100,"timeInForce":"gtc"}`, Order{Symbol: "MSFT", Side: "buy", Quantity: 100, Type: TypeMarket, TimeInForce: TimeInForceGTC}},
		{`{"symbol":"MSFT","side":"sell","quantity":100,"type":"market","timeInForce":"ioc"}`, Order{Symbol: "MSFT", Side: "sell", Quantity: 100, Type: TypeMarket, TimeInForce: TimeInForceIOC}},
		// limit orders, the price in canonical form
		{`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45"}`, limit("MSFT", "buy", 100, "123.45", "day")},
		{`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.450"}`, limit("MSFT", "buy", 100, "123.45", "day")},
		{`{"limitPrice":"0100","type":"limit","symbol":"MSFT","side":"buy","quantity":1e2,"timeInForce":"gtc"}`, limit("MSFT", "buy", 100, "100", "gtc")},
		{`{"symbol":"MSFT","side":"sell","quantity":1,"type":"limit","limitPrice":"1.0","timeInForce":"ioc"}`, limit("MSFT", "sell", 1, "1", "ioc")},
		{`{"symbol":"MSFT","side":"sell","quantity":1,"type":"limit","limitPrice":"00.50","timeInForce":"day"}`, limit("MSFT", "sell", 1, "0.5", "day")},
		{`{"symbol":"BTC-USD","side":"buy","quantity":1,"type":"limit","limitPrice":"1.500000000"}`, limit("BTC-USD", "buy", 1, "1.5", "day")},
		{`{"symbol":"BTC-USD","side":"buy","quantity":1,"type":"limit","limitPrice":"0.00000001"}`, limit("BTC-USD", "buy", 1, "0.00000001", "day")},
		{`{"symbol":"BTC-USD","side":"buy","quantity":1,"type":"limit","limitPrice":"1234567890.12345678"}`, limit("BTC-USD", "buy", 1, "1234567890.12345678", "day")},
		{`{"symbol":"BTC-USD","side":"buy","quantity":1,"type":"limit","limitPrice":"\u0031\u0032.5"}`, limit("BTC-USD", "buy", 1, "12.5", "day")},
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
	const (
		wholeNumber = "must be a whole number from 1 to 9007199254740991"
		symbol      = "must be 1 to 32 visible ASCII characters (0x21-0x7E)"
		types       = `must be "market" or "limit"`
		timesInForc = `must be "day", "gtc" or "ioc"`
		priceString = `must be a string such as "123.45"`
		priceNumber = `must be a string such as "123.45" (a JSON number cannot hold most prices exactly)`
		msft        = `"symbol":"MSFT","side":"buy","quantity":1`
	)
	tests := []struct {
		body string
		want map[string]string
	}{
		{`{}`, map[string]string{"symbol": "required", "side": "required", "quantity": "required"}},
		{`{"symbol":"","side":"hold","quantity":0,"price":10.5}`, map[string]string{
			"symbol": symbol, "side": `must be "buy" or "sell"`, "quantity": wholeNumber, "price": "unknown field"}},
		{`{"symbol":"` + strings.Repeat("Z", 33) + `","side":"buy","quantity":1}`, map[string]string{"symbol": symbol}},
		{`{"symbol":"MS FT","side":"BUY","quantity":1}`, map[string]string{"symbol": symbol, "side": `must be "buy" or "sell"`}},
		{`{"symbol":"MSFT\u0000","side":"buy","quantity":1}`, map[string]string{"symbol": symbol}},
		{`{"symbol":"MSFT\u007f","side":"buy","quantity":1}`, map[string]string{"symbol": symbol}},
		{`{"symbol":"MSFT\u00a0","side":"buy","quantity":1}`, map[string]string{"symbol": symbol}},
		{`{"symbol":"MSFT\t","side":"buy","quantity":1}`, map[string]string{"symbol": symbol}},
		// look-alikes: a zero-width space, a full-width letter, Cyrillic А, accented letters
		{`{"symbol":"MS\u200bFT","side":"buy","quantity":1}`, map[string]string{"symbol": symbol}},
		{`{"symbol":"ＭSFT","side":"buy","quantity":1}`, map[string]string{"symbol": symbol}},
		{`{"symbol":"\u0410APL","side":"buy","quantity":1}`, map[string]string{"symbol": symbol}},
		{`{"symbol":"ÄÖÜ€","side":"buy","quantity":1}`, map[string]string{"symbol": symbol}},
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

		// type
		{`{` + msft + `,"type":"stop"}`, map[string]string{"type": types}},
		{`{` + msft + `,"type":"Market"}`, map[string]string{"type": types}},
		{`{` + msft + `,"type":""}`, map[string]string{"type": types}},
		{`{` + msft + `,"type":null}`, map[string]string{"type": types}},
		{`{` + msft + `,"type":1}`, map[string]string{"type": types}},
		{`{` + msft + `,"type":["limit"]}`, map[string]string{"type": types}},
		// timeInForce
		{`{` + msft + `,"timeInForce":"GTC"}`, map[string]string{"timeInForce": timesInForc}},
		{`{` + msft + `,"timeInForce":"fok"}`, map[string]string{"timeInForce": timesInForc}},
		{`{` + msft + `,"timeInForce":null}`, map[string]string{"timeInForce": timesInForc}},
		{`{` + msft + `,"timeInForce":""}`, map[string]string{"timeInForce": timesInForc}},
		// limitPrice: required for a limit order, refused on a market order whatever it is
		{`{` + msft + `,"type":"limit"}`, map[string]string{"limitPrice": "required for limit orders"}},
		{`{` + msft + `,"type":"limit","timeInForce":"gtc"}`, map[string]string{"limitPrice": "required for limit orders"}},
		{`{` + msft + `,"limitPrice":"123.45"}`, map[string]string{"limitPrice": "only for limit orders"}},
		{`{` + msft + `,"type":"market","limitPrice":"123.45"}`, map[string]string{"limitPrice": "only for limit orders"}},
		{`{` + msft + `,"limitPrice":null}`, map[string]string{"limitPrice": "only for limit orders"}},
		{`{` + msft + `,"limitPrice":"-1"}`, map[string]string{"limitPrice": "only for limit orders"}},
		{`{` + msft + `,"limitPrice":123.45}`, map[string]string{"limitPrice": "only for limit orders"}},
		// limitPrice on a limit order: a JSON string holding a valid price
		{`{` + msft + `,"type":"limit","limitPrice":123.45}`, map[string]string{"limitPrice": priceNumber}},
		{`{` + msft + `,"type":"limit","limitPrice":100}`, map[string]string{"limitPrice": priceNumber}},
		{`{` + msft + `,"type":"limit","limitPrice":-1}`, map[string]string{"limitPrice": priceNumber}},
		{`{` + msft + `,"type":"limit","limitPrice":null}`, map[string]string{"limitPrice": priceString}},
		{`{` + msft + `,"type":"limit","limitPrice":true}`, map[string]string{"limitPrice": priceString}},
		{`{` + msft + `,"type":"limit","limitPrice":{"value":"1"}}`, map[string]string{"limitPrice": priceString}},
		{`{` + msft + `,"type":"limit","limitPrice":["1"]}`, map[string]string{"limitPrice": priceString}},
		{`{` + msft + `,"type":"limit","limitPrice":""}`, map[string]string{"limitPrice": priceSyntax}},
		{`{` + msft + `,"type":"limit","limitPrice":"0"}`, map[string]string{"limitPrice": priceZero}},
		{`{` + msft + `,"type":"limit","limitPrice":"0.000"}`, map[string]string{"limitPrice": priceZero}},
		{`{` + msft + `,"type":"limit","limitPrice":"-1"}`, map[string]string{"limitPrice": priceSyntax}},
		{`{` + msft + `,"type":"limit","limitPrice":"1e2"}`, map[string]string{"limitPrice": priceSyntax}},
		{`{` + msft + `,"type":"limit","limitPrice":" 1"}`, map[string]string{"limitPrice": priceSyntax}},
		{`{` + msft + `,"type":"limit","limitPrice":"1,000"}`, map[string]string{"limitPrice": priceSyntax}},
		{`{` + msft + `,"type":"limit","limitPrice":".5"}`, map[string]string{"limitPrice": pricePointFirst}},
		{`{` + msft + `,"type":"limit","limitPrice":"5."}`, map[string]string{"limitPrice": pricePointLast}},
		{`{` + msft + `,"type":"limit","limitPrice":"1.123456789"}`, map[string]string{"limitPrice": priceFraction}},
		{`{` + msft + `,"type":"limit","limitPrice":"1000000000000000000"}`, map[string]string{"limitPrice": priceDigits}},
		// a wrong type: the price is checked on its own, neither required nor refused
		{`{` + msft + `,"type":"stop"}`, map[string]string{"type": types}},
		{`{` + msft + `,"type":"stop","limitPrice":"1"}`, map[string]string{"type": types}},
		{`{` + msft + `,"type":"stop","limitPrice":1}`, map[string]string{"type": types, "limitPrice": priceNumber}},
		// every new field wrong at once, with the old ones
		{`{"symbol":"MS FT","side":"buy","quantity":0,"type":"limit","limitPrice":"0","timeInForce":"week","price":"1"}`, map[string]string{
			"symbol": symbol, "quantity": wholeNumber, "limitPrice": priceZero, "timeInForce": timesInForc, "price": "unknown field"}},
		{`{"type":"limit"}`, map[string]string{"symbol": "required", "side": "required", "quantity": "required", "limitPrice": "required for limit orders"}},
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
	for _, same := range []string{
		` {"quantity":1e2, "side":"buy", "symbol":"MSFT"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"market"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"timeInForce":"day"}`,
		`{"timeInForce":"day","symbol":"MSFT","side":"buy","type":"market","quantity":100.0}`,
	} {
		if parse(same) != base {
			t.Errorf("%s fingerprints unlike the same order written otherwise", same)
		}
	}
	limit := parse(`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45"}`)
	for _, same := range []string{
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.450"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"0123.4500000000"}`,
		`{"timeInForce":"day","limitPrice":"123.45","type":"limit","symbol":"MSFT","side":"buy","quantity":1e2}`,
	} {
		if parse(same) != limit {
			t.Errorf("%s fingerprints unlike the same limit order written otherwise", same)
		}
	}
	others := []string{
		`{"symbol":"MSFU","side":"buy","quantity":100}`,
		`{"symbol":"msft","side":"buy","quantity":100}`,
		`{"symbol":"MSFT","side":"sell","quantity":100}`,
		`{"symbol":"MSFT","side":"buy","quantity":101}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"timeInForce":"gtc"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"timeInForce":"ioc"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.46"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"12345"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45","timeInForce":"gtc"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45","timeInForce":"ioc"}`,
		`{"symbol":"MSFT","side":"sell","quantity":100,"type":"limit","limitPrice":"123.45"}`,
	}
	seen := map[string]string{base: "the base order"}
	for _, other := range others {
		fp := parse(other)
		if first, dup := seen[fp]; dup {
			t.Errorf("%s fingerprints like %s", other, first)
		}
		seen[fp] = other
	}
	if len(base) != 64 {
		t.Errorf("fingerprint %q is not a hex SHA-256", base)
	}
}

// An Order built in Go with its defaults left empty is the order ParseOrder
// returns with them filled: same fingerprint, same receipt, same gateway body.
func TestEmptyDefaultsAreTheDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct{ built, parsed Order }{
		{Order{Symbol: "MSFT", Side: "buy", Quantity: 100}, market("MSFT", "buy", 100)},
		{Order{Symbol: "MSFT", Side: "buy", Quantity: 100, TimeInForce: TimeInForceGTC},
			Order{Symbol: "MSFT", Side: "buy", Quantity: 100, Type: TypeMarket, TimeInForce: TimeInForceGTC}},
		{Order{Symbol: "MSFT", Side: "buy", Quantity: 100, Type: TypeLimit, LimitPrice: "123.450"}, limit("MSFT", "buy", 100, "123.45", "day")},
	}
	for _, tt := range tests {
		if got := tt.built.WithDefaults(); got != tt.parsed {
			t.Errorf("%+v with defaults = %+v, want %+v", tt.built, got, tt.parsed)
		}
		if tt.built.Fingerprint() != tt.parsed.Fingerprint() {
			t.Errorf("%+v fingerprints unlike %+v", tt.built, tt.parsed)
		}
	}
}

// A Go client sends json.Marshal(order) as the request body: what it marshals
// reads back as the same order, with the defaults it left out filled in.
func TestOrderMarshalsToARequestBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		o    Order
		json string
	}{
		{Order{Symbol: "MSFT", Side: "buy", Quantity: 100}, `{"symbol":"MSFT","side":"buy","quantity":100}`},
		{market("MSFT", "buy", 100), `{"symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day"}`},
		{Order{Symbol: "MSFT", Side: "sell", Quantity: 5, TimeInForce: TimeInForceIOC}, `{"symbol":"MSFT","side":"sell","quantity":5,"timeInForce":"ioc"}`},
		{Order{Symbol: "MSFT", Side: "buy", Quantity: 100, Type: TypeLimit, LimitPrice: "123.45"},
			`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45"}`},
		{limit("BRK.B", "sell", MaxQuantity, "0.00000001", TimeInForceGTC),
			`{"symbol":"BRK.B","side":"sell","quantity":9007199254740991,"type":"limit","limitPrice":"0.00000001","timeInForce":"gtc"}`},
		{market("A&B<C>", "buy", 7), `{"symbol":"A\u0026B\u003cC\u003e","side":"buy","quantity":7,"type":"market","timeInForce":"day"}`},
	}
	for _, tt := range tests {
		body, err := json.Marshal(tt.o)
		if err != nil || string(body) != tt.json {
			t.Errorf("json.Marshal(%+v) = %s, %v; want %s", tt.o, body, err, tt.json)
		}
		got, err := ParseOrder(body)
		if err != nil || got != tt.o.WithDefaults() {
			t.Errorf("ParseOrder(%s) = %+v, %v; want %+v", body, got, err, tt.o.WithDefaults())
		}
		if got.Fingerprint() != tt.o.Fingerprint() {
			t.Errorf("%s fingerprints unlike the order it was marshalled from", body)
		}
	}
}

// FuzzParseOrder: no input panics, and whatever is accepted is a valid order,
// with its defaults filled in and its price canonical, that reads back
// unchanged from its own JSON.
func FuzzParseOrder(f *testing.F) {
	for _, seed := range []string{
		`{"symbol":"MSFT","side":"buy","quantity":100}`,
		`{"symbol":"MSFT","side":"sell","quantity":1e2}`,
		`{"symbol":"MSFT","side":"buy","quantity":9007199254740991}`,
		`{"symbol":"MSFT","side":"buy","quantity":100.5,"price":1}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"0123.450","timeInForce":"gtc"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":123.45,"timeInForce":"ioc"}`,
		`{"symbol":"MSFT","side":"buy","quantity":100,"limitPrice":"1"}`,
		`{"symbol":"A&B<C>","side":"buy","quantity":1,"type":"limit","limitPrice":".5"}`,
		`[1,2]`, `{"a":{"b":[1,{"c":null}]}}`, `{"quantity":-0.0e-0}`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		o, err := ParseOrder(body)
		if err != nil {
			return
		}
		if o.Quantity < 1 || o.Quantity > MaxQuantity || (o.Side != "buy" && o.Side != "sell") || o.Symbol == "" || len(o.Symbol) > 32 {
			t.Fatalf("accepted an invalid order %+v from %q", o, body)
		}
		for i := 0; i < len(o.Symbol); i++ {
			if o.Symbol[i] < 0x21 || o.Symbol[i] > 0x7e {
				t.Fatalf("accepted symbol %q from %q", o.Symbol, body)
			}
		}
		switch o.Type {
		case TypeMarket:
			if o.LimitPrice != "" {
				t.Fatalf("accepted a market order with a price %+v from %q", o, body)
			}
		case TypeLimit:
			if canonical, problem := ParsePrice(o.LimitPrice); canonical != o.LimitPrice || problem != "" {
				t.Fatalf("accepted limit price %q (canonical %q, %s) from %q", o.LimitPrice, canonical, problem, body)
			}
		default:
			t.Fatalf("accepted type %q from %q", o.Type, body)
		}
		if o.TimeInForce != TimeInForceDay && o.TimeInForce != TimeInForceGTC && o.TimeInForce != TimeInForceIOC {
			t.Fatalf("accepted timeInForce %q from %q", o.TimeInForce, body)
		}
		if o.WithDefaults() != o {
			t.Fatalf("accepted %+v from %q without its defaults", o, body)
		}
		marshalled, _ := json.Marshal(o)
		again, err := ParseOrder(marshalled)
		if err != nil || again != o {
			t.Fatalf("%s, marshalled from accepted %q, reads back as %+v, %v", marshalled, body, again, err)
		}
		if again.Fingerprint() != o.Fingerprint() {
			t.Fatalf("%s fingerprints unlike %q", marshalled, body)
		}
	})
}
