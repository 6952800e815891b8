package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/orderintake/edge/client"
	"github.com/orderintake/edge/order"
)

func ExampleClient_Submit() {
	// A stand-in for the worker: it places the order, and answers a
	// quantity of 0 as the worker does.
	worker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if string(body) == `{"symbol":"MSFT","side":"buy","quantity":0}` {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			io.WriteString(w, `{"type":"https://order-intake.example/problems/invalid_order","title":"Invalid order","status":422,`+
				`"detail":"The order has invalid fields; each is named in fields.","error":"invalid_order",`+
				`"message":"The order has invalid fields; each is named in fields.","fields":{"quantity":"must be a whole number from 1 to 9007199254740991"}}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"orderId":"1b4e28ba-2fa1-5d1e-8b1c-0f6e2c3d4a5b","status":"accepted","symbol":"MSFT","side":"buy","quantity":100,`+
			`"type":"market","timeInForce":"day","acceptedAt":"2026-11-23T14:30:50.123Z"}`)
	}))
	defer worker.Close()

	c := &client.Client{BaseURL: worker.URL} // Token: "…" when client scoping is on
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// An empty key: Submit makes one and keeps it for every retry.
	rc, err := c.Submit(ctx, "", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rc.Status, rc.OrderID)

	_, err = c.Submit(ctx, "", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 0})
	var refused *client.Error
	if errors.As(err, &refused) {
		fmt.Println(refused.Status, refused.Code, refused.Fields["quantity"])
	}
	// Output:
	// accepted 1b4e28ba-2fa1-5d1e-8b1c-0f6e2c3d4a5b
	// 422 invalid_order must be a whole number from 1 to 9007199254740991
}
