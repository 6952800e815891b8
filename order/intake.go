package order

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Intake is the idempotency state machine: for one valid order under one
// idempotency key it places the order at most once per claim and answers every
// retry with the original receipt.
type Intake struct {
	Records  Records
	Placer   Placer
	Settings Settings
	Now      func() time.Time
}

// Submit runs a validated order through the state machine. scope is the
// client identity ("" when clients are not configured); it keeps one client's
// keys apart from another's.
func (in Intake) Submit(ctx context.Context, scope, key string, o Order) response {
	fingerprint := o.Fingerprint()
	recordKey := key
	if scope != "" {
		recordKey = scope + ":" + key // client ids cannot contain ':'
	}

	// 1. What is already known about this key?
	result, claim, err := in.Records.Lookup(ctx, recordKey)
	if errors.Is(err, ErrCorruptRecord) {
		return failure(http.StatusInternalServerError, "storage_error", err, errorBody{
			Error: "corrupt_record", Message: "The stored record for this Idempotency-Key cannot be read; nothing was placed. Contact the operator."})
	}
	if err != nil {
		return storageUnavailable(err)
	}

	// 2. A completed result answers every retry, for as long as it is kept.
	if result != nil {
		if result.Fingerprint != fingerprint {
			return keyReused()
		}
		return response{status: http.StatusOK, body: []byte(result.Body), event: "replayed",
			header: map[string]string{"Idempotent-Replay": "true"}, orderID: OrderID(scope, key, fingerprint)}
	}

	// 3. A live claim means another request is placing an order right now.
	now := in.Now()
	if claim != nil && now.Before(claim.LeaseUntil) {
		if claim.Fingerprint != fingerprint {
			return keyReused()
		}
		wait := max(1, ceilSeconds(claim.LeaseUntil.Sub(now)))
		return failure(http.StatusConflict, "in_progress", nil, errorBody{
			Error: "in_progress", RetryAfter: wait,
			Message: fmt.Sprintf("An order with this Idempotency-Key is being placed; retry in %d s to get its receipt.", wait)})
	}

	// 4. Nothing stored, or a claim whose lease ended: claim the key, then place.
	// Fail closed: no placement without a stored claim.
	orderID := OrderID(scope, key, fingerprint)
	if err := in.Records.Claim(ctx, recordKey, Claim{Fingerprint: fingerprint, ClaimedAt: now, LeaseUntil: now.Add(in.Settings.Lease)}); err != nil {
		return storageUnavailable(err)
	}
	receipt, err := in.Placer.Place(ctx, orderID, o)
	if err != nil {
		// Free the key so a retry may place the order; if the delete fails the
		// claim still ends with its lease.
		if releaseErr := in.Records.Release(ctx, recordKey); releaseErr != nil {
			err = errors.Join(err, fmt.Errorf("releasing the claim: %w", releaseErr))
		}
		out := failure(http.StatusBadGateway, "placement_error", err, errorBody{
			Error: "placement_failed", Message: "The order could not be placed. Retry with the same Idempotency-Key."})
		out.orderID = orderID
		return out
	}
	body, err := marshalJSON(receipt)
	if err != nil {
		return internalError(err)
	}
	out := response{status: http.StatusCreated, body: body, event: "placed", orderID: orderID}
	// The order exists now, so the client gets its receipt even if it cannot
	// be stored; the claim keeps retries out until its lease ends.
	if err := in.Records.Complete(ctx, recordKey, Result{Fingerprint: fingerprint, Status: http.StatusCreated, Body: string(body), CompletedAt: in.Now()}, in.Settings.ResultTTL); err != nil {
		out.event, out.cause = "result_write_error", err
	}
	return out
}

func keyReused() response {
	return failure(http.StatusUnprocessableEntity, "key_reused", nil, errorBody{
		Error:   "idempotency_key_reused",
		Message: "This Idempotency-Key was already used for a different order; use a new key for a new order."})
}

func storageUnavailable(err error) response {
	return failure(http.StatusServiceUnavailable, "storage_error", err, errorBody{
		Error: "storage_unavailable", RetryAfter: 1,
		Message: "Order storage is unavailable; nothing was placed. Retry with the same Idempotency-Key."})
}
