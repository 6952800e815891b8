package order

import (
	"math/big"
	"regexp"
	"strings"
	"testing"
)

func TestParsePrice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, canonical, problem string
	}{
		// accepted, and how each is written canonically
		{"123.45", "123.45", ""},
		{"123.450", "123.45", ""},
		{"0100", "100", ""},
		{"1.0", "1", ""},
		{"1", "1", ""},
		{"0.5", "0.5", ""},
		{"00.50", "0.5", ""},
		{"000000000000000000000000001", "1", ""},
		{"0.00000001", "0.00000001", ""},
		{"1.500000000", "1.5", ""}, // 9 fractional digits sent, 1 in the price
		{"12.34567890000000000000", "12.3456789", ""},
		{"999999999999999999", "999999999999999999", ""}, // 18 digits
		{"1234567890.12345678", "1234567890.12345678", ""},
		{"0999999999999999999.000", "999999999999999999", ""},
		{"99999999.99999999", "99999999.99999999", ""},
		// not positive
		{"0", "", priceZero},
		{"0.000", "", priceZero},
		{"000", "", priceZero},
		{"0.0", "", priceZero},
		// too precise, or too many digits
		{"0.000000001", "", priceFraction},
		{"1.123456789", "", priceFraction},
		{"1000000000000000000", "", priceDigits}, // 19 digits
		{"12345678901.12345678", "", priceDigits},
		{"0.1234567891", "", priceFraction},
		// not written as a decimal of digits
		{"", "", priceSyntax},
		{".", "", priceSyntax},
		{".5", "", pricePointFirst},
		{"5.", "", pricePointLast},
		{"-1", "", priceSyntax},
		{"+1", "", priceSyntax},
		{"-0.5", "", priceSyntax},
		{"1e3", "", priceSyntax},
		{"1E-2", "", priceSyntax},
		{" 1", "", priceSyntax},
		{"1 ", "", priceSyntax},
		{"1 000", "", priceSyntax},
		{"1,000.00", "", priceSyntax},
		{"1,5", "", priceSyntax},
		{"1.2.3", "", priceSyntax},
		{"..5", "", priceSyntax},
		{"1..5", "", priceSyntax},
		{"0x10", "", priceSyntax},
		{"NaN", "", priceSyntax},
		{"Infinity", "", priceSyntax},
		{"١٢٣", "", priceSyntax}, // Arabic-Indic digits
		{"１２３", "", priceSyntax}, // full-width digits
		{"12\u200b3", "", priceSyntax},
		{"1/2", "", priceSyntax},
		{"$5", "", priceSyntax},
	}
	for _, tt := range tests {
		canonical, problem := ParsePrice(tt.in)
		if canonical != tt.canonical || problem != tt.problem {
			t.Errorf("ParsePrice(%q) = %q, %q; want %q, %q", tt.in, canonical, problem, tt.canonical, tt.problem)
		}
	}
}

func TestPriceProblemsNameTheirLimits(t *testing.T) {
	t.Parallel()
	if !strings.Contains(priceFraction, "8") || MaxPriceFractionDigits != 8 ||
		!strings.Contains(priceDigits, "18") || MaxPriceDigits != 18 {
		t.Errorf("the messages %q and %q do not match the limits %d and %d",
			priceFraction, priceDigits, MaxPriceFractionDigits, MaxPriceDigits)
	}
}

// canonicalPrice is what every accepted price reads as: no leading zero
// before a non-zero integer part, no trailing zero after the point.
var canonicalPrice = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.[0-9]*[1-9])?$`)

// decimalPrice is the grammar ParsePrice accepts before its limits.
var decimalPrice = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// FuzzParsePrice: no input panics; the canonical form is canonical, reads
// as itself and has the input's exact value; and the grammar and limits
// decide acceptance, as math/big computes them independently.
func FuzzParsePrice(f *testing.F) {
	for _, seed := range []string{
		"123.45", "123.450", "0100", "1.0", "0.5", "00.50", "0", "0.000", ".5", "5.", "",
		"0.00000001", "0.000000001", "1.500000000", "999999999999999999", "1000000000000000000",
		"1234567890.12345678", "-1", "+1", "1e3", " 1", "1,5", "1.2.3", "0x10", "１２３",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		canonical, problem := ParsePrice(s)
		if (canonical == "") == (problem == "") {
			t.Fatalf("ParsePrice(%q) = %q, %q: want exactly one of a price and a problem", s, canonical, problem)
		}
		if problem == "" {
			if !canonicalPrice.MatchString(canonical) {
				t.Fatalf("ParsePrice(%q) = %q, which is not canonical", s, canonical)
			}
			if again, p := ParsePrice(canonical); again != canonical || p != "" {
				t.Fatalf("ParsePrice(%q) = %q, %q; want itself back", canonical, again, p)
			}
		}
		if !decimalPrice.MatchString(s) {
			if problem == "" {
				t.Fatalf("ParsePrice(%q) accepted what is not digits with one optional point", s)
			}
			return
		}
		// The oracle reads the value with math/big and measures it there.
		v, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("math/big cannot read %q", s)
		}
		if problem == "" {
			if got, _ := new(big.Rat).SetString(canonical); got.Cmp(v) != 0 {
				t.Fatalf("ParsePrice(%q) = %q, which is %v, not %v", s, canonical, got, v)
			}
		}
		if problem != wantPriceProblem(v) {
			t.Fatalf("ParsePrice(%q) = %q, %q; math/big says %q", s, canonical, problem, wantPriceProblem(v))
		}
	})
}

// wantPriceProblem measures a value as docs/contract.md#checks-in-order does: positive, at most 8
// fractional digits (the fewest that write it exactly), and at most 18
// digits in all (those plus the integer part's, none for a zero one).
func wantPriceProblem(v *big.Rat) string {
	if v.Sign() <= 0 {
		return priceZero
	}
	scaled, frac := new(big.Rat).Set(v), 0
	for !scaled.IsInt() {
		if frac == MaxPriceFractionDigits {
			return priceFraction
		}
		scaled.Mul(scaled, big.NewRat(10, 1))
		frac++
	}
	whole := new(big.Int).Quo(v.Num(), v.Denom())
	intDigits := 0
	if whole.Sign() > 0 {
		intDigits = len(whole.String())
	}
	if intDigits+frac > MaxPriceDigits {
		return priceDigits
	}
	return ""
}
