// Package bench holds the project's performance benchmarks: the plugin's
// ObjectStore and VolumeSnapshotter driven through Velero's own gRPC plugin
// client against the in-process OSS/ECS emulators, each measured beside a
// baseline in the same run (raw SDK, plain HTTP, the upstream plugin's
// request pattern), because the shared machine's absolute speed drifts.
//
// Run everything with `make bench` (hack/bench.sh), which writes
// bench/REPORT.md from the benchmark output with bench/cmd/report. The
// benchmarks are ordinary `go test -bench` functions and can be run alone:
//
//	go test -run '^$' -bench 'Upload' -benchtime 1x ./bench/
//
// Environment: BENCH_SIZES (e.g. "1GiB,6GiB"; default 256MiB) sets the
// transfer sizes; BENCH_SWEEP_SIZE (default 256MiB) the stream size of the
// part size / concurrency sweep. Do not run them with -race: the OSS SDK's
// progress tracker and the ECS SDK's shared client race by design.
//
// Besides ns/op and MB/s, transfers report plugin-cpu-s/GiB (the plugin
// process's user + system time per GiB), peak-RSS-MiB (its VmHWM) and, in
// BenchmarkPeers and the download benchmarks, client+emulator-cpu-s/GiB (this
// process: Velero's gRPC client and the emulator) and the split of the
// plugin's resident set into peak-file-MiB (the binary's pages) and
// peak-anon-MiB (what it allocated). The first upload of each size is an
// unmeasured warm-up: the first large transfer of a process is slower,
// whichever plugin makes it.
//
// BenchmarkPeers measures this bundle beside the upstream Alibaba plugin
// (github.com/AliyunContainerService/velero-plugin at 1b0cc14, built from its
// git source) and velero-plugin-for-aws v1.14.2 on the emulator's S3
// protocol, at BENCH_PEER_SIZES (default "256MiB,1GiB"). hack/peers.sh builds
// the two peers (cached) and prints the variables the benchmark reads; make
// bench runs it first. Alone:
//
//	eval "$(hack/peers.sh env)"; export BENCH_UPSTREAM_PLUGIN BENCH_AWS_PLUGIN
//	go test -run '^$' -bench '^BenchmarkPeers$' -benchtime 1x ./bench/
//
// or, as a report of that section alone (a BENCH_ONLY run writes only the
// sections it measured, so keep it away from bench/REPORT.md):
//
//	BENCH_ONLY=Peers BENCH_ROUNDS=3 BENCH_REPORT=/tmp/peers.md bash hack/bench.sh
package bench
