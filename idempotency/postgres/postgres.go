// Package postgres is an idempotency.Store in PostgreSQL (through pgx), for
// native servers at the origin: the order system's own database keeps the
// records, and a handler can store its answer in its own transaction
// (CompleteTx), so that its business write and the answer replayed to every
// retry commit together or not at all.
//
// Claiming a key is one atomic statement (INSERT … ON CONFLICT DO UPDATE …
// WHERE the row has expired): of concurrent claims of one key exactly one
// wins, across every process that shares the database. Every row carries
// its expiry (a claim's lease end, a result's ExpiresAt); DeleteExpired
// removes dead rows in bounded batches. Migrate creates the table.
//
// Every decision about time (is a result still live, has a lease ended) is
// taken on the Store's clock, Now, so the processes sharing a database
// should keep their clocks in sync, as they must for the engine's leases
// anyway. Times are kept to the microsecond, as PostgreSQL keeps them.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/orderintake/edge/idempotency"
)

// DB runs statements: a *pgxpool.Pool, a *pgx.Conn or a pgx.Tx.
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Store keeps the records in the idempotency_records table of DB's
// search_path (Migrate creates it). It is safe for concurrent use.
type Store struct {
	DB DB
	// Now is the clock of every expiry decision; nil means time.Now.
	Now func() time.Time
}

// New returns a store over db on the clock now (nil: time.Now).
func New(db DB, now func() time.Time) *Store {
	return &Store{DB: db, Now: now}
}

// The statements, one per method.
const (
	sqlLookup = `
		SELECT fingerprint, claim_id, claimed_at, lease_until, status, header, body, completed_at, expires_at
		FROM idempotency_records WHERE record_key = $1 AND expires_at > $2`

	// sqlClaim is the whole claim: the insert, the conflict and the
	// takeover of a dead row run as one statement, so of two concurrent
	// claims exactly one changes a row. A claim's expires_at is its lease
	// end, so "dead" is one condition for claims and results alike. The
	// claim's own row counts as won, so that the statement can be sent again
	// when the connection broke before its answer came.
	sqlClaim = `
		INSERT INTO idempotency_records AS r (record_key, fingerprint, claim_id, claimed_at, lease_until, expires_at)
		VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (record_key) DO UPDATE SET
			fingerprint = excluded.fingerprint, claim_id = excluded.claim_id,
			claimed_at = excluded.claimed_at, lease_until = excluded.lease_until, expires_at = excluded.expires_at,
			status = NULL, header = NULL, body = NULL, completed_at = NULL
		WHERE r.expires_at <= $6 OR r.claim_id = excluded.claim_id AND r.status IS NULL`

	sqlHolder = `
		SELECT fingerprint, claim_id, claimed_at, lease_until
		FROM idempotency_records WHERE record_key = $1 AND status IS NULL`

	sqlCompleteTx = `
		UPDATE idempotency_records SET status = $3, header = $4, body = $5, completed_at = $6, expires_at = $7
		WHERE record_key = $1 AND claim_id = $2 AND status IS NULL`

	// sqlComplete completes the claim, or finds it completed already by
	// CompleteTx in the function's own transaction.
	sqlComplete = `
		WITH completed AS (` + sqlCompleteTx + ` RETURNING 1)
		SELECT EXISTS (SELECT 1 FROM completed)
			OR EXISTS (SELECT 1 FROM idempotency_records WHERE record_key = $1 AND claim_id = $2 AND status IS NOT NULL)`

	sqlRelease = `DELETE FROM idempotency_records WHERE record_key = $1 AND claim_id = $2 AND status IS NULL`

	// sqlDeleteExpired deletes through the expires_at index, oldest first,
	// passing over rows another statement has locked (a takeover, another
	// cleanup), so one statement's work is bounded by its limit.
	sqlDeleteExpired = `
		DELETE FROM idempotency_records WHERE record_key IN (
			SELECT record_key FROM idempotency_records WHERE expires_at <= $1
			ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED)`
)

// Lookup returns the live result under key or, when there is none, the
// live claim.
func (s *Store) Lookup(ctx context.Context, key string) (*idempotency.Result, *idempotency.Claim, error) {
	var (
		c           idempotency.Claim
		status      *int32
		header      []byte
		body        []byte
		completedAt *time.Time
		expiresAt   time.Time
	)
	err := s.queryRow(ctx, func(db DB) error {
		return db.QueryRow(ctx, sqlLookup, key, s.now()).
			Scan(&c.Fingerprint, &c.ID, &c.ClaimedAt, &c.LeaseUntil, &status, &header, &body, &completedAt, &expiresAt)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	case status == nil:
		return nil, &c, nil
	}
	r := &idempotency.Result{Fingerprint: c.Fingerprint, Status: int(*status), Body: string(body), ExpiresAt: expiresAt}
	if completedAt != nil {
		r.CompletedAt = *completedAt
	}
	if header != nil {
		if err := json.Unmarshal(header, &r.Header); err != nil {
			return nil, nil, fmt.Errorf("%w: the header of %q: %v", idempotency.ErrCorruptRecord, key, err)
		}
	}
	return r, nil, nil
}

// Claim runs the atomic claim. When it loses, a second read reports the
// claim holding the key, if a claim (not a result) does.
func (s *Store) Claim(ctx context.Context, key string, c idempotency.Claim) (bool, *idempotency.Claim, error) {
	tag, err := s.exec(ctx, sqlClaim, key, c.Fingerprint, c.ID, c.ClaimedAt, c.LeaseUntil, s.now())
	if err != nil {
		return false, nil, err
	}
	if tag.RowsAffected() == 1 {
		return true, &c, nil
	}
	var holder idempotency.Claim
	err = s.queryRow(ctx, func(db DB) error {
		return db.QueryRow(ctx, sqlHolder, key).Scan(&holder.Fingerprint, &holder.ID, &holder.ClaimedAt, &holder.LeaseUntil)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil, nil // a result holds it, or the holder is gone already
	}
	if err != nil {
		return false, nil, err
	}
	return false, &holder, nil
}

// Complete replaces claim c with r. It is done, and returns nil, when
// CompleteTx already stored this claim's result; idempotency.ErrClaimLost
// when c no longer holds the key.
func (s *Store) Complete(ctx context.Context, key string, c idempotency.Claim, r idempotency.Result) error {
	var done bool
	err := s.queryRow(ctx, func(db DB) error { return db.QueryRow(ctx, sqlComplete, completeArgs(key, c, r)...).Scan(&done) })
	if err != nil {
		return err
	}
	if !done {
		return idempotency.ErrClaimLost
	}
	return nil
}

// CompleteTx replaces claim c with r inside the caller's transaction tx:
// the result is stored if and only if tx commits. The function run by
// idempotency.Engine.Do finds its claim with idempotency.HeldFrom:
//
//	held, _ := idempotency.HeldFrom(ctx)
//	err := store.CompleteTx(ctx, tx, held.Key, held.Claim, held.Result(resp, time.Now()))
//
// It returns idempotency.ErrClaimLost when c no longer holds the key; the
// caller should then roll tx back.
func (s *Store) CompleteTx(ctx context.Context, tx pgx.Tx, key string, c idempotency.Claim, r idempotency.Result) error {
	tag, err := tx.Exec(ctx, sqlCompleteTx, completeArgs(key, c, r)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return idempotency.ErrClaimLost
	}
	return nil
}

func completeArgs(key string, c idempotency.Claim, r idempotency.Result) []any {
	var header []byte // NULL for no headers
	if len(r.Header) > 0 {
		header, _ = json.Marshal(r.Header) // a string map: cannot fail
	}
	return []any{key, c.ID, r.Status, header, []byte(r.Body), r.CompletedAt, r.ExpiresAt}
}

// Release deletes claim c, if it still holds key.
func (s *Store) Release(ctx context.Context, key string, c idempotency.Claim) error {
	_, err := s.exec(ctx, sqlRelease, key, c.ID)
	return err
}

// Cleanup bounds, per DeleteExpired run: rows per statement, and statements.
const (
	CleanupBatch      = 500
	CleanupMaxBatches = 20
)

// DeleteExpired removes rows dead at the store's now (results past their
// expiry, claims past their lease), in statements of at most batch rows and
// no more than maxBatches statements, so one run's cost is bounded however
// large the backlog; the next run continues. It returns how many rows it
// deleted. Run it on a schedule (the order server does, every minute).
func (s *Store) DeleteExpired(ctx context.Context, batch, maxBatches int) (int, error) {
	now := s.now()
	total := 0
	for range maxBatches {
		tag, err := s.DB.Exec(ctx, sqlDeleteExpired, now, batch)
		if err != nil {
			return total, err
		}
		n := int(tag.RowsAffected())
		total += n
		if n < batch {
			break
		}
	}
	return total, nil
}

// Every statement of Lookup, Claim, Complete and Release can be sent twice
// with the same effect as once. So when one fails because its connection
// broke (the server restarted, an administrator or a failover ended its
// connections), the store sends it once more, on a fresh connection: a
// pool's other idle connections are most likely broken too, and are closed
// first (pgxpool.Pool.Reset).

func (s *Store) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := s.DB.Exec(ctx, sql, args...)
	if s.connectionLost(ctx, err) {
		tag, err = s.DB.Exec(ctx, sql, args...)
	}
	return tag, err
}

func (s *Store) queryRow(ctx context.Context, scan func(DB) error) error {
	err := scan(s.DB)
	if s.connectionLost(ctx, err) {
		err = scan(s.DB)
	}
	return err
}

// connectionLost reports whether err is the loss of the connection rather
// than the server's answer to the statement, and if so resets the pool.
func (s *Store) connectionLost(ctx context.Context, err error) bool {
	var pgErr *pgconn.PgError
	switch {
	case err == nil || errors.Is(err, pgx.ErrNoRows) || ctx.Err() != nil:
		return false
	case errors.As(err, &pgErr) && !strings.HasPrefix(pgErr.Code, "57P") && !strings.HasPrefix(pgErr.Code, "08"):
		return false // the server's answer: an error of the statement
	}
	if pool, ok := s.DB.(interface{ Reset() }); ok {
		pool.Reset()
	}
	return true
}

func (s *Store) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
