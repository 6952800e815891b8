package intake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/orderintake/edge/idempotency"
	"github.com/orderintake/edge/order"
)

// serveStatus answers GET /orders/<orderId> (docs/queue-mode.md): the consumer's
// outcome when there is one, else the intake's queued record. An id that is
// not an order id, an unknown one and another client's order are all 404,
// and the first is answered without touching storage.
func (s *Service) serveStatus(w http.ResponseWriter, r *http.Request, orderID string) {
	client, refused := s.admit(w, r)
	if refused != nil {
		return
	}
	notFound := &idempotency.Problem{Status: http.StatusNotFound, Code: "not_found",
		Detail: "There is no order with this id for this client; order ids are the orderId of a 202."}
	if !order.IsOrderID(orderID) {
		notFound.Detail = "This is not an order id: an order id is a lower-case UUID, the orderId of a 202."
		answer(w, notFound)
		return
	}
	ctx := r.Context()
	result, err := readResult(ctx, s.cfg.Store, idempotency.Call{Scope: client, Operation: PlaceOperation, Key: orderID}.RecordKey())
	if err != nil {
		answer(w, idempotency.StorageProblem(err))
		return
	}
	if result != nil {
		document(w, http.StatusOK, []byte(result.Body))
		return
	}
	raw, found, err := s.cfg.Statuses.Get(ctx, StatusRecordPrefix+orderID)
	if err != nil {
		answer(w, idempotency.StorageProblem(err))
		return
	}
	var record statusRecord
	if found {
		if err := json.Unmarshal([]byte(raw), &record); err != nil || len(record.Document) == 0 {
			answer(w, idempotency.StorageProblem(fmt.Errorf("%w under %q", idempotency.ErrCorruptRecord, StatusRecordPrefix+orderID)))
			return
		}
	}
	if !found || record.Client != client {
		answer(w, notFound) // never 403: whether the order exists is not told
		return
	}
	document(w, http.StatusOK, record.Document)
}

// resultReader is a store that can read a result without also reading the
// claim (package kv's): the status route needs only the result.
type resultReader interface {
	ReadResult(ctx context.Context, key string) (*idempotency.Result, error)
}

func readResult(ctx context.Context, store idempotency.Store, key string) (*idempotency.Result, error) {
	if rr, ok := store.(resultReader); ok {
		return rr.ReadResult(ctx, key)
	}
	result, _, err := store.Lookup(ctx, key)
	return result, err
}
