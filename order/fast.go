package order

import (
	"strconv"

	"github.com/orderintake/edge/internal/jsontext"
)

// Fast paths for the common case of each step of a request, written by hand
// instead of encoding/json's reflection and tokenizer: under WebAssembly
// those were the largest share of the Go work of a replay (BENCHMARKS.md).
// Each one handles only inputs it understands completely and returns ok =
// false for everything else, which then takes the general path; so every
// answer, error message or byte written is the general path's. Their tests
// (fast_test.go) compare both paths.

// parseOrderFast parses a body that is a valid order written plainly: one
// JSON object of the order's members, each once, its strings without escapes
// and its quantity plain digits. For anything else, invalid orders included,
// ok is false and ParseOrder's general path decides.
func parseOrderFast(body []byte) (o Order, ok bool) {
	const (
		sawSymbol = 1 << iota
		sawSide
		sawQuantity
		sawType
		sawPrice
		sawTimeInForce
	)
	o = Order{Type: TypeMarket, TimeInForce: TimeInForceDay}
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return Order{}, false
	}
	seen := 0
	for {
		name, next, ok := plainString(body, skipSpace(body, i+1))
		if !ok {
			return Order{}, false
		}
		i = skipSpace(body, next)
		if i >= len(body) || body[i] != ':' {
			return Order{}, false
		}
		i = skipSpace(body, i+1)
		var bit int
		switch name {
		case "symbol":
			bit = sawSymbol
			o.Symbol, i, ok = plainString(body, i)
			ok = ok && validSymbol(o.Symbol)
		case "side":
			bit = sawSide
			o.Side, i, ok = plainString(body, i)
			ok = ok && (o.Side == "buy" || o.Side == "sell")
		case "quantity":
			bit = sawQuantity
			o.Quantity, i, ok = plainQuantity(body, i)
		case "type":
			bit = sawType
			o.Type, i, ok = plainString(body, i)
			ok = ok && (o.Type == TypeMarket || o.Type == TypeLimit)
		case "limitPrice":
			bit = sawPrice
			var price, problem string
			price, i, ok = plainString(body, i)
			o.LimitPrice, problem = ParsePrice(price)
			ok = ok && problem == ""
		case "timeInForce":
			bit = sawTimeInForce
			o.TimeInForce, i, ok = plainString(body, i)
			ok = ok && (o.TimeInForce == TimeInForceDay || o.TimeInForce == TimeInForceGTC || o.TimeInForce == TimeInForceIOC)
		}
		if !ok || bit == 0 || seen&bit != 0 {
			return Order{}, false
		}
		seen |= bit
		i = skipSpace(body, i)
		if i >= len(body) {
			return Order{}, false
		}
		if body[i] == '}' {
			break
		}
		if body[i] != ',' {
			return Order{}, false
		}
	}
	if skipSpace(body, i+1) != len(body) || seen&(sawSymbol|sawSide|sawQuantity) != sawSymbol|sawSide|sawQuantity {
		return Order{}, false
	}
	if (o.Type == TypeLimit) != (seen&sawPrice != 0) {
		return Order{}, false
	}
	return o, true
}

// skipSpace returns the index of the first byte from i on that is not JSON
// whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// plainString reads the JSON string at i if it is printable ASCII without
// escapes, and returns it and the index after it.
func plainString(b []byte, i int) (string, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return string(b[i+1 : j]), j + 1, true
		case c == '\\' || c < 0x20 || c > 0x7e:
			return "", i, false
		}
	}
	return "", i, false
}

// plainQuantity reads the JSON number at i if it is a whole number from 1 to
// MaxQuantity written as plain digits.
func plainQuantity(b []byte, i int) (uint64, int, bool) {
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	// No leading zero (not JSON, or zero), no fraction or exponent, at most
	// MaxQuantity's 16 digits.
	if j == i || b[i] == '0' || j-i > 16 || (j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E')) {
		return 0, i, false
	}
	n, err := strconv.ParseUint(string(b[i:j]), 10, 64)
	if err != nil || n > MaxQuantity {
		return 0, i, false
	}
	return n, j, true
}

func validSymbol(s string) bool {
	if len(s) < 1 || len(s) > maxSymbolChars {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// appendCanonical appends the canonical form of o, which must have its
// defaults filled in, as json.Marshal writes fingerprintV (see canonical);
// ok is false when a string needs an escape, which json.Marshal then writes.
func appendCanonical(b []byte, o Order) ([]byte, bool) {
	var ok bool
	b = append(b, `{"symbol":`...)
	if b, ok = jsontext.AppendString(b, o.Symbol, true); !ok {
		return nil, false
	}
	b = append(b, `,"side":`...)
	if b, ok = jsontext.AppendString(b, o.Side, true); !ok {
		return nil, false
	}
	b = append(b, `,"quantity":`...)
	b = strconv.AppendUint(b, o.Quantity, 10)
	if o.Type != TypeMarket && o.Type != "" {
		b = append(b, `,"type":`...)
		if b, ok = jsontext.AppendString(b, o.Type, true); !ok {
			return nil, false
		}
	}
	if o.LimitPrice != "" {
		b = append(b, `,"limitPrice":`...)
		if b, ok = jsontext.AppendString(b, o.LimitPrice, true); !ok {
			return nil, false
		}
	}
	if o.TimeInForce != TimeInForceDay && o.TimeInForce != "" {
		b = append(b, `,"timeInForce":`...)
		if b, ok = jsontext.AppendString(b, o.TimeInForce, true); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}
