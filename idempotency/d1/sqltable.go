package d1

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/orderintake/edge/idempotency"
)

// The statements of strict mode's read, claim and completion. They are
// exported so the D1 cost probe (scripts/bench) measures these very
// statements rather than a copy.
const (
	SQLGet = `
		SELECT fingerprint, status, response_status, response_headers, response_body, claimed_at, lease_until, completed_at, expires_at
		FROM idempotency_records WHERE record_key = ?1 AND expires_at > ?2`

	// SQLClaim is the whole point of strict mode: SQLite runs the insert, the
	// conflict check and the takeover condition as one statement, so of two
	// concurrent claims exactly one changes a row.
	SQLClaim = `
		INSERT INTO idempotency_records (record_key, fingerprint, status, claimed_at, lease_until, expires_at)
		VALUES (?1, ?2, 'processing', ?3, ?4, ?5)
		ON CONFLICT (record_key) DO UPDATE SET
			fingerprint = excluded.fingerprint, status = 'processing',
			response_status = NULL, response_headers = NULL, response_body = NULL, completed_at = NULL,
			claimed_at = excluded.claimed_at, lease_until = excluded.lease_until, expires_at = excluded.expires_at
		WHERE idempotency_records.expires_at <= ?3
			OR (idempotency_records.status = 'processing' AND idempotency_records.lease_until <= ?3)`

	SQLComplete = `
		UPDATE idempotency_records
		SET status = 'completed', response_status = ?1, response_body = ?2, completed_at = ?3, expires_at = ?4,
			response_headers = ?8
		WHERE record_key = ?5 AND status = 'processing' AND claimed_at = ?6 AND fingerprint = ?7`
)

// SQLTable is the Table in D1 (or any SQLite), through database/sql.
type SQLTable struct {
	DB *sql.DB
}

// Get runs SQLGet.
func (t SQLTable) Get(ctx context.Context, key string, now time.Time) (*Row, error) {
	var (
		r                                Row
		status                           string
		responseStatus, completedAt      sql.NullInt64
		responseHeaders, responseBody    sql.NullString
		claimedAt, leaseUntil, expiresAt int64
	)
	err := t.DB.QueryRowContext(ctx, SQLGet, key, now.UnixMilli()).
		Scan(&r.Fingerprint, &status, &responseStatus, &responseHeaders, &responseBody, &claimedAt, &leaseUntil, &completedAt, &expiresAt)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	r.Completed = status == "completed"
	r.ResponseStatus, r.ResponseBody = int(responseStatus.Int64), responseBody.String
	if responseHeaders.Valid && json.Unmarshal([]byte(responseHeaders.String), &r.ResponseHeader) != nil {
		return nil, fmt.Errorf("%w: the response headers of %q", idempotency.ErrCorruptRecord, key)
	}
	r.ClaimedAt, r.LeaseUntil, r.ExpiresAt = time.UnixMilli(claimedAt), time.UnixMilli(leaseUntil), time.UnixMilli(expiresAt)
	if completedAt.Valid {
		r.CompletedAt = time.UnixMilli(completedAt.Int64)
	}
	return &r, nil
}

// Claim reports whether SQLClaim changed a row: whether this claim won.
func (t SQLTable) Claim(ctx context.Context, key string, c idempotency.Claim, expiresAt time.Time) (bool, error) {
	res, err := t.DB.ExecContext(ctx, SQLClaim,
		key, c.Fingerprint, c.ClaimedAt.UnixMilli(), c.LeaseUntil.UnixMilli(), expiresAt.UnixMilli())
	return changedOne(res, err)
}

// Complete runs SQLComplete; idempotency.ErrClaimLost when it changed no row.
func (t SQLTable) Complete(ctx context.Context, key string, c idempotency.Claim, r idempotency.Result, expiresAt time.Time) error {
	res, err := t.DB.ExecContext(ctx, SQLComplete,
		r.Status, r.Body, r.CompletedAt.UnixMilli(), expiresAt.UnixMilli(), key, c.ClaimedAt.UnixMilli(), c.Fingerprint,
		headerJSON(r.Header))
	changed, err := changedOne(res, err)
	if err == nil && !changed {
		err = idempotency.ErrClaimLost
	}
	return err
}

// Release deletes claim c's row, if it is still c's.
func (t SQLTable) Release(ctx context.Context, key string, c idempotency.Claim) error {
	_, err := t.DB.ExecContext(ctx, `
		DELETE FROM idempotency_records
		WHERE record_key = ?1 AND status = 'processing' AND claimed_at = ?2 AND fingerprint = ?3`,
		key, c.ClaimedAt.UnixMilli(), c.Fingerprint)
	return err
}

// DeleteExpired deletes through the expires_at index, oldest first, so one
// statement's work is bounded by limit whatever the backlog.
func (t SQLTable) DeleteExpired(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := t.DB.ExecContext(ctx, `
		DELETE FROM idempotency_records WHERE record_key IN (
			SELECT record_key FROM idempotency_records WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)`,
		now.UnixMilli(), limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func changedOne(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
