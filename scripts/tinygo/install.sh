#!/usr/bin/env bash
# `make tinygo`: builds TinyGo into .tinygo/ of the repository on Debian 12
# (or an Ubuntu with the same LLVM 19 packages), from the package registries
# only: LLVM and the Wasm C libraries from apt, TinyGo's source from the Go
# module proxy. Idempotent: a finished install (same TinyGo, same Go) is left
# alone. Needs root, or sudo, for apt.
set -euo pipefail

TINYGO_VERSION=v0.42.0
LLVM_DEB=1:19.1.7-3~deb12u1
# Exact versions, so that a fresh machine gets what was tested.
PACKAGES=(
	"llvm-19-dev=$LLVM_DEB" "libclang-19-dev=$LLVM_DEB" "clang-19=$LLVM_DEB"
	"lld-19=$LLVM_DEB" "libclang-rt-19-dev-wasm32=$LLVM_DEB"
	"wasi-libc=0.0~git20220510.9886d3d-2" "binaryen=108-1"
)

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dest=$repo/.tinygo
goversion=$(go env GOVERSION)
stamp="tinygo $TINYGO_VERSION, $goversion"

step() { printf '== %s (%s)\n' "$1" "$(date -u +%T)"; }

if [ "$(cat "$dest/installed" 2>/dev/null)" = "$stamp" ] && [ -x "$dest/bin/tinygo" ]; then
	echo "TinyGo is installed in $dest ($stamp)"
	exit 0
fi

step "apt packages"
"$here/packages.sh" "${PACKAGES[@]}"

step "TinyGo $TINYGO_VERSION source from the Go module proxy"
# `go install …@version` asks the proxy for the version list, which is
# refused; downloading the exact version is not. Outside any module, so the
# repository's go.mod plays no part.
src=$(cd / && GO111MODULE=on GOFLAGS=-mod=mod go mod download -json \
	"github.com/tinygo-org/tinygo@$TINYGO_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -d "$src" ] || { echo "go mod download gave no directory" >&2; exit 1; }

# TinyGo finds its root (src/, targets/) as the parent of its binary's
# directory, so the writable copy of the module is .tinygo itself.
rm -rf "$dest"
cp -r "$src" "$dest"
chmod -R u+w "$dest"

# tinygo.org/x/espflasher (ESP32 flashing only) is refused by the proxy.
sed -i '/tinygo.org\/x\/espflasher/d' "$dest/go.mod" "$dest/go.sum"
# Its one caller, the ESP32 flasher, is replaced by an error.
awk '/tinygo.org\/x\/espflasher/ { next }
	/^func flashBinUsingEsp32\(/ { print; print "\treturn errors.New(\"ESP32 flashing is not in this build\")"; skip = 1; next }
	skip && /^}/ { skip = 0 }
	!skip' "$dest/main.go" >"$dest/main.go.new"
mv "$dest/main.go.new" "$dest/main.go"

step "go build TinyGo (takes minutes)"
(cd "$dest" && GOFLAGS=-mod=mod go build -tags llvm19 -o bin/tinygo .)

step "C libraries and the net package"
# The module zip has none of TinyGo's git submodules. -target wasm needs two
# C libraries, which TinyGo does not build when its cache already holds them
# (<cache>/<lib>-<triple>-<cpu>/lib.a): Debian's builds serve.
cache="$dest/cache/tinygo"
libc="$cache/wasi-libc-wasm32-unknown-wasi-generic"
mkdir -p "$libc" "$cache/compiler-rt-wasm32-unknown-wasi-generic"
cp /usr/lib/wasm32-wasi/libc.a "$libc/lib.a"
cp -r /usr/include/wasm32-wasi "$libc/include"
cp /usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a \
	"$cache/compiler-rt-wasm32-unknown-wasi-generic/lib.a"

# The net submodule: a socket-less net package (scripts/tinygo/_net), plus
# the standard library's own IP parsing and net/http, from this Go.
goroot=$(go env GOROOT)
mkdir -p "$dest/src/net"
cp "$here"/_net/*.go "$dest/src/net/"
cp "$goroot"/src/net/{ip.go,mac.go,parse.go} "$dest/src/net/"
cp -r "$goroot/src/net/http" "$dest/src/net/http"
chmod -R u+w "$dest/src/net"
# net/http refers to tls.RecordHeaderError, which TinyGo's crypto/tls lacks.
cp "$here/_tls/recordheadererror.go" "$dest/src/crypto/tls/"

echo "$stamp" >"$dest/installed"
step "done: $("$dest/bin/tinygo" version)"
