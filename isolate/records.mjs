// IdempotencyRecords is the Durable Object class of strict mode on Durable
// Objects (docs/strict-mode.md, docs/adr/0010-records-hashed-over-durable-objects.md):
// a small atomic store of idempotency records in the object's SQLite
// storage. The state machine stays in Go (package idempotency/durable),
// which spreads record keys over a fixed number of objects by hash; each
// method here is one of the few primitives it needs, and is atomic because
// an object runs one method at a time and none of them awaits between
// reading and writing.
//
// The worker's entry module (worker.mjs) re-exports the class and reaches it
// through callRecords, on the glue's durable import. A record is the row of
// strict mode's D1 table, with the completed result kept as the opaque text
// Go encodes (the record format of package kv): the object never reads it.
// Times are Unix milliseconds, the caller's clock, as in D1's statements.
//
// Expired records are deleted by the object's alarm, at most CLEANUP_BATCH
// per run, at most one run per CLEANUP_EVERY_MS unless a run found a full
// batch. A run scans the table: an index on expires_at would cost a row
// written on every write, and rows written cost far more than rows read
// (the decision record has the prices).
import { DurableObject } from "cloudflare:workers";

const CLEANUP_BATCH = 500;
const CLEANUP_EVERY_MS = 5 * 60_000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS records (
    record_key  TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    claimed_at  INTEGER NOT NULL,
    lease_until INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    result      TEXT -- NULL while the call runs
  ) WITHOUT ROWID`; // the key is the table: one row written per write, no index

export class IdempotencyRecords extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(SCHEMA);
    // The alarm's time, or null: a write sets one only when none is set.
    ctx.blockConcurrencyWhile(async () => {
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  // get returns the record under key unless it has expired at now, or null.
  get({ key, now }) {
    const rows = this.sql.exec(
      `SELECT fingerprint, claimed_at, lease_until, expires_at, result FROM records
       WHERE record_key = ? AND expires_at > ?`, key, now).toArray();
    if (rows.length === 0) return null;
    const r = rows[0];
    return { fingerprint: r.fingerprint, claimedAt: r.claimed_at, leaseUntil: r.lease_until,
      expiresAt: r.expires_at, result: r.result };
  }

  // claim inserts a running record under key, or takes over one that has
  // expired or whose lease has ended at claimedAt; it says whether it did.
  claim({ key, fingerprint, claimedAt, leaseUntil, expiresAt }) {
    const won = this.sql.exec(
      `INSERT INTO records (record_key, fingerprint, claimed_at, lease_until, expires_at, result)
       VALUES (?1, ?2, ?3, ?4, ?5, NULL)
       ON CONFLICT (record_key) DO UPDATE SET
         fingerprint = excluded.fingerprint, claimed_at = excluded.claimed_at,
         lease_until = excluded.lease_until, expires_at = excluded.expires_at, result = NULL
       WHERE records.expires_at <= ?3 OR (records.result IS NULL AND records.lease_until <= ?3)
       RETURNING record_key`,
      key, fingerprint, claimedAt, leaseUntil, expiresAt).toArray().length > 0;
    if (won) this.schedule(expiresAt);
    return won;
  }

  // complete turns the running record of the claim (claimedAt, fingerprint)
  // into result, alive until expiresAt; false when that claim is gone.
  complete({ key, fingerprint, claimedAt, result, expiresAt }) {
    const done = this.sql.exec(
      `UPDATE records SET result = ?1, expires_at = ?2
       WHERE record_key = ?3 AND result IS NULL AND claimed_at = ?4 AND fingerprint = ?5
       RETURNING record_key`,
      result, expiresAt, key, claimedAt, fingerprint).toArray().length > 0;
    if (done) this.schedule(expiresAt);
    return done;
  }

  // release deletes the running record of the claim, if it is still there.
  release({ key, fingerprint, claimedAt }) {
    this.sql.exec(
      `DELETE FROM records WHERE record_key = ? AND result IS NULL AND claimed_at = ? AND fingerprint = ?`,
      key, claimedAt, fingerprint);
    return null;
  }

  // alarm deletes at most CLEANUP_BATCH expired records, and comes back at
  // once when there may be more, else after CLEANUP_EVERY_MS while the
  // object holds records.
  async alarm() {
    const now = Date.now();
    const deleted = this.sql.exec(
      `DELETE FROM records WHERE record_key IN (
         SELECT record_key FROM records WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)
       RETURNING record_key`,
      now, CLEANUP_BATCH).toArray().length;
    this.alarmAt = null; // this run used it up
    if (deleted === CLEANUP_BATCH) this.schedule(now);
    else if (this.sql.exec(`SELECT 1 FROM records LIMIT 1`).toArray().length > 0) this.schedule(now + CLEANUP_EVERY_MS);
    console.log(JSON.stringify({ event: "records_expired", deleted }));
  }

  // schedule sets the alarm for at, unless one is set: the alarm runs at
  // the first record's expiry and then keeps its own pace.
  schedule(at) {
    if (this.alarmAt !== null) return;
    this.alarmAt = at;
    this.ctx.storage.setAlarm(at);
  }
}

// callRecords calls method on the object named name of the namespace ns with
// arg (JSON text) and settles with its reply as JSON text.
export async function callRecords(ns, name, method, arg) {
  const reply = await ns.get(ns.idFromName(name))[method](JSON.parse(arg));
  return JSON.stringify(reply);
}
