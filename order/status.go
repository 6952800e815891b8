package order

// The statuses of an order placed through a queue (docs/queue-mode.md).
// StatusQueued is the intake's; the other three are final, written once the
// order has been placed or has failed to be.
const (
	StatusQueued   = "queued"
	StatusPlaced   = "placed"
	StatusRejected = "rejected"
	StatusFailed   = "failed"
)

// OrderStatus is an order's status document (docs/queue-mode.md), the body of
// a 202 and of GET /orders/<orderId>: members in this order, placedAt once
// placed, reason once rejected or failed.
type OrderStatus struct {
	OrderID     string `json:"orderId"`
	Status      string `json:"status"`
	Symbol      string `json:"symbol"`
	Side        string `json:"side"`
	Quantity    uint64 `json:"quantity"`
	Type        string `json:"type"`
	LimitPrice  string `json:"limitPrice,omitempty"`
	TimeInForce string `json:"timeInForce"`
	AcceptedAt  string `json:"acceptedAt"`
	PlacedAt    string `json:"placedAt,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// StatusOf is the status document of order o, given id orderID and accepted
// at acceptedAt (FormatTime's form), with its defaults filled in.
func StatusOf(orderID string, o Order, acceptedAt, status string) OrderStatus {
	o = o.WithDefaults()
	return OrderStatus{OrderID: orderID, Status: status, Symbol: o.Symbol, Side: o.Side, Quantity: o.Quantity,
		Type: o.Type, LimitPrice: o.LimitPrice, TimeInForce: o.TimeInForce, AcceptedAt: acceptedAt}
}
