# Every target that needs wrangler installs the pinned one from
# package-lock.json first; Go fetches its modules by itself.
WRANGLER := node_modules/.bin/wrangler
PORT ?= 8787
OMS_PORT ?= 8790
D1_NAME := order-intake-idempotency

# TinyGo: the one on PATH, else the one `make tinygo` puts in .tinygo/, whose
# C libraries live in its own cache there (scripts/tinygo/install.sh).
ifneq ($(shell command -v tinygo),)
TINYGO_CMD := tinygo
else ifneq ($(wildcard $(CURDIR)/.tinygo/installed),)
TINYGO_CMD := XDG_CACHE_HOME=$(CURDIR)/.tinygo/cache $(CURDIR)/.tinygo/bin/tinygo
endif

.PHONY: build dev dev-strict dev-durable dev-gateway dev-queue dev-strict-queue dev-durable-queue test services bench deploy deploy-strict deploy-durable deploy-queue kv-namespace d1-database queues tinygo clean

# The idempotency packages that build for the worker: all but the native
# stores, whose tests start servers.
WASM_IDEMPOTENCY := ./idempotency/ ./idempotency/d1/ ./idempotency/durable/ ./idempotency/kv/ ./idempotency/memory/ ./idempotency/storetest/

# The end-to-end tests that run against the native server too: those that
# need no wrangler state (scripts/e2e/native_test.go).
NATIVE_E2E := ^(TestIdempotencyKeyHeader|TestContentType|TestBodySize|TestMalformedJSON|TestInvalidOrder|TestWholeNumberForms|TestRejectionStoresNothing|TestCheckOrder|TestUnauthorized|TestClientScope|TestOrderClientRacesADuplicate|TestOrderClientWithClientAuth|TestGatewayPlacesOnceAndReplays|TestGatewayRefusalIsStoredAndReplayed|TestGatewayFailsTwiceThenPlaces|TestGatewayHangIsCutAtTheTimeout|TestGatewayStrictConcurrentDuplicatesCallOnce|TestReceiptAndReplay|TestLogOmitsTheOrder|TestOrderIDsDiffer|TestLimitOrders|TestMisconfigured|TestConcurrentDuplicatesStrict|TestHealthz|TestNotFound|TestMethodNotAllowed|TestStrictReceiptReplayReuse|TestSubmitOrderScript)$$

# Where make build writes, extra Go build tags (the e2e suite builds a second
# copy with TAGS=faults into another directory) and the main package (the
# benchmarks build a fixture on the same glue).
BUILD ?= build
TAGS ?=
PKG ?= .

## build: compile the worker to $(BUILD)/app.wasm beside its glue: the
## checked-in isolate/worker.mjs (one Go runtime per isolate) and
## syumai/workers' wasm_exec.js. With TINYGO=1 in the environment, with
## TinyGo and TinyGo's wasm_exec.js (`make tinygo` installs TinyGo)
build:
ifeq ($(TINYGO),1)
	@test -n "$(TINYGO_CMD)" || { echo "TINYGO=1 but no TinyGo on PATH or in .tinygo/: run make tinygo" >&2; exit 1; }
	go run github.com/syumai/workers/cmd/workers-assets-gen -mode=tinygo -o $(BUILD)
	@# syumai's TinyGo wasm_exec.js predates TinyGo 0.42, whose runtime
	@# imports getRandomData (map seeds, crypto/rand): add it.
	sed -i 's|^\(\s*\)gojs: {$$|&\n\1\t"runtime.getRandomData": (ptr, len) => { crypto.getRandomValues(loadSlice(ptr >>> 0, len >>> 0)); },|' $(BUILD)/wasm_exec.js
	@grep -q runtime.getRandomData $(BUILD)/wasm_exec.js
else
	go run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o $(BUILD)
endif
	rm $(BUILD)/worker.mjs $(BUILD)/runtime.mjs
	cp isolate/worker.mjs isolate/records.mjs $(BUILD)/
ifeq ($(TINYGO),1)
	$(TINYGO_CMD) build -target wasm -no-debug -tags '$(TAGS)' -o $(BUILD)/app.wasm $(PKG)
else
	GOOS=js GOARCH=wasm go build -tags '$(TAGS)' -ldflags='-s -w' -o $(BUILD)/app.wasm $(PKG)
endif

## tinygo: install TinyGo v0.42.0 into .tinygo/ on Debian 12 (apt needs root
## or sudo), from apt and the Go module proxy; does nothing once installed
tinygo:
	scripts/tinygo/install.sh

## dev: run the worker locally on http://127.0.0.1:$(PORT) with a local KV namespace
dev: $(WRANGLER)
	$(WRANGLER) dev --ip 127.0.0.1 --port $(PORT)

## dev-strict: the same in strict mode (atomic claims in a local D1, migrations applied first);
## POST /__scheduled runs the cleanup cron job
dev-strict: $(WRANGLER)
	$(WRANGLER) d1 migrations apply $(D1_NAME) --local --env strict
	$(WRANGLER) dev --env strict --ip 127.0.0.1 --port $(PORT) --test-scheduled

## dev-durable: strict mode on Durable Objects (record keys hashed over 64
## SQLite objects, KV in front as the cache of results; docs/strict-mode.md)
dev-durable: $(WRANGLER)
	$(WRANGLER) dev --env durable --ip 127.0.0.1 --port $(PORT)

## dev-gateway: make dev, placing every order through the stand-in order gateway
## (scripts/oms) on 127.0.0.1:$(OMS_PORT); OMS_FLAGS='-first 503,503' or
## OMS_FLAGS='-refuse "market closed"' change its answers. Both stop together.
dev-gateway: $(WRANGLER)
	go build -o $${TMPDIR:-/tmp}/order-intake-oms ./scripts/oms
	$${TMPDIR:-/tmp}/order-intake-oms -port $(OMS_PORT) $(OMS_FLAGS) & oms=$$!; \
	trap 'kill $$oms 2>/dev/null' EXIT INT TERM; \
	$(WRANGLER) dev --ip 127.0.0.1 --port $(PORT) --var PLACEMENT_URL:http://127.0.0.1:$(OMS_PORT)/orders

## dev-queue: queue mode (wrangler.toml [env.queue], docs/queue-mode.md): the intake answers 202
## and the worker consumes its own local queue, placing each order through the
## stand-in order gateway on 127.0.0.1:$(OMS_PORT) (OMS_FLAGS as for dev-gateway);
## GET /orders/<orderId> shows the order's status. Both stop together.
dev-queue: $(WRANGLER)
	go build -o $${TMPDIR:-/tmp}/order-intake-oms ./scripts/oms
	$${TMPDIR:-/tmp}/order-intake-oms -port $(OMS_PORT) $(OMS_FLAGS) & oms=$$!; \
	trap 'kill $$oms 2>/dev/null' EXIT INT TERM; \
	$(WRANGLER) dev --env queue --ip 127.0.0.1 --port $(PORT) --var PLACEMENT_URL:http://127.0.0.1:$(OMS_PORT)/orders

## dev-strict-queue: the same with strict mode's D1 claims ([env.strict-queue])
dev-strict-queue: $(WRANGLER)
	$(WRANGLER) d1 migrations apply $(D1_NAME) --local --env strict-queue
	go build -o $${TMPDIR:-/tmp}/order-intake-oms ./scripts/oms
	$${TMPDIR:-/tmp}/order-intake-oms -port $(OMS_PORT) $(OMS_FLAGS) & oms=$$!; \
	trap 'kill $$oms 2>/dev/null' EXIT INT TERM; \
	$(WRANGLER) dev --env strict-queue --ip 127.0.0.1 --port $(PORT) --test-scheduled --var PLACEMENT_URL:http://127.0.0.1:$(OMS_PORT)/orders

## dev-durable-queue: the same with strict mode on Durable Objects ([env.durable-queue])
dev-durable-queue: $(WRANGLER)
	go build -o $${TMPDIR:-/tmp}/order-intake-oms ./scripts/oms
	$${TMPDIR:-/tmp}/order-intake-oms -port $(OMS_PORT) $(OMS_FLAGS) & oms=$$!; \
	trap 'kill $$oms 2>/dev/null' EXIT INT TERM; \
	$(WRANGLER) dev --env durable-queue --ip 127.0.0.1 --port $(PORT) --var PLACEMENT_URL:http://127.0.0.1:$(OMS_PORT)/orders

## test: vet and staticcheck; native tests (the PostgreSQL and Redis stores
## against servers they start, installed by `make services`); then the
## end-to-end suite against the Wasm build under the pinned wrangler dev
## (workerd, local KV and D1), its contract checks against the native server
## (cmd/orders-server) on memory, PostgreSQL and Redis, and the suite once
## more against the TinyGo build when TinyGo is available (`make tinygo`)
test: $(WRANGLER) services
	go vet ./...
	go vet -tags e2e ./...
	@# The packages the Wasm builds use, listed: the native stores
	@# (idempotency/postgres, idempotency/redis) and their test servers are not.
	GOOS=js GOARCH=wasm go vet . ./isolate/ ./order/ ./intake/ ./queue/ $(WASM_IDEMPOTENCY) ./internal/jsontext/ ./kvstore/ ./examples/... ./client/ ./scripts/bench/fixtures/emptygo/
	GOOS=js GOARCH=wasm go vet -tags faults ./isolate/
	scripts/staticcheck.sh
	go test -race -count=1 ./...
	TINYGO= go test -tags e2e -count=1 ./scripts/e2e/ ./scripts/bench/
	@# The same checks against the native server, on each store
	@# (scripts/e2e/native_test.go says which, and why not the others).
	for store in memory postgres redis; do \
		E2E_NATIVE_STORE=$$store go test -tags e2e -count=1 -run '$(NATIVE_E2E)' ./scripts/e2e/ || exit 1; \
	done
ifneq ($(TINYGO_CMD),)
	@# The TestLauncher tests check scripts/internal/devserver, not the build
	@# (the run above covers them); with TinyGo their rebuilds in
	@# subprocesses take minutes and break their 30 s bound. The example
	@# worker tests the engine, which the run above covers, and would cost a
	@# third TinyGo build. The Durable Objects' restarts test storage, not the
	@# build, and wait a minute for records to expire.
	TINYGO=1 go test -tags e2e -count=1 -skip '^TestLauncher|^TestExampleWebhookReceiver|^TestDurableAfterD1AndAcrossRestarts' ./scripts/e2e/
else
	@echo "No TinyGo (make tinygo installs one): the end-to-end suite ran on the standard Go build only."
endif

## services: install PostgreSQL and Redis from apt when missing (the native
## stores' tests start their own servers from them; scripts/services/install.sh)
services:
	scripts/services/install.sh

## bench: measure the worker against a JavaScript floor under the pinned
## wrangler dev (scripts/bench; figures in BENCHMARKS.md), its TinyGo build
## too when TinyGo is available. Not part of test.
bench: $(WRANGLER)
	go run ./scripts/bench $(if $(TINYGO_CMD),-tinygo)
	go test -run '^$$' -bench . -benchmem ./order ./intake ./idempotency

## deploy: build and deploy to your Cloudflare account (needs `wrangler login`)
deploy: $(WRANGLER)
	$(WRANGLER) deploy

## deploy-strict: apply the D1 migrations remotely, then deploy the strict environment
deploy-strict: $(WRANGLER)
	$(WRANGLER) d1 migrations apply $(D1_NAME) --remote --env strict
	$(WRANGLER) deploy --env strict

## deploy-durable: deploy strict mode on Durable Objects (the migration in
## wrangler.toml creates the class's SQLite storage)
deploy-durable: $(WRANGLER)
	$(WRANGLER) deploy --env durable

## queues: create queue mode's queue and its dead-letter queue on your account, keeping
## messages QUEUE_RETENTION seconds (14 days; the Workers Free plan allows 86400 at most):
## a message not consumed by then is deleted, dead-letter queue or not
QUEUE_RETENTION ?= 1209600
queues: $(WRANGLER)
	$(WRANGLER) queues create order-intake-placements --message-retention-period-secs $(QUEUE_RETENTION)
	$(WRANGLER) queues create order-intake-placements-dlq --message-retention-period-secs $(QUEUE_RETENTION)

## deploy-queue: build and deploy queue mode (wrangler deploy --env queue); run make queues once first
deploy-queue: $(WRANGLER)
	$(WRANGLER) deploy --env queue

## kv-namespace: create the ORDERS namespace on your account; put the id it prints in wrangler.toml
kv-namespace: $(WRANGLER)
	$(WRANGLER) kv namespace create ORDERS

## d1-database: create strict mode's D1 database; put the id it prints in wrangler.toml
d1-database: $(WRANGLER)
	$(WRANGLER) d1 create $(D1_NAME)

clean:
	rm -rf build build-faults build-tinygo build-faults-tinygo build-native-*

$(WRANGLER): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@
