#!/usr/bin/env bash
# Builds the pinned tools the end-to-end tests run (etcd, kube-apiserver, velero)
# from the Go module proxy through the wrapper modules in hack/tools/<tool>.
#
# Binaries are cached outside the repository, named after the pinned version and
# a hash of the wrapper's go.mod/go.sum and of the build flags, so a binary is
# rebuilt only when its pin or the way it is built changes:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/velero-plugin-for-alibabacloud/bin/<tool>-<version>-<hash>
# E2E_TOOLS_CACHE overrides that directory.
#
# Usage:
#   hack/tools.sh          build what is missing, print the time each step took
#   hack/tools.sh env      same, then print E2E_ETCD=..., E2E_KUBE_APISERVER=..., E2E_VELERO=... on stdout
#
# What is missing is first downloaded, every wrapper at once (network, not CPU),
# then built one tool after another: on 2 cores each build already keeps both
# busy, and the three share many packages (k8s.io/api, apimachinery, client-go,
# grpc) that a sequential build compiles once and then finds in the Go build cache.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${E2E_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/velero-plugin-for-alibabacloud/bin}"
mkdir -p "$cache"

# No -trimpath: the same compile flags as `go test` and the stack's plugin build,
# so the standard library and the modules they share compile once for all of
# them. -s -w: no symbol table or DWARF; the tools are test fixtures, and the
# link, which runs on one core, takes half as long without them.
build_flags=("-ldflags=-s -w")

# tool  wrapper-dir  pinned-module  main-package
tools=(
  "etcd            etcd            go.etcd.io/etcd/server/v3     go.etcd.io/etcd/server/v3"
  "kube-apiserver  kube-apiserver  k8s.io/kubernetes             k8s.io/kubernetes/cmd/kube-apiserver"
  "velero          velero          github.com/vmware-tanzu/velero github.com/vmware-tanzu/velero/cmd/velero"
)

log() { echo "tools: $*" >&2; }

# Serialise concurrent runs (two test runs starting at once must not build twice).
exec 9>"$cache/.lock"
flock 9

declare -A built versions
missing=()
for line in "${tools[@]}"; do
  read -r name dir module pkg <<<"$line"
  wrapper="$root/hack/tools/$dir"
  # The version is read from go.mod itself: `go list -m` would load the whole
  # module graph, downloading it on a cold module cache, only to name a cached binary.
  version="$(awk -v m="$module" '$1 == "require" && $2 == m { print $3; exit }
    $1 == m && $2 ~ /^v/ { print $2; exit }' "$wrapper/go.mod")"
  if [[ -z "$version" ]]; then
    log "$name: no require line for $module in $wrapper/go.mod; pin it with: cd hack/tools/$dir && go get $module@<version>"
    exit 1
  fi
  hash="$( { cat "$wrapper/go.mod" "$wrapper/go.sum"; printf '%s\n' "${build_flags[@]}"; } | sha256sum | cut -c1-10)"
  bin="$cache/$name-$version-$hash"
  built[$name]="$bin"
  versions[$name]="$version"
  if [[ -x "$bin" ]]; then
    log "$name $version: cached ($bin)"
  else
    missing+=("$line")
  fi
done

if (( ${#missing[@]} )); then
  log "downloading the modules of ${#missing[@]} tool(s) (this takes minutes on a cold cache)"
  start=$(date +%s)
  pids=()
  for line in "${missing[@]}"; do
    read -r name dir _ <<<"$line"
    (cd "$root/hack/tools/$dir" && go mod download) &
    pids+=("$!")
  done
  for i in "${!pids[@]}"; do
    read -r name _ <<<"${missing[$i]}"
    wait "${pids[$i]}" || { log "$name: go mod download failed"; exit 1; }
  done
  log "modules downloaded in $(( $(date +%s) - start ))s"
fi

for line in "${missing[@]}"; do
  read -r name dir module pkg <<<"$line"
  bin="${built[$name]}"
  log "$name ${versions[$name]}: building $pkg"
  start=$(date +%s)
  (cd "$root/hack/tools/$dir" && go build "${build_flags[@]}" -o "$bin.tmp" "$pkg")
  mv "$bin.tmp" "$bin"
  log "$name ${versions[$name]}: built in $(( $(date +%s) - start ))s ($bin)"
done

if [[ "${1:-}" == "env" ]]; then
  echo "E2E_ETCD=${built[etcd]}"
  echo "E2E_KUBE_APISERVER=${built[kube-apiserver]}"
  echo "E2E_VELERO=${built[velero]}"
fi
