#!/usr/bin/env bash
# Builds the test bed's binaries from the committed Go wrapper modules into a cache outside the
# repository, one folder per component keyed by everything that changes the output (versions,
# Go version, platform, a hash of the wrapper's go.mod/go.sum). A folder with its `complete`
# marker is never rebuilt, so a warm run costs a few milliseconds.
#
# Progress goes to stderr; stdout gets one JSON line mapping each component to its folder,
# which is how the TypeScript harness finds the binaries without repeating the key logic.
#
# Usage: testbed/build.sh [component...]   (default: all; names as in the JSON line, e.g. fluxHelm;
#        with names, only those are built and listed)
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
  local name=$1 key=$2 fn=$3 out="$cache/$2" rc
  if [ ${#only[@]} -gt 0 ] && [[ " ${only[*]} " != *" $name "* ]]; then
    return 0
  fi
  if [ -f "$out/complete" ]; then
    echo "testbed build: $name is cached ($out)" >&2
  else
    local tmp="$cache/.tmp-$key-$$" start=$SECONDS
    rm -rf "$tmp" && mkdir -p "$tmp"
    echo "testbed build: building $name ($key) ..." >&2
    # In a subshell with errexit on, and not as an `if` condition: bash ignores `set -e` inside
    # a function called from a condition, so a failed `go build` followed by a successful copy
    # would otherwise mark the folder complete.
    set +e
    (set -e; "$fn" "$tmp") >&2
    rc=$?
    set -e
    if [ "$rc" -ne 0 ]; then
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

# build_controller OUT WRAPPER MODULE VERSION BINARY PACKAGE CRD-SUBDIR CRD-GLOB...: builds one
# controller binary from its wrapper module, then copies its CRDs from the module's folder in the
# Go module cache into OUT/crds (made writable: the module cache is read-only). Extra linker flags
# come from $ld_extra.
build_controller() {
  local out=$1 wrapper=$2 module=$3 version=$4 bin=$5 pkg=$6 sub=$7 src f
  shift 7
  cd "$here/go/$wrapper"
  go build -trimpath -ldflags "-s -w${ld_extra:+ $ld_extra}" -o "$out/$bin" "$pkg"
  src=$(module_dir "$module@$version" "$wrapper")
  [ -n "$src" ] && [ -d "$src/$sub" ] || { echo "no folder $sub in $module@$version" >&2; return 1; }
  mkdir -p "$out/crds"
  for f in "$@"; do
    compgen -G "$src/$sub/$f" >/dev/null || { echo "no $sub/$f in $module@$version" >&2; return 1; }
    cp "$src/$sub"/$f "$out/crds/"
  done
  chmod -R u+w "$out/crds"
}

build_flux_source() {
  build_controller "$1" flux-source github.com/fluxcd/source-controller "$FLUX_SOURCE" \
    source-controller github.com/fluxcd/source-controller config/crd/bases 'source.toolkit.fluxcd.io_*.yaml'
}

build_flux_kustomize() {
  build_controller "$1" flux-kustomize github.com/fluxcd/kustomize-controller "$FLUX_KUSTOMIZE" \
    kustomize-controller github.com/fluxcd/kustomize-controller config/crd/bases \
    kustomize.toolkit.fluxcd.io_kustomizations.yaml
}

build_flux_helm() {
  build_controller "$1" flux-helm github.com/fluxcd/helm-controller "$FLUX_HELM" \
    helm-controller github.com/fluxcd/helm-controller config/crd/bases helm.toolkit.fluxcd.io_helmreleases.yaml
}

build_flux_notification() {
  # All three CRDs (Alert, Provider, Receiver): the controller watches each kind it serves.
  build_controller "$1" flux-notification github.com/fluxcd/notification-controller "$FLUX_NOTIFICATION" \
    notification-controller github.com/fluxcd/notification-controller config/crd/bases \
    'notification.toolkit.fluxcd.io_*.yaml'
}

build_flux_image_reflector() {
  # Both CRDs (ImageRepository, ImagePolicy): the controller watches each kind it serves.
  build_controller "$1" flux-image-reflector github.com/fluxcd/image-reflector-controller \
    "$FLUX_IMAGE_REFLECTOR" image-reflector-controller github.com/fluxcd/image-reflector-controller \
    config/crd/bases 'image.toolkit.fluxcd.io_*.yaml'
}

build_snapshot() {
  # The CRDs live in the client/v8 module (the root module's ./client), at the same version.
  # main.version is what --version prints and the startup log reports (upstream sets it too).
  ld_extra="-X main.version=$SNAPSHOTTER" build_controller "$1" snapshot \
    github.com/kubernetes-csi/external-snapshotter/client/v8 "$SNAPSHOTTER" snapshot-controller \
    github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller config/crd \
    snapshot.storage.k8s.io_volumesnapshotclasses.yaml snapshot.storage.k8s.io_volumesnapshotcontents.yaml \
    snapshot.storage.k8s.io_volumesnapshots.yaml 'groupsnapshot.storage.k8s.io_*.yaml'
}

build_helm() {
  cd "$here/go/helm"
  # Without the version flag, `helm version` reports the bare minor (v4.2) and no metadata.
  go build -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM" \
    -o "$1/helm" helm.sh/helm/v4/cmd/helm
}

build_registry() {
  cd "$here/go/registry"
  go build -trimpath -ldflags "-s -w" -o "$1/registry" github.com/distribution/distribution/v3/cmd/registry
}

build_promtool() {
  # Prometheus 3.x.y is tagged v0.(300+x).y in Go: v0.316.0 is 3.16.0, which --version reports.
  local minor=${PROMETHEUS#v0.} prom
  minor=${minor%%.*}
  prom="3.$((minor - 300)).${PROMETHEUS##*.}"
  cd "$here/go/promtool"
  # remove_all_sd leaves out the service-discovery plugins (cloud SDKs) that promtool registers
  # but rule checking never uses; they are most of its build time.
  go build -trimpath -tags remove_all_sd \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=$prom" \
    -o "$1/promtool" github.com/prometheus/prometheus/cmd/promtool
}

build_prometheus_operator() {
  # Nothing is compiled: the chart's ServiceMonitor, PodMonitor and PrometheusRule only need the
  # CRDs, copied from the module folder (the wrapper's go.sum pins the module's hash).
  local out=$1 src f
  src=$(module_dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR" \
    prometheus-operator)/example/prometheus-operator-crd
  mkdir -p "$out/crds"
  for f in servicemonitors podmonitors prometheusrules; do
    cp "$src/monitoring.coreos.com_$f.yaml" "$out/crds/"
  done
  chmod -R u+w "$out/crds"
}

build_render() {
  # Cairn's own rendering helper (go/render), not a test bed part: the tests and a local
  # controller run the binary from this cache (--render-helper=<folder>/cairn-render).
  bash "$here/../scripts/build-render.sh" "$1"
}

render_hash() {
  (cd "$here/../go/render" && cat go.mod go.sum $(find . -name '*.go' ! -name '*_test.go' | sort) | sha256sum | cut -c1-10)
}

only=("$@")
for c in "${only[@]}"; do
  case "$c" in
    kube | kwok | fluxSource | fluxKustomize | fluxHelm | fluxNotification | fluxImageReflector | snapshot | helm | promtool | prometheusOperator | registry | render) ;;
    *) echo "testbed build: unknown component '$c'" >&2; exit 2 ;;
  esac
done
dirs=()
total_start=$SECONDS
build_component kube "kube-$KUBE+etcd-$ETCD+$platform+$(module_hash kube)" build_kube
build_component kwok "kwok-$KWOK+$platform+$(module_hash kwok)" build_kwok
build_component fluxSource "flux-source-$FLUX_SOURCE+$platform+$(module_hash flux-source)" build_flux_source
build_component fluxKustomize "flux-kustomize-$FLUX_KUSTOMIZE+$platform+$(module_hash flux-kustomize)" \
  build_flux_kustomize
build_component fluxHelm "flux-helm-$FLUX_HELM+$platform+$(module_hash flux-helm)" build_flux_helm
build_component fluxNotification \
  "flux-notification-$FLUX_NOTIFICATION+$platform+$(module_hash flux-notification)" build_flux_notification
build_component fluxImageReflector \
  "flux-image-reflector-$FLUX_IMAGE_REFLECTOR+$platform+$(module_hash flux-image-reflector)" \
  build_flux_image_reflector
build_component snapshot "snapshot-$SNAPSHOTTER+$platform+$(module_hash snapshot)" build_snapshot
build_component helm "helm-$HELM+$platform+$(module_hash helm)" build_helm
build_component registry "registry-$REGISTRY+$platform+$(module_hash registry)" build_registry
build_component promtool "promtool-$PROMETHEUS+$platform+$(module_hash promtool)" build_promtool
build_component prometheusOperator \
  "prometheus-operator-$PROMETHEUS_OPERATOR+$platform+$(module_hash prometheus-operator)" \
  build_prometheus_operator
render_version() { sed -n "s#^[[:space:]]*$1 \(v[^ ]*\).*#\1#p" "$here/../go/render/go.mod" | head -1; }
render_versions="helm-$(render_version helm.sh/helm/v4)+kustomize-$(render_version sigs.k8s.io/kustomize/api)"
build_component render "render-$render_versions+$platform+$(render_hash)" build_render
echo "testbed build: done in $((SECONDS - total_start))s" >&2
(IFS=,; echo "{${dirs[*]}}")
