#!/usr/bin/env bash
# Builds the ObjectStore plugins that `make bench` measures beside this bundle
# (BenchmarkPeers in ./bench), through the wrapper modules in hack/tools/<peer>:
#
#   upstream  the upstream Alibaba plugin, github.com/AliyunContainerService/velero-plugin
#             at commit 1b0cc14, built from its git source (the module proxy does
#             not serve that module): UPSTREAM_PLUGIN_SRC names a clone or a bare
#             mirror holding the commit (default: the local mirror below); the
#             wrapper's go.mod replaces the module with ./src, where this script
#             extracts `git archive 1b0cc14`
#   aws       velero-plugin-for-aws v1.14.2 from the module proxy
#
# Binaries are cached beside the e2e tools (hack/tools.sh), named after the
# pinned version and a hash of the wrapper's go.mod/go.sum, so a binary is
# rebuilt only when its pin changes:
#   ${XDG_CACHE_HOME:-$HOME/.cache}/velero-plugin-for-alibabacloud/bin/<peer>-plugin-<version>-<hash>
#
# Usage:
#   hack/peers.sh       build what is missing, print the time each took
#   hack/peers.sh env   same, then print BENCH_UPSTREAM_PLUGIN=... and
#                       BENCH_AWS_PLUGIN=... on stdout; a peer that cannot be
#                       built gets an empty path and BENCH_<PEER>_PLUGIN_MISSING=<why>,
#                       which the benchmark reports instead of its figures
#
# A peer that fails to build does not stop the other one (exit status 0 with
# env, 1 without). Not part of `make test` or `make e2e`.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${E2E_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/velero-plugin-for-alibabacloud/bin}"
mkdir -p "$cache" || exit 1

upstream_commit=1b0cc14579f208fbf95d3a1afa0617b11be1b0da
upstream_src="${UPSTREAM_PLUGIN_SRC:-/work/.mirror/AliyunContainerService+velero-plugin/repo}"

log() { echo "peers: $*" >&2; }

# Serialise with hack/tools.sh and concurrent runs (one build at a time on 2 cores).
exec 9>"$cache/.lock"
flock 9

declare -A built missing

# cached NAME VERSION WRAPPER: the cache path of a peer's binary.
cached() {
	local hash
	hash="$(cat "$3/go.mod" "$3/go.sum" | sha256sum | cut -c1-10)"
	echo "$cache/$1-plugin-$2-$hash"
}

build_aws() {
	local wrapper="$root/hack/tools/aws-plugin" module=github.com/vmware-tanzu/velero-plugin-for-aws version bin start
	version="$(cd "$wrapper" && GOFLAGS=-mod=mod go list -m -f '{{.Version}}' "$module")" || return 1
	bin="$(cached aws "$version" "$wrapper")"
	if [[ -x "$bin" ]]; then
		log "aws $version: cached ($bin)"
	else
		log "aws $version: building (minutes on a cold cache)"
		start=$(date +%s)
		(cd "$wrapper" && go build -trimpath -o "$bin.tmp" "$module/velero-plugin-for-aws") || return 1
		mv "$bin.tmp" "$bin"
		log "aws $version: built in $(($(date +%s) - start))s ($bin)"
	fi
	built[aws]="$bin"
}

build_upstream() {
	local wrapper="$root/hack/tools/upstream-plugin" version=${upstream_commit:0:7} bin start work got entries
	bin="$(cached upstream "$version" "$wrapper")"
	if [[ -x "$bin" ]]; then
		log "upstream $version: cached ($bin)"
		built[upstream]="$bin"
		return
	fi
	got="$(git -C "$upstream_src" rev-parse --verify --quiet "$upstream_commit^{commit}" 2>/dev/null)"
	if [[ "$got" != "$upstream_commit" ]]; then
		missing[upstream]="no git repository holding commit $version at UPSTREAM_PLUGIN_SRC=$upstream_src (point UPSTREAM_PLUGIN_SRC at a clone of github.com/AliyunContainerService/velero-plugin)"
		return 1
	fi
	log "upstream $version: building from $upstream_src (minutes on a cold cache)"
	start=$(date +%s)
	work="$(mktemp -d "$cache/upstream-plugin-build-XXXXXX")" || return 1
	cp "$wrapper/go.mod" "$wrapper/go.sum" "$wrapper/tools.go" "$work/" && mkdir "$work/src" || { rm -rf "$work"; return 1; }
	# Everything but vendor/: as a dependency of the wrapper its vendor
	# directory is never read (the modules come from the proxy, checked
	# against the wrapper's go.sum), and mirrors may lack some of its blobs.
	entries="$(git -C "$upstream_src" ls-tree --name-only "$upstream_commit" | grep -vx vendor)"
	# shellcheck disable=SC2086 # one argument per top-level entry
	if ! git -C "$upstream_src" archive --format=tar "$upstream_commit" $entries 2>"$work/archive.log" | tar -x -C "$work/src" ||
		[[ ! -f "$work/src/go.mod" || ! -f "$work/src/velero-plugin-alibabacloud/main.go" ]]; then
		missing[upstream]="extracting commit $version from $upstream_src failed: $(head -c 300 "$work/archive.log")"
		rm -rf "$work"
		return 1
	fi
	if ! (cd "$work" && go build -trimpath -o "$bin.tmp" github.com/AliyunContainerService/velero-plugin/velero-plugin-alibabacloud); then
		missing[upstream]="building commit $version failed (see the go build output above)"
		rm -rf "$work"
		return 1
	fi
	rm -rf "$work"
	mv "$bin.tmp" "$bin"
	log "upstream $version: built in $(($(date +%s) - start))s ($bin)"
	built[upstream]="$bin"
}

status=0
build_upstream || { status=1; log "upstream: ${missing[upstream]:-build failed}"; }
build_aws || { status=1; missing[aws]="${missing[aws]:-building velero-plugin-for-aws failed (see the go build output above)}"; log "aws: ${missing[aws]}"; }

if [[ "${1:-}" == "env" ]]; then
	for peer in upstream aws; do
		var="BENCH_${peer^^}_PLUGIN"
		echo "$var=${built[$peer]:-}"
		[[ -n "${missing[$peer]:-}" ]] && echo "${var}_MISSING=${missing[$peer]}"
	done
	exit 0
fi
exit $status
