// Package e2e is the end-to-end suite: it checks the behaviour contract
// (docs/contract.md, cited by section) over real HTTP against the worker running on
// workerd under `wrangler dev`, started through scripts/internal/devserver.
// The tests carry the build tag e2e, so a plain `go test ./...` does not start
// wrangler; `make test` runs them:
//
//	go test -tags e2e -count=1 ./scripts/e2e/
//
// A few wrangler instances are shared by all tests (main_test.go). With
// E2E_NATIVE_STORE set, they are the native server (cmd/orders-server) on
// that store instead, for the tests that need no wrangler state
// (native_test.go). States a
// client cannot produce on purpose are set up behind the worker's back, in
// its local KV: a live or expired claim and corrupt records are written with
// wrangler's own kv commands, a lost result write is a deleted result, and a
// failing claim write is SQLite's write lock held on the local KV database.
// The order gateway (docs/downstreams.md#the-order-gateway) is a stand-in in this process
// (scripts/internal/oms) that two workers place through; it is told per
// clientOrderId to refuse, fail or hang, which is how 422 order_rejected and
// 502 placement_failed are reached (gateway_test.go). Queue mode (docs/queue-mode.md,
// queue_test.go) runs three more instances, [env.queue], [env.strict-queue]
// with client scoping, and [env.queue] on the faults build, whose local
// queues wrangler dev simulates with their consumer and dead-letter queue;
// the faults build sends a body to the queue on request (the same message
// twice) and kills the runtime in the middle of a marked batch. Strict mode
// on Durable Objects (durable_test.go) runs [env.durable] and
// [env.durable-queue], and three instances one after another on one
// storage directory (strict on D1, then Durable Objects, restarted); its
// objects fail when SQLite's write lock is held on their local databases.
//
// Not covered here, and why:
//   - 500 internal_error from the handler's own recover: no request makes the
//     handler panic. The bridge's recover and a dying runtime are tested on a
//     build with fault-injection routes (runtime_test.go, isolate/faults.go).
//   - A result write failing after a successful placement (201 with
//     result_write_error logged): the claim and the result are written
//     milliseconds apart, too close to fail one and not the other; its
//     consequence is tested by deleting the result (TestLostResultWrite).
//   - A failing KV read: holding SQLite's read locks makes it fail, but only
//     after SQLite's busy timeout of about 10 s per request; the failing
//     claim write shows the same 503.
//   - A claim overwritten between its write and its read-back, or a
//     read-back that fails: the gap is one KV round trip inside the worker,
//     out of a client's reach. The native tests cover both
//     (TestALostClaimAnswersAsTheWinnersRetryWouldBeAnswered,
//     TestFailuresFailClosed); the races here meet the first by chance.
//   - A Durable Object that cannot be reached, rather than one that throws:
//     under wrangler dev every object runs in the worker's own workerd. The
//     call fails the same way (a rejected promise, then 503), which the
//     native tests cover (TestAFailingObjectFailsClosed).
//   - A Durable Object completion failing after a successful placement: as
//     with KV, too close to the claim to fail one and not the other; the
//     native test covers it.
//   - Bodies beyond 1 MiB: the worker drains up to 1 MiB of an oversized body
//     before its 413 (TestBodySize sends 200000 bytes, then an order), and no
//     further, so as not to spend CPU on a huge upload; under wrangler dev the
//     unread rest of a larger body breaks the local proxy's connection to
//     workerd and fails the next request.
//   - A 409 from a claim the worker wrote itself: over HTTP its claim is
//     followed by its result within milliseconds; the 409 is tested against a
//     claim written into KV (TestPendingClaims, and TestOrderClientWaitsOutALiveClaim
//     for the client's wait), and concurrent duplicates (TestConcurrentDuplicates,
//     TestOrderClientRacesADuplicate) may or may not meet one.
package e2e
