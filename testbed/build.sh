#!/usr/bin/env bash
# Builds the test bed's binaries from the committed Go wrapper modules into a cache outside the
# repository, one folder per component keyed by everything that changes the output (versions,
# Go version, platform, a hash of the wrapper's go.mod/go.sum). A folder with its `complete`
# marker is never rebuilt, so a warm run costs a few milliseconds.
#
# Progress goes to stderr; stdout gets one JSON line mapping each component to its folder,
# which is how the TypeScript harness finds the binaries without repeating the key logic.
#
# Env: CAIRN_TESTBED_CACHE overrides the cache root (default ~/.cache/cairn-testbed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

for tool in go git; do
  command -v "$tool" >/dev/null || {
    echo "testbed build: '$tool' is required but was not found on PATH; install it and retry" >&2
    exit 1
  }
done

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
cache=${CAIRN_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cairn-testbed}
mkdir -p "$cache"
platform="$(go env GOVERSION)-$(go env GOOS)-$(go env GOARCH)"

module_hash() { cat "$here/go/$1/go.mod" "$here/go/$1/go.sum" | sha256sum | cut -c1-10; }

module_dir() { # module@version -> its folder in the Go module cache (downloads it if needed)
  (cd "$here/go/$2" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
}

# build_component NAME KEY FUNCTION: runs FUNCTION into a temporary folder, then renames it into
# place, so an interrupted build never leaves a folder that looks complete.
build_component() {
  local name=$1 key=$2 fn=$3 out="$cache/$2"
  if [ -f "$out/complete" ]; then
    echo "testbed build: $name is cached ($out)" >&2
  else
    local tmp="$cache/.tmp-$key-$$" start=$SECONDS
    rm -rf "$tmp" && mkdir -p "$tmp"
    echo "testbed build: building $name ($key) ..." >&2
    if ! "$fn" "$tmp" >&2; then
      rm -rf "$tmp"
      echo "testbed build: building $name failed (see the Go output above)" >&2
      exit 1
    fi
    date -u +%FT%TZ >"$tmp/complete"
    rm -rf "$out" && mv "$tmp" "$out"
    echo "testbed build: built $name in $((SECONDS - start))s" >&2
  fi
  dirs+=("\"$name\":\"$out\"")
}

build_kube() {
  local out=$1 minor ld="-s -w"
  minor=$(echo "$KUBE" | cut -d. -f2)
  # Without these the binaries report v0.0.0-master, which breaks version-skew checks.
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$KUBE -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
    ld+=" -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  cd "$here/go/kube"
  # One go build for the three so that the packages they share compile once.
  go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ld" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
}

build_kwok() {
  local out=$1 src
  cd "$here/go/kwok"
  go build -trimpath -ldflags "-s -w" -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok
  # kwok embeds no stages; copy the ones the harness uses so it never reads the module cache.
  src=$(module_dir "sigs.k8s.io/kwok@$KWOK" kwok)/kustomize/stage
  mkdir -p "$out/stages"
  cp "$src/node/fast/node-initialize.yaml" "$src/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml" \
    "$src/pod/fast/pod-ready.yaml" "$src/pod/fast/pod-complete.yaml" "$src/pod/fast/pod-delete.yaml" \
    "$out/stages/"
  chmod -R u+w "$out/stages"
}

dirs=()
total_start=$SECONDS
build_component kube "kube-$KUBE+etcd-$ETCD+$platform+$(module_hash kube)" build_kube
build_component kwok "kwok-$KWOK+$platform+$(module_hash kwok)" build_kwok
echo "testbed build: done in $((SECONDS - total_start))s" >&2
(IFS=,; echo "{${dirs[*]}}")
