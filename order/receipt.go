package order

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Receipt is the body of a 201; its fields marshal in this order (docs/contract.md#the-receipt).
// MintReceipt fills Type and TimeInForce on every receipt, and LimitPrice on
// a limit order's. A receipt the first version stored has none of the three:
// it decodes with them empty, and re-encodes to the same bytes.
type Receipt struct {
	OrderID     string `json:"orderId"`
	Status      string `json:"status"`
	Symbol      string `json:"symbol"`
	Side        string `json:"side"`
	Quantity    uint64 `json:"quantity"`
	Type        string `json:"type,omitempty"`
	LimitPrice  string `json:"limitPrice,omitempty"`
	TimeInForce string `json:"timeInForce,omitempty"`
	AcceptedAt  string `json:"acceptedAt"`
}

// orderIDNamespace is this service's version-5 UUID namespace. Changing it
// changes every order id, so it is fixed forever.
var orderIDNamespace = uuid.MustParse("6f1c2a52-93d4-4f1e-9b0a-5d2a7e3c8b41")

// OrderID derives the order id from what identifies one request: any two
// executions of the same request (a race across edge locations, a retry after
// a lost result write) get the same id, so a downstream system can drop the
// second. Neither scope nor key can contain a newline, so the joined name is
// unambiguous.
func OrderID(scope, key, fingerprint string) string {
	return uuid.NewSHA1(orderIDNamespace, []byte(scope+"\n"+key+"\n"+fingerprint)).String()
}

// IsOrderID reports whether id has the form of the ids OrderID derives: a
// lower-case, hyphenated version-5 UUID.
func IsOrderID(id string) bool {
	if len(id) != 36 || id[14] != '5' {
		return false
	}
	for i, c := range []byte(id) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// TimeLayout is the layout of every time the intake answers with
// (acceptedAt, placedAt): JavaScript's toISOString, UTC, milliseconds, Z.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime writes t as JavaScript's toISOString does: UTC, milliseconds, Z.
func FormatTime(t time.Time) string {
	return t.UTC().Format(TimeLayout)
}

// Placer places an order. orderID is stable across retries of one request,
// so a real gateway (an order-management service, a FIX bridge) can pass it
// on as the client order id and have the far side drop duplicates. client is
// the caller's id when client scoping is on, else "". An error that is a
// *Refusal is a definitive no to this order; any other error means it may be
// placed by a retry.
type Placer interface {
	Place(ctx context.Context, orderID, client string, o Order) (Receipt, error)
}

// MintReceipt is the default Placer: there is no downstream system, so
// accepting an order means writing its receipt.
type MintReceipt struct {
	Now func() time.Time
}

// Place writes the receipt of o, accepted now, with its defaults filled in.
func (m MintReceipt) Place(_ context.Context, orderID, _ string, o Order) (Receipt, error) {
	o = o.WithDefaults()
	return Receipt{
		OrderID:     orderID,
		Status:      "accepted",
		Symbol:      o.Symbol,
		Side:        o.Side,
		Quantity:    o.Quantity,
		Type:        o.Type,
		LimitPrice:  o.LimitPrice,
		TimeInForce: o.TimeInForce,
		AcceptedAt:  FormatTime(m.Now()),
	}, nil
}
