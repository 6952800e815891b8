-- The idempotency records (package postgres). One row per record key: a
-- claim while its call runs (status IS NULL), then the call's result.
CREATE TABLE idempotency_records (
  record_key   text PRIMARY KEY,            -- idempotency.Call.RecordKey
  fingerprint  text NOT NULL,
  claim_id     text NOT NULL,               -- the claim that holds the key, or that completed it
  claimed_at   timestamptz NOT NULL,
  lease_until  timestamptz NOT NULL,
  status       integer,                     -- the result's; NULL while the row is a claim
  header       jsonb,                       -- the result's headers worth replaying, one value per name
  body         bytea,                       -- the result's body, byte for byte
  completed_at timestamptz,
  expires_at   timestamptz NOT NULL         -- a claim's lease end, a result's expiry: the row is dead after it
);

-- The cleanup deletes through it, oldest first.
CREATE INDEX idempotency_records_expires_at ON idempotency_records (expires_at);
