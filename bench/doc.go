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
package bench
