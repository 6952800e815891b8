// Command oms runs the stand-in order-management service (scripts/internal/oms)
// on 127.0.0.1, for `make dev-gateway` and for demos by hand:
//
//	go run ./scripts/oms -port 8790
//	go run ./scripts/oms -store postgres://…     # dedupe clientOrderIds on PostgreSQL (or redis://…)
//	go run ./scripts/oms -first 503,503          # every order fails twice, then is placed
//	go run ./scripts/oms -refuse "market closed" # every order is refused
//	curl -X POST 127.0.0.1:8790/control -d '{"first":["hang"]}'   # change the plan while running
//	curl 127.0.0.1:8790/calls                                     # calls per clientOrderId
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/orderintake/edge/idempotency/storeurl"
	"github.com/orderintake/edge/scripts/internal/oms"
)

func main() {
	port := flag.Int("port", 8790, "port on 127.0.0.1 (0 picks a free one)")
	token := flag.String("token", "", "demand Authorization: Bearer <token> (the worker's PLACEMENT_TOKEN)")
	first := flag.String("first", "", `answers to the first calls of every order, comma-separated: HTTP statuses or "hang"`)
	refuse := flag.String("refuse", "", "refuse every order with 422 and this message")
	storeURL := flag.String("store", "memory:", "where the clientOrderIds answered are kept: memory:, postgres://… or redis://…")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	store, err := storeurl.Open(ctx, *storeURL, nil)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "oms:", err)
		os.Exit(1)
	}

	plan := oms.Plan{Refuse: *refuse}
	if *first != "" {
		plan.First = strings.Split(*first, ",")
	}
	// Loopback only: the stand-in has no authentication of its own by default.
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("oms: listening on http://%s/orders\n", l.Addr())
	log.Fatal(http.Serve(l, oms.NewOn(store, *token, plan, os.Stdout)))
}
