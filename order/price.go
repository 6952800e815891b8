package order

import "strings"

// MaxPriceFractionDigits and MaxPriceDigits bound a limit price (docs/contract.md#checks-in-order),
// both counted on its canonical form (see ParsePrice).
const (
	MaxPriceFractionDigits = 8
	MaxPriceDigits         = 18
)

// The problems ParsePrice reports, each read under the field name.
const (
	pricePointFirst = `must have a digit before the ".", such as "0.5"`
	pricePointLast  = `must have a digit after the ".", such as "5.0", or no ".", such as "5"`
	priceSyntax     = `must be a decimal of digits with at most one ".", such as "123.45": no sign, exponent, spaces or separators`
	priceZero       = "must be greater than 0"
	priceFraction   = "must have at most 8 digits after the decimal point"
	priceDigits     = "must have at most 18 digits in all"
)

// ParsePrice reads s, the text of a limit price, and returns its canonical
// form, or a problem ("" when s is a valid price) saying what is wrong.
//
// What is accepted: one or more ASCII digits, optionally followed by a single
// "." and one or more ASCII digits. Nothing else: no sign ("+1", "-1"), no
// exponent ("1e3"), no spaces, no thousands separators ("1,000"), no
// non-ASCII digits, no leading "." (".5": write "0.5") and no trailing "."
// ("5.": write "5"). The value must be greater than zero, so "0" and "0.000"
// are refused.
//
// The canonical form strips the insignificant zeros: leading zeros of the
// integer part (keeping a single "0" before the point, as in "0.5"),
// trailing zeros of the fractional part, and the "." when no fractional digit
// is left. So "123.450" and "123.45" are the same price, "0100" is "100",
// "1.0" is "1" and "00.50" is "0.5". The canonical form of a canonical form
// is itself.
//
// Both limits are measured on the canonical form, that is on the value, not
// on how it was written: at most MaxPriceFractionDigits digits after the
// point ("1.500000000", sent with 9 fractional digits, is the price "1.5"),
// and at most MaxPriceDigits digits in all, counting the integer digits
// without leading zeros (none when the integer part is zero) and the
// fractional digits without trailing zeros: "0.00000001" has 8 digits,
// "1234567890.12345678" has 18 and "999999999999999999" has 18. So a valid
// price is a whole number of 10^-8 units, and its digits read as one integer
// (123.45 as 12345, scale 2) fit an int64.
func ParsePrice(s string) (canonical, problem string) {
	intPart, fracPart, hasPoint := strings.Cut(s, ".")
	switch {
	case !allDigits(intPart) || !allDigits(fracPart):
		return "", priceSyntax
	case intPart == "" && fracPart == "": // "" or "."
		return "", priceSyntax
	case intPart == "":
		return "", pricePointFirst
	case hasPoint && fracPart == "":
		return "", pricePointLast
	}
	intPart = strings.TrimLeft(intPart, "0")
	fracPart = strings.TrimRight(fracPart, "0")
	switch {
	case intPart == "" && fracPart == "":
		return "", priceZero
	case len(fracPart) > MaxPriceFractionDigits:
		return "", priceFraction
	case len(intPart)+len(fracPart) > MaxPriceDigits:
		return "", priceDigits
	}
	if intPart == "" {
		intPart = "0"
	}
	if fracPart == "" {
		return intPart, ""
	}
	return intPart + "." + fracPart, ""
}

// allDigits reports whether s holds only ASCII digits; "" does.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
