#!/usr/bin/env bash
# Regenerates the Go wrapper modules under testbed/go/ from testbed/versions.env.
# Run it by hand after bumping a version, then commit go.mod and go.sum. build.sh never
# rewrites them (it builds from what is committed, so every machine compiles the same code).
#
# Usage: testbed/gen-modules.sh [kube|kwok|flux-source|flux-kustomize|flux-helm|flux-notification|flux-image-reflector|snapshot|helm|promtool|prometheus-operator|registry]...
#        (default: all)
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

copy_replaces() { # go.mod path: copies its non-local replaces into the go.mod in the current folder
  # Handles `replace a [v] => b v` lines and the lines of a `replace ( … )` block; a target
  # without a version is a local path (./api, ./client) and is skipped. Comments are dropped.
  awk '{ sub(/\/\/.*/, "") }
       /^[ \t]*replace[ \t]*\([ \t]*$/ { inblock = 1; next }
       inblock && /^[ \t]*\)[ \t]*$/ { inblock = 0; next }
       (inblock || /^[ \t]*replace[ \t]/) && /=>/ {
         sub(/^[ \t]*(replace[ \t]+)?/, ""); split($0, side, "=>")
         nl = split(side[1], l, " "); nr = split(side[2], r, " ")
         if (nr != 2) next
         print l[1] (nl == 2 ? "@" l[2] : "") "=" r[1] "@" r[2]
       }' "$1" |
    while read -r r; do go mod edit -replace="$r"; done
}

# gen_controller NAME ROOT-MODULE API-MODULE VERSION TOOL-PACKAGE: a wrapper module requiring a
# controller and its API submodule at the same version (the controller's own go.mod points the
# submodule at ./api or ./client, which does not apply to a dependent module) plus every
# non-local replace of the controller, so that we compile exactly what its authors released.
gen_controller() {
  local name=$1 root=$2 api=$3 version=$4 tool=$5 dir="$here/go/$1" modfile
  fresh_module "$dir" "cairn.dev/testbed/$name"
  cd "$dir"
  modfile=$(module_file "$root@$version")
  [ -n "$modfile" ] || { echo "gen-modules: cannot download $root@$version" >&2; exit 1; }
  go mod edit -require="$root@$version" -require="$api@$version"
  copy_replaces "$modfile"
  go mod edit -tool="$tool"
  go mod tidy
}

gen_flux_source() {
  gen_controller flux-source github.com/fluxcd/source-controller \
    github.com/fluxcd/source-controller/api "$FLUX_SOURCE" github.com/fluxcd/source-controller
}
gen_flux_kustomize() {
  gen_controller flux-kustomize github.com/fluxcd/kustomize-controller \
    github.com/fluxcd/kustomize-controller/api "$FLUX_KUSTOMIZE" github.com/fluxcd/kustomize-controller
}
gen_flux_helm() {
  gen_controller flux-helm github.com/fluxcd/helm-controller \
    github.com/fluxcd/helm-controller/api "$FLUX_HELM" github.com/fluxcd/helm-controller
}
gen_flux_notification() {
  gen_controller flux-notification github.com/fluxcd/notification-controller \
    github.com/fluxcd/notification-controller/api "$FLUX_NOTIFICATION" \
    github.com/fluxcd/notification-controller
}
gen_flux_image_reflector() {
  gen_controller flux-image-reflector github.com/fluxcd/image-reflector-controller \
    github.com/fluxcd/image-reflector-controller/api "$FLUX_IMAGE_REFLECTOR" \
    github.com/fluxcd/image-reflector-controller
}
gen_snapshot() {
  gen_controller snapshot github.com/kubernetes-csi/external-snapshotter/v8 \
    github.com/kubernetes-csi/external-snapshotter/client/v8 "$SNAPSHOTTER" \
    github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller
}
# gen_tool NAME MODULE VERSION TOOL-PACKAGE: a wrapper module for one command-line tool, with
# the tool's own non-local replaces, like gen_controller.
gen_tool() {
  local name=$1 module=$2 version=$3 tool=$4 dir="$here/go/$1" modfile
  fresh_module "$dir" "cairn.dev/testbed/$name"
  cd "$dir"
  modfile=$(module_file "$module@$version")
  [ -n "$modfile" ] || { echo "gen-modules: cannot download $module@$version" >&2; exit 1; }
  go mod edit -require="$module@$version"
  copy_replaces "$modfile"
  go mod edit -tool="$tool"
  go mod tidy
}
gen_helm() { gen_tool helm helm.sh/helm/v4 "$HELM" helm.sh/helm/v4/cmd/helm; }
gen_promtool() {
  gen_tool promtool github.com/prometheus/prometheus "$PROMETHEUS" \
    github.com/prometheus/prometheus/cmd/promtool
}
gen_registry() {
  gen_tool registry github.com/distribution/distribution/v3 "$REGISTRY" \
    github.com/distribution/distribution/v3/cmd/registry
}
gen_prometheus_operator() {
  gen_tool prometheus-operator github.com/prometheus-operator/prometheus-operator \
    "$PROMETHEUS_OPERATOR" github.com/prometheus-operator/prometheus-operator/cmd/operator
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(kube kwok flux-source flux-kustomize flux-helm flux-notification flux-image-reflector snapshot helm promtool prometheus-operator registry)
for t in "${targets[@]}"; do
  case "$t" in
    kube) gen_kube ;;
    kwok) gen_kwok ;;
    flux-source) gen_flux_source ;;
    flux-kustomize) gen_flux_kustomize ;;
    flux-helm) gen_flux_helm ;;
    flux-notification) gen_flux_notification ;;
    flux-image-reflector) gen_flux_image_reflector ;;
    snapshot) gen_snapshot ;;
    helm) gen_helm ;;
    promtool) gen_promtool ;;
    prometheus-operator) gen_prometheus_operator ;;
    registry) gen_registry ;;
    *) echo "gen-modules: unknown module '$t'" >&2; exit 2 ;;
  esac
done
