-- The headers of a completed result worth replaying (the idempotency engine:
-- Content-Type, Location), as a JSON object. NULL in rows written before this
-- column existed: their answers were application/json.
ALTER TABLE idempotency_records ADD COLUMN response_headers TEXT;
