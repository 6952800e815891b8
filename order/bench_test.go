package order

import (
	"context"
	"testing"
	"time"

	"github.com/orderintake/edge/internal/jsontext"
)

// Benchmarks of the pure-Go steps of a request, natively (BENCHMARKS.md):
// go test -run '^$' -bench . -benchmem ./order

var benchBody = []byte(`{"symbol":"MSFT","side":"buy","quantity":100}`)

func BenchmarkParseOrder(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseOrder(benchBody); err != nil {
			b.Fatal(err)
		}
	}
}

// An invalid order costs its parse plus the listing of every bad field.
func BenchmarkParseInvalidOrder(b *testing.B) {
	body := []byte(`{"symbol":"MS FT","side":"hold","quantity":100.5,"price":1}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseOrder(body); err == nil {
			b.Fatal("invalid order accepted")
		}
	}
}

func BenchmarkFingerprint(b *testing.B) {
	o := Order{Symbol: "MSFT", Side: "buy", Quantity: 100}
	b.ReportAllocs()
	for b.Loop() {
		o.Fingerprint()
	}
}

// The receipt: order id, placement by MintReceipt, and its JSON body.
func BenchmarkReceipt(b *testing.B) {
	o := Order{Symbol: "MSFT", Side: "buy", Quantity: 100}
	fp := o.Fingerprint()
	placer := MintReceipt{Now: time.Now}
	b.ReportAllocs()
	for b.Loop() {
		r, err := placer.Place(context.Background(), OrderID("", "bench-key", fp), "", o)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := jsontext.Marshal(r); err != nil {
			b.Fatal(err)
		}
	}
}
