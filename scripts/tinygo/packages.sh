#!/usr/bin/env bash
# The apt step of `make tinygo` (install.sh) and of the test servers
# (scripts/services/install.sh): installs the packages in the arguments that
# dpkg does not already report installed, "name=version" at exactly that
# version, a bare "name" at any. As root it calls apt-get itself; otherwise
# through sudo. On a new machine apt's package lists may be missing or stale,
# so it updates them before installing. packages_test.go runs it with stub
# commands on PATH.
set -euo pipefail

missing=()
for p in "$@"; do
	have=$(dpkg-query -W -f='${Status} ${Version}' "${p%%=*}" 2>/dev/null || true)
	case $p in
	*=*) [ "$have" = "install ok installed ${p#*=}" ] || missing+=("$p") ;;
	*) [ "${have#install ok installed }" != "$have" ] || missing+=("$p") ;;
	esac
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "apt packages: all $# installed"
	exit 0
fi

# An array, not a string: as root there is no sudo, and an empty "$sudo -E"
# would run "-E" as the command.
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo -E)
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends \
	-o DPkg::Lock::Timeout=600 "${missing[@]}"
