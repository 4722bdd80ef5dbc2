#!/usr/bin/env bash
# Builds cairn-render, the impact preview's rendering helper (go/render), into OUT. Used by the
# Dockerfile's build stage and by testbed/build.sh (component `render`), which caches it outside
# the repository keyed by the engine versions, the Go version, the platform and a source hash.
# The engine versions come from go/render/go.mod; the binary reports them with --version.
#
# Usage: scripts/build-render.sh OUT
set -euo pipefail
out=${1:?usage: scripts/build-render.sh OUT}
src="$(cd "$(dirname "$0")/.." && pwd)/go/render"
command -v go >/dev/null || { echo "build-render: 'go' is required but was not found on PATH" >&2; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

mod_version() { sed -n "s|^[[:space:]]*$1 \(v[^ ]*\).*|\1|p" "$src/go.mod" | head -1; }
helm=$(mod_version helm.sh/helm/v4)
kustomize=$(mod_version sigs.k8s.io/kustomize/api)
[ -n "$helm" ] && [ -n "$kustomize" ] || { echo "build-render: go/render/go.mod lacks helm or kustomize" >&2; exit 1; }

mkdir -p "$out"
cd "$src"
go build -trimpath -ldflags "-s -w -X main.version=helm-$helm+kustomize-$kustomize" -o "$out/cairn-render" .
