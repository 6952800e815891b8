#!/usr/bin/env bash
# The servers the native stores' tests run against (idempotency/postgres,
# idempotency/redis, internal/testservers): PostgreSQL and Redis from Debian,
# installed when missing. `make test` runs it first, so a new machine works;
# a machine that has them (any version, or Valkey in place of Redis) is left
# alone. Needs root, or sudo, for apt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=()
# Debian keeps PostgreSQL's server binaries off PATH, one directory per major version.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null || packages+=(postgresql)
command -v redis-server >/dev/null || command -v valkey-server >/dev/null || packages+=(redis-server)
if [ ${#packages[@]} -eq 0 ]; then
	echo "test servers: PostgreSQL and Redis are installed"
	exit 0
fi
"$here/../tinygo/packages.sh" "${packages[@]}"
