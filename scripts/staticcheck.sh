#!/usr/bin/env bash
# staticcheck, as `make test` runs it: v0.8.2 (the Go module proxy serves it;
# exact versions only) over every build of the code — native with tests, the
# e2e suite's tag, the Wasm worker and its faults build — merged, so that a
# finding stands only if it holds in every build where the code compiles
# (isolate's goroutine pool is used only by its Wasm half, say). A deliberate
# exception carries a //lint:ignore with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v0.8.2
bin=.tools/staticcheck-$version
if [ ! -x "$bin" ]; then
	GOBIN=$(pwd)/.tools go install "honnef.co/go/tools/cmd/staticcheck@$version"
	mv .tools/staticcheck "$bin"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" -f binary -tests ./... >"$out/native"
"$bin" -f binary -tags e2e ./... >"$out/e2e"
# The Wasm packages, listed: not the native stores (idempotency/postgres,
# idempotency/redis), whose tests start servers.
GOOS=js GOARCH=wasm "$bin" -f binary . ./isolate/... ./order/... ./idempotency/ ./idempotency/d1/ ./idempotency/durable/ ./idempotency/kv/ ./idempotency/memory/ ./idempotency/storetest/ ./internal/jsontext/ ./kvstore/... ./examples/... ./client/... >"$out/wasm"
GOOS=js GOARCH=wasm "$bin" -f binary -tags faults ./isolate/ >"$out/faults"
"$bin" -merge "$out/native" "$out/e2e" "$out/wasm" "$out/faults"
