package order

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Intake is the idempotency state machine: for one valid order under one
// idempotency key it places the order at most once per claim and answers every
// retry with the original answer (a receipt, or the gateway's refusal).
type Intake struct {
	Records  Records
	Placer   Placer
	Settings Settings
	Now      func() time.Time
}

// Submit runs a validated order through the state machine. scope is the
// client identity ("" when clients are not configured); it keeps one client's
// keys apart from another's.
func (in Intake) Submit(ctx context.Context, scope, key string, o Order) (out response) {
	fingerprint := o.Fingerprint()
	orderID := OrderID(scope, key, fingerprint)
	defer func() { out.orderID = orderID }() // every answer's log line names its order
	recordKey := key
	if scope != "" {
		recordKey = scope + ":" + key // client ids cannot contain ':'
	}

	// 1–3. A stored result or a live claim decides the answer.
	if out, settled := in.answerFromRecords(ctx, recordKey, fingerprint); settled {
		return out
	}

	// 4. Nothing stored, or a claim whose lease ended: claim the key, then
	// place. Fail closed: no placement without a stored claim that is ours.
	now := in.Now()
	claim := Claim{Fingerprint: fingerprint, ID: uuid.NewString(), ClaimedAt: now, LeaseUntil: now.Add(in.Settings.Lease)}
	won, holder, err := in.Records.Claim(ctx, recordKey, claim)
	if err != nil {
		return storageFailure(err) // a claim we could not confirm is left to its lease
	}
	if !won {
		// Another request claimed the key after we read it: answer as that
		// request's retry would be answered, from its claim when the store
		// showed it to us, else from a second look.
		settled := false
		if holder != nil {
			out, settled = in.answerFromClaim(*holder, fingerprint)
		} else {
			out, settled = in.answerFromRecords(ctx, recordKey, fingerprint)
		}
		if !settled {
			out = inProgress(1) // and that claim has already ended again
		}
		return out
	}
	receipt, err := in.Placer.Place(ctx, orderID, scope, o)
	var refusal *Refusal
	switch {
	case errors.As(err, &refusal):
		// A definitive no is this key's answer, stored and replayed like a
		// receipt: a new order needs a new key.
		out = failure(http.StatusUnprocessableEntity, "order_rejected", err, errorBody{
			Error: "order_rejected", Reason: refusal.Reason,
			Message: "The order gateway refused this order (reason says why); a new order needs a new Idempotency-Key."})
	case err != nil:
		// Free the key so a retry may place the order; if the claim cannot be
		// deleted (or is no longer ours) it still ends with its lease.
		if releaseErr := in.Records.Release(ctx, recordKey, claim); releaseErr != nil {
			err = errors.Join(err, fmt.Errorf("releasing the claim: %w", releaseErr))
		}
		return failure(http.StatusBadGateway, "placement_error", err, errorBody{
			Error: "placement_failed", Message: "The order could not be placed. Retry with the same Idempotency-Key."})
	default:
		body, err := marshalJSON(receipt)
		if err != nil {
			return internalError(err)
		}
		out = response{status: http.StatusCreated, body: body, event: "placed"}
	}
	// The answer is final now (the order exists, or was refused), so the
	// client gets it even if it cannot be stored; the claim keeps retries out
	// until its lease ends.
	result := Result{Fingerprint: fingerprint, Status: out.status, Body: string(out.body), CompletedAt: in.Now()}
	if err := in.Records.Complete(ctx, recordKey, claim, result, in.Settings.ResultTTL); err != nil {
		out.event, out.cause = "result_write_error", err
	}
	return out
}

// answerFromRecords answers from what is stored under the key: a result is
// replayed (or refuses another order), a live claim makes a retry wait (or
// refuses another order). settled is false when the key is free to claim.
func (in Intake) answerFromRecords(ctx context.Context, recordKey, fingerprint string) (out response, settled bool) {
	result, claim, err := in.Records.Lookup(ctx, recordKey)
	switch {
	case err != nil:
		return storageFailure(err), true
	case result != nil && result.Fingerprint != fingerprint:
		return keyReused(), true
	case result != nil:
		status := result.Status // a stored refusal replays as it was sent
		if status == http.StatusCreated {
			status = http.StatusOK
		}
		return response{status: status, body: []byte(result.Body), event: "replayed",
			header: map[string]string{"Idempotent-Replay": "true"}}, true
	}
	if claim == nil {
		return response{}, false
	}
	return in.answerFromClaim(*claim, fingerprint)
}

// answerFromClaim answers while claim holds the key; settled is false when
// its lease has ended.
func (in Intake) answerFromClaim(claim Claim, fingerprint string) (out response, settled bool) {
	now := in.Now()
	switch {
	case !now.Before(claim.LeaseUntil):
		return response{}, false
	case claim.Fingerprint != fingerprint:
		return keyReused(), true // 422 outranks 409
	default:
		return inProgress(max(1, ceilSeconds(claim.LeaseUntil.Sub(now)))), true
	}
}

func inProgress(wait int) response {
	return failure(http.StatusConflict, "in_progress", nil, errorBody{
		Error: "in_progress", RetryAfter: wait,
		Message: fmt.Sprintf("An order with this Idempotency-Key is being placed; retry in %d s to get its receipt.", wait)})
}

func keyReused() response {
	return failure(http.StatusUnprocessableEntity, "key_reused", nil, errorBody{
		Error:   "idempotency_key_reused",
		Message: "This Idempotency-Key was already used for a different order; use a new key for a new order."})
}

// storageFailure answers a failed read or write of the records.
func storageFailure(err error) response {
	if errors.Is(err, ErrCorruptRecord) {
		return failure(http.StatusInternalServerError, "storage_error", err, errorBody{
			Error: "corrupt_record", Message: "The stored record for this Idempotency-Key cannot be read; nothing was placed. Contact the operator."})
	}
	return failure(http.StatusServiceUnavailable, "storage_error", err, errorBody{
		Error: "storage_unavailable", RetryAfter: 1,
		Message: "Order storage is unavailable; nothing was placed. Retry with the same Idempotency-Key."})
}
