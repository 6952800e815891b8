-- Strict mode: the authoritative idempotency records (README: Strict mode).
-- Times are Unix milliseconds.
CREATE TABLE idempotency_records (
  record_key      TEXT PRIMARY KEY,          -- "<client>:<key>" or "<key>"
  fingerprint     TEXT NOT NULL,             -- SHA-256 of the canonical order
  status          TEXT NOT NULL CHECK (status IN ('processing', 'completed')),
  response_status INTEGER,                   -- completed rows only
  response_body   TEXT,                      -- completed rows only: the exact 201 body
  claimed_at      INTEGER NOT NULL,          -- identifies the claim
  lease_until     INTEGER NOT NULL,          -- a processing row blocks retries until then
  completed_at    INTEGER,
  expires_at      INTEGER NOT NULL           -- the row is dead after this; the cron job deletes it
);

CREATE INDEX idempotency_records_expires_at ON idempotency_records (expires_at);
