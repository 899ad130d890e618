#!/usr/bin/env bash
# Builds the pinned tools the end-to-end tests run (etcd, kube-apiserver, velero)
# from the Go module proxy through the wrapper modules in hack/tools/<tool>.
#
# Binaries are cached outside the repository, named after the pinned version and
# a hash of the wrapper's go.mod/go.sum, so a binary is rebuilt only when its pin
# changes:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/velero-plugin-for-alibabacloud/bin/<tool>-<version>-<hash>
#
# Usage:
#   hack/tools.sh          build what is missing, print the time each took
#   hack/tools.sh env      same, then print E2E_ETCD=..., E2E_KUBE_APISERVER=..., E2E_VELERO=... on stdout
#
# Builds run one after another (2-core machines), with -trimpath and the normal Go build cache.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${E2E_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/velero-plugin-for-alibabacloud/bin}"
mkdir -p "$cache"

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

declare -A built
for line in "${tools[@]}"; do
  read -r name dir module pkg <<<"$line"
  wrapper="$root/hack/tools/$dir"
  version="$(cd "$wrapper" && GOFLAGS=-mod=mod go list -m -f '{{.Version}}' "$module")"
  hash="$(cat "$wrapper/go.mod" "$wrapper/go.sum" | sha256sum | cut -c1-10)"
  bin="$cache/$name-$version-$hash"
  if [[ -x "$bin" ]]; then
    log "$name $version: cached ($bin)"
  else
    log "$name $version: building $pkg (this takes minutes on a cold cache)"
    start=$(date +%s)
    (cd "$wrapper" && go build -trimpath -o "$bin.tmp" "$pkg")
    mv "$bin.tmp" "$bin"
    log "$name $version: built in $(( $(date +%s) - start ))s ($bin)"
  fi
  built[$name]="$bin"
done

if [[ "${1:-}" == "env" ]]; then
  echo "E2E_ETCD=${built[etcd]}"
  echo "E2E_KUBE_APISERVER=${built[kube-apiserver]}"
  echo "E2E_VELERO=${built[velero]}"
fi
