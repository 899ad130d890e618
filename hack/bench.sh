#!/usr/bin/env bash
# make bench: the performance benchmarks (package ./bench) and bench/REPORT.md.
#
# Every comparison in the report is a ratio of two figures measured one right
# after the other in the same round (the machine is shared and drifts); the
# transfer benchmarks run BENCH_ROUNDS rounds and the report shows medians.
#
# Environment:
#   BENCH_SIZES         transfer sizes, comma-separated (default 256MiB; the
#                       full run is BENCH_SIZES=1GiB,6GiB, which needs ~15 GiB
#                       free disk and BENCH_ROUNDS=1 to stay near 10 minutes)
#   BENCH_ROUNDS        rounds of the upload/download benchmarks (default 5)
#   BENCH_SWEEP_SIZE    stream size of the part size × concurrency sweep (default 256MiB)
#   BENCH_SWEEP_ROUNDS  rounds of the sweep (default 2)
#   BENCH_PEER_SIZES    stream sizes of BenchmarkPeers (default 256MiB,1GiB): this
#                       bundle beside the upstream Alibaba plugin and
#                       velero-plugin-for-aws, built by hack/peers.sh
#   BENCH_ONLY          a regexp of benchmark names to run instead of all
#   BENCH_REPORT        where to write the report (default bench/REPORT.md)
#
# Never with -race: the OSS SDK's progress tracker and the ECS SDK's shared
# client race by design, and the race detector would dominate the figures.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$(date +%s)

export BENCH_SIZES="${BENCH_SIZES:-256MiB}"
export BENCH_SWEEP_SIZE="${BENCH_SWEEP_SIZE:-256MiB}"
rounds="${BENCH_ROUNDS:-5}"
sweep_rounds="${BENCH_SWEEP_ROUNDS:-2}"
report="${BENCH_REPORT:-bench/REPORT.md}"
raw="$(mktemp -d "${TMPDIR:-/tmp}/velero-bench-XXXXXX")"
context="Run of $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) CPUs (load average $(cut -d' ' -f1-3 /proc/loadavg) at start), $(go version | cut -d' ' -f3); BENCH_SIZES=$BENCH_SIZES, $rounds rounds of upload/download, $sweep_rounds of the sweep${BENCH_ONLY:+; only the benchmarks matching BENCH_ONLY=$BENCH_ONLY}."

echo "bench: compiling"
go test -c -o "$raw/bench.test" ./bench/ || exit 1

status=0
# run NAME REGEXP ROUNDS: the benchmarks matching REGEXP, ROUNDS times over.
# Each round is a separate run of the test binary, so round i of every
# variant is measured back to back (go test -count would repeat one variant
# ROUNDS times before the next); the report pairs figures by round.
run() {
	local name=$1 re=$2 rounds=$3 i
	if [ -n "${BENCH_ONLY:-}" ] && ! [[ $re =~ $BENCH_ONLY ]] && ! [[ $name =~ $BENCH_ONLY ]]; then
		return
	fi
	for ((i = 1; i <= rounds; i++)); do
		echo "bench: $name, round $i of $rounds"
		# The test binary runs in ./bench like `go test` would run it.
		(cd bench && "$raw/bench.test" -test.run '^$' -test.bench "$re" -test.benchtime 1x \
			-test.benchmem -test.timeout 60m) 2>&1 | tee -a "$raw/$name.txt"
		[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
	done
}

run transfer '^Benchmark(Upload|Download)$' "$rounds"
run sweep '^BenchmarkUploadSweep$' "$sweep_rounds"
run list '^BenchmarkList$' 1
run credentials '^BenchmarkCredentials$' 1
run snapshots '^BenchmarkSnapshots$' 1
if [ -z "${BENCH_ONLY:-}" ] || [[ Peers =~ $BENCH_ONLY ]]; then
	# The peers' binaries (cached after the first build); a peer that cannot
	# be built comes back as BENCH_<PEER>_PLUGIN_MISSING, which the benchmark
	# prints instead of its figures.
	peers_env="$(bash "$root/hack/peers.sh" env)" || status=1
	while IFS= read -r line; do
		[ -n "$line" ] && export "${line?}"
	done <<<"$peers_env"
fi
run peers '^BenchmarkPeers$' "$rounds"

cat "$raw"/*.txt >"$raw/all.txt"
go run ./bench/cmd/report -in "$raw/all.txt" -out "$report" -context "$context" || status=1
rm -f "$raw/bench.test"

# --- Section 6: restore overhead (test/e2e BenchmarkRestoreOverhead) ---------
# A separate step: it needs the e2e stack (etcd, kube-apiserver, the stock
# velero server), so it runs only when hack/tools.sh has the tools cached
# (building them takes many minutes on a fresh clone; section 6 then stays
# TODO). It rewrites section 6 of the report in place. BENCH_RESTORE=0 skips
# it; BENCH_RESTORE_ROUNDS sets its rounds (default 2, ~7 minutes).
tools_cache="${E2E_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/velero-plugin-for-alibabacloud/bin}"
have_tools=1
for t in etcd kube-apiserver velero; do
	compgen -G "$tools_cache/$t-*" >/dev/null || have_tools=0
done
if [ "${BENCH_RESTORE:-1}" = 0 ] || { [ -n "${BENCH_ONLY:-}" ] && ! [[ RestoreOverhead =~ $BENCH_ONLY ]]; }; then
	:
elif [ "$have_tools" = 0 ]; then
	echo "bench: restore overhead skipped: no e2e tools cached in $tools_cache (run hack/tools.sh first)"
else
	echo "bench: restore overhead (test/e2e, BenchmarkRestoreOverhead)"
	section="$raw/restore-overhead.md"
	E2E_BENCH_ROUNDS="${BENCH_RESTORE_ROUNDS:-2}" E2E_BENCH_REPORT="$section" \
		bash "$root/hack/e2e.sh" -run '^$' -bench '^BenchmarkRestoreOverhead$' -benchtime 1x 2>&1 | tee "$raw/restore-overhead.txt"
	if [ "${PIPESTATUS[0]}" -eq 0 ] && [ -s "$section" ]; then
		# Replace "## 6. ..." up to the next "## " heading with the new section.
		awk -v f="$section" '
			/^## 6\. / { while ((getline l < f) > 0) print l; print ""; skip = 1; next }
			skip && /^## / { skip = 0 }
			!skip { print }' "$report" >"$report.tmp" && mv "$report.tmp" "$report" || status=1
	else
		status=1
	fi
fi

echo "bench: raw output in $raw"
echo "bench: report written to $(realpath "$report") ($(( $(date +%s) - start ))s, exit $status)"
exit $status
