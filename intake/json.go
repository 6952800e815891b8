package intake

import (
	"strconv"

	"github.com/orderintake/edge/internal/jsontext"
	"github.com/orderintake/edge/order"
)

// Hand-written encoders for the JSON of every request (the log line, the
// receipt), instead of encoding/json's reflection: under WebAssembly that was
// a large share of the Go work of a request (BENCHMARKS.md). Each one
// handles only strings it writes exactly as marshalJSON does and reports
// false for anything else, which marshalJSON then writes; json_test.go
// compares both.

// marshalJSON writes JSON as JavaScript's JSON.stringify does.
var marshalJSON = jsontext.Marshal

// receiptJSON is a receipt with its hand-written encoder.
type receiptJSON order.Receipt

// fastJSON is a value with a hand-written encoder: appendJSON writes what
// marshalJSON writes, or reports false.
type fastJSON interface {
	appendJSON(b []byte) ([]byte, bool)
}

// encodeJSON writes v as marshalJSON does: by its hand-written encoder when
// that answers, else by marshalJSON. size is the usual length of v's JSON.
func encodeJSON(v fastJSON, size int) ([]byte, error) {
	if b, ok := v.appendJSON(make([]byte, 0, size)); ok {
		return b, nil
	}
	return marshalJSON(v)
}

// appendJSON appends the log line as marshalJSON writes it; ok is false
// when a string needs an escape.
func (l *logLine) appendJSON(b []byte) ([]byte, bool) {
	var ok bool
	b = append(b, `{"event":`...)
	if b, ok = jsontext.AppendString(b, l.Event, false); !ok {
		return nil, false
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(l.Status), 10)
	if l.Code != "" {
		b = append(b, `,"code":`...)
		if b, ok = jsontext.AppendString(b, l.Code, false); !ok {
			return nil, false
		}
	}
	if l.OrderID != "" {
		b = append(b, `,"orderId":`...)
		if b, ok = jsontext.AppendString(b, l.OrderID, false); !ok {
			return nil, false
		}
	}
	b = append(b, `,"elapsedMs":`...)
	b = strconv.AppendInt(b, l.ElapsedMs, 10)
	if l.Error != "" {
		b = append(b, `,"error":`...)
		if b, ok = jsontext.AppendString(b, l.Error, false); !ok {
			return nil, false
		}
	}
	return append(b, '}'), true
}

// appendJSON appends the receipt as marshalJSON writes it; ok is false when
// a string needs an escape.
func (r *receiptJSON) appendJSON(b []byte) ([]byte, bool) {
	ok := true
	field := func(name, value string, omitEmpty bool) {
		if ok && (value != "" || !omitEmpty) {
			b = append(b, name...)
			b, ok = jsontext.AppendString(b, value, false)
		}
	}
	field(`{"orderId":`, r.OrderID, false)
	field(`,"status":`, r.Status, false)
	field(`,"symbol":`, r.Symbol, false)
	field(`,"side":`, r.Side, false)
	b = append(b, `,"quantity":`...)
	b = strconv.AppendUint(b, r.Quantity, 10)
	field(`,"type":`, r.Type, true)
	field(`,"limitPrice":`, r.LimitPrice, true)
	field(`,"timeInForce":`, r.TimeInForce, true)
	field(`,"acceptedAt":`, r.AcceptedAt, false)
	return append(b, '}'), ok
}
