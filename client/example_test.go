package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
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

func ExampleClient_Wait() {
	// A stand-in for a worker in queue mode: it answers the order 202
	// queued, and its status queued once, then placed.
	const doc = `{"orderId":"154696e6-4b98-5e11-a66d-ef5eaf57526d","status":%q,"symbol":"MSFT","side":"buy","quantity":100,` +
		`"type":"market","timeInForce":"day","acceptedAt":"2026-12-01T23:56:21.116Z"%s}`
	var reads atomic.Int32
	worker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost:
			w.Header().Set("Location", "/orders/154696e6-4b98-5e11-a66d-ef5eaf57526d")
			w.WriteHeader(http.StatusAccepted)
			fmt.Fprintf(w, doc, "queued", "")
		case reads.Add(1) == 1:
			fmt.Fprintf(w, doc, "queued", "")
		default:
			fmt.Fprintf(w, doc, "placed", `,"placedAt":"2026-12-01T23:56:22.155Z"`)
		}
	}))
	defer worker.Close()

	c := &client.Client{BaseURL: worker.URL}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	rc, err := c.Submit(ctx, "", order.Order{Symbol: "MSFT", Side: "buy", Quantity: 100})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rc.Status, rc.OrderID)

	// Wait reads the status until it is final: placed, rejected or failed.
	st, err := c.Wait(ctx, rc.OrderID)
	if err != nil { // the deadline, 404 not_found, 401, ...
		fmt.Println(err)
		return
	}
	switch st.Status {
	case "placed":
		fmt.Println(st.Status, st.PlacedAt)
	default: // rejected or failed
		fmt.Println(st.Status, st.Reason)
	}
	// Output:
	// queued 154696e6-4b98-5e11-a66d-ef5eaf57526d
	// placed 2026-12-01T23:56:22.155Z
}
