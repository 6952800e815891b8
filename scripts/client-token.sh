#!/usr/bin/env bash
# Makes a bearer token for one client. Prints the token (hand it to the client;
# it is not stored anywhere) and the CLIENT_TOKENS entry: the client id and the
# SHA-256 of the token, which is all the worker keeps.
#
#   scripts/client-token.sh acme
set -euo pipefail

id=${1:?usage: scripts/client-token.sh CLIENT_ID}
if ! [[ $id =~ ^[A-Za-z0-9._-]{1,64}$ ]]; then
  echo "client id must be 1 to 64 of A-Z a-z 0-9 . _ -" >&2
  exit 2
fi
token=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n') # 256 random bits
if command -v sha256sum >/dev/null 2>&1; then
  hash=$(printf %s "$token" | sha256sum | cut -d' ' -f1)
else
  hash=$(printf %s "$token" | shasum -a 256 | cut -d' ' -f1) # macOS
fi
echo "token for $id (give it to the client, once): $token"
echo "CLIENT_TOKENS entry:                        \"$id\":\"$hash\""
