#!/usr/bin/env bash
# Regenerates the Go wrapper modules under testbed/go/ from testbed/versions.env.
# Run it by hand after bumping a version, then commit go.mod and go.sum. build.sh never
# rewrites them (it builds from what is committed, so every machine compiles the same code).
#
# Usage: testbed/gen-modules.sh [kube|kwok]...   (default: all)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

for tool in go git; do
  command -v "$tool" >/dev/null || { echo "testbed: '$tool' is required but not on PATH" >&2; exit 1; }
done

fresh_module() { # dir module-path
  mkdir -p "$1"
  printf 'module %s\n\ngo 1.26.0\n' "$2" >"$1/go.mod"
  rm -f "$1/go.sum"
}

module_file() { # module@version -> path of its go.mod in the module cache
  go mod download -json "$1" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p'
}

gen_kube() {
  local dir="$here/go/kube" sv="v0.${KUBE#v1.}" modfile
  fresh_module "$dir" cairn.dev/testbed/kube
  cd "$dir"
  modfile=$(module_file "k8s.io/kubernetes@$KUBE")
  go mod edit -require="k8s.io/kubernetes@$KUBE"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and maps them to ./staging with
  # replaces, which do not apply to a dependent module: replace every one with its tag.
  sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\)\( v0\.0\.0\)\{0,1\} => \./staging/.*#\1#p' "$modfile" |
    sort -u | while read -r m; do go mod edit -replace="$m=$m@$sv"; done
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    go mod edit -tool="k8s.io/kubernetes/cmd/$c"
  done
  go mod tidy
  local ev
  ev=$(go list -m -f '{{.Version}}' go.etcd.io/etcd/client/v3)
  [ "$ev" = "$ETCD" ] || echo "note: the Kubernetes graph has etcd client $ev; versions.env says ETCD=$ETCD — update it" >&2
  go get "go.etcd.io/etcd/server/v3@$ev"
  go mod edit -tool=go.etcd.io/etcd/server/v3
  go mod tidy
}

gen_kwok() {
  local dir="$here/go/kwok"
  fresh_module "$dir" cairn.dev/testbed/kwok
  cd "$dir"
  go mod edit -require="sigs.k8s.io/kwok@$KWOK" -tool=sigs.k8s.io/kwok/cmd/kwok
  go mod tidy
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kube kwok)
for t in "${targets[@]}"; do
  case "$t" in
    kube) gen_kube ;;
    kwok) gen_kwok ;;
    *) echo "gen-modules: unknown module '$t'" >&2; exit 2 ;;
  esac
done
