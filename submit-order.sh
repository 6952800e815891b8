#!/usr/bin/env bash
# Replay demo: submits one order twice under one Idempotency-Key and prints
# both responses with their headers. The first places the order (201); the
# second is a retry and gets the original receipt back (200, Idempotent-Replay).
#
#   ./submit-order.sh [ENDPOINT]      default http://127.0.0.1:8787 (make dev)
#
# Optional environment: KEY (default: a new UUID), SYMBOL, SIDE, QUANTITY,
# LIMIT_PRICE (makes it a limit order, e.g. LIMIT_PRICE=123.45),
# TIME_IN_FORCE (day, gtc or ioc), TOKEN (sent as Authorization: Bearer).
set -euo pipefail

endpoint=${1:-http://127.0.0.1:8787}
symbol=${SYMBOL:-MSFT}
side=${SIDE:-buy}
quantity=${QUANTITY:-100}

new_key() {
  if command -v uuidgen >/dev/null 2>&1; then
    uuidgen
  elif [ -r /proc/sys/kernel/random/uuid ]; then
    cat /proc/sys/kernel/random/uuid
  else
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n'
  fi
}
key=${KEY:-$(new_key)}
body=$(printf '{"symbol":"%s","side":"%s","quantity":%s' "$symbol" "$side" "$quantity")
[ -n "${LIMIT_PRICE:-}" ] && body+=$(printf ',"type":"limit","limitPrice":"%s"' "$LIMIT_PRICE")
[ -n "${TIME_IN_FORCE:-}" ] && body+=$(printf ',"timeInForce":"%s"' "$TIME_IN_FORCE")
body+='}'

auth=()
[ -n "${TOKEN:-}" ] && auth=(-H "Authorization: Bearer $TOKEN")

submit() {
  if ! curl -sS -i -X POST "$endpoint" \
    -H "Idempotency-Key: $key" -H 'Content-Type: application/json' \
    ${auth[@]+"${auth[@]}"} --data-binary "$body"; then
    echo "submit-order.sh: no answer from $endpoint (is the worker running? try: make dev)" >&2
    exit 1
  fi
  echo
}

echo "== POST $endpoint  Idempotency-Key: $key"
echo "== $body"
echo
echo "== first submission (places the order)"
submit
echo
echo "== same key, same order again (a retry: replays the receipt)"
submit
