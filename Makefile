# Every target that needs wrangler installs the pinned one from
# package-lock.json first; Go fetches its modules by itself.
WRANGLER := node_modules/.bin/wrangler
PORT ?= 8787

.PHONY: build dev test deploy kv-namespace clean

## build: generate the syumai/workers glue, then compile the worker to build/app.wasm
build:
	go run github.com/syumai/workers/cmd/workers-assets-gen -mode=go
	GOOS=js GOARCH=wasm go build -ldflags='-s -w' -o build/app.wasm .

## dev: run the worker locally on http://127.0.0.1:$(PORT) with a local KV namespace
dev: $(WRANGLER)
	$(WRANGLER) dev --ip 127.0.0.1 --port $(PORT)

## test: vet and test natively, and check that the Wasm build compiles
test:
	go vet ./...
	GOOS=js GOARCH=wasm go vet ./...
	go test -count=1 ./...

## deploy: build and deploy to your Cloudflare account (needs `wrangler login`)
deploy: $(WRANGLER)
	$(WRANGLER) deploy

## kv-namespace: create the ORDERS namespace on your account; put the id it prints in wrangler.toml
kv-namespace: $(WRANGLER)
	$(WRANGLER) kv namespace create ORDERS

clean:
	rm -rf build

$(WRANGLER): package-lock.json
	npm ci --no-audit --no-fund
	@touch $@
