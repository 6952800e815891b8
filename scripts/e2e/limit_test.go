//go:build e2e

package e2e

import (
	"net/http"
	"testing"

	"github.com/orderintake/edge/order"
)

// Limit orders (docs/contract.md: Checks, The receipt): the price is a
// canonical decimal string, the receipt and the gateway's body carry type,
// limitPrice and timeInForce, and "123.450" and "123.45" are one order.
func TestLimitOrders(t *testing.T) {
	t.Parallel()
	w := gatewayWorker.get(t)
	key := newKey()
	body := `{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.450","timeInForce":"gtc"}`
	o := mustOrder(t, body)
	first := post(t, w, key, body)
	rc := wantReceipt(t, first, key, o)
	if rc.LimitPrice != "123.45" || rc.TimeInForce != "gtc" {
		t.Errorf("receipt %+v, want limitPrice 123.45 and timeInForce gtc", rc)
	}
	wantReplay(t, post(t, w, key, `{"timeInForce":"gtc","limitPrice":"0123.45","type":"limit","quantity":1e2,"side":"buy","symbol":"MSFT"}`), first.body)
	wantError(t, post(t, w, key, `{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.46","timeInForce":"gtc"}`),
		http.StatusUnprocessableEntity, "idempotency_key_reused")
	want := `{"clientOrderId":"` + rc.OrderID + `","symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45","timeInForce":"gtc"}`
	if got := string(standInOMS.Body(rc.OrderID)); got != want {
		t.Errorf("the gateway got\n%s\nwant\n%s", got, want)
	}

	// A market order without the new fields is what it always was.
	key = newKey()
	wantReceipt(t, post(t, w, key, msft), key, msftOrder)
	if got, want := string(standInOMS.Body(order.OrderID("", key, msftOrder.Fingerprint()))),
		`{"clientOrderId":"`+order.OrderID("", key, msftOrder.Fingerprint())+`","symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"day"}`; got != want {
		t.Errorf("the gateway got %s, want %s", got, want)
	}

	for _, c := range []struct {
		body  string
		field string
		want  string
	}{
		{`{"symbol":"MSFT","side":"buy","quantity":1,"type":"limit"}`, "limitPrice", "required for limit orders"},
		{`{"symbol":"MSFT","side":"buy","quantity":1,"limitPrice":"1.5"}`, "limitPrice", "only for limit orders"},
		{`{"symbol":"MSFT","side":"buy","quantity":1,"type":"limit","limitPrice":1.5}`, "limitPrice", `must be a string such as "123.45" (a JSON number cannot hold most prices exactly)`},
		{`{"symbol":"MSFT","side":"buy","quantity":1,"type":"stop"}`, "type", `must be "market" or "limit"`},
		{`{"symbol":"MSFT","side":"buy","quantity":1,"timeInForce":"fok"}`, "timeInForce", `must be "day", "gtc" or "ioc"`},
		{`{"symbol":"MSFT","side":"buy","quantity":1,"price":"1.5"}`, "price", "unknown field"},
	} {
		e := wantError(t, post(t, w, newKey(), c.body), http.StatusUnprocessableEntity, "invalid_order", "fields")
		fields, _ := e["fields"].(map[string]any)
		if fields[c.field] != c.want {
			t.Errorf("%s: fields %v, want %s: %q", c.body, fields, c.field, c.want)
		}
	}
}
