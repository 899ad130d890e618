package main

import (
	"strings"
	"testing"
)

const sampleOutput = `goos: linux
cpu: AMD EPYC
BenchmarkUpload/size=64MiB/plugin-2         	       1	 500000000 ns/op	 100.00 MB/s	       128.0 RSS-target-MiB	       150.0 peak-RSS-MiB
BenchmarkUpload/size=64MiB/sdk-multipart-2  	       1	 400000000 ns/op	 200.00 MB/s
BenchmarkUpload/size=64MiB/plugin-2         	       1	 500000000 ns/op	 90.00 MB/s	       128.0 RSS-target-MiB	       120.0 peak-RSS-MiB
BenchmarkUpload/size=64MiB/sdk-multipart-2  	       1	 400000000 ns/op	 100.00 MB/s
BenchmarkUpload/size=64MiB/plugin-2         	       1	 500000000 ns/op	 160.00 MB/s	       128.0 RSS-target-MiB	       110.0 peak-RSS-MiB
BenchmarkUpload/size=64MiB/sdk-multipart-2  	       1	 400000000 ns/op	 200.00 MB/s
--- FAIL: BenchmarkSnapshots/volumes=20/restore-after-replicas
PASS
`

func TestParseAndRatios(t *testing.T) {
	r, err := parse(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	plugin, sdk := "BenchmarkUpload/size=64MiB/plugin", "BenchmarkUpload/size=64MiB/sdk-multipart"
	tests := []struct {
		name string
		got  func() (stat, bool)
		want stat
	}{
		// Per-round ratios 0.5, 0.9, 0.8: the median pairs figures of the same round.
		{"ratio by round", func() (stat, bool) { return r.ratio(plugin, sdk, "MB/s") }, stat{median: 0.8, min: 0.5, max: 0.9, n: 3}},
		{"median of a unit", func() (stat, bool) { return r.get(plugin, "peak-RSS-MiB") }, stat{median: 120, min: 110, max: 150, n: 3}},
		{"unit missing", func() (stat, bool) { return r.get(sdk, "peak-RSS-MiB") }, stat{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.got()
			if ok != (tt.want.n > 0) {
				t.Fatalf("ok = %v, want %v", ok, tt.want.n > 0)
			}
			if !near(got.median, tt.want.median) || !near(got.min, tt.want.min) || !near(got.max, tt.want.max) || got.n != tt.want.n {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if len(r.order) != 2 || len(r.failed) != 1 || len(r.header) != 2 {
		t.Errorf("order %v, failed %v, header %v", r.order, r.failed, r.header)
	}
}

func TestRenderVerdicts(t *testing.T) {
	r, err := parse(strings.NewReader(sampleOutput))
	if err != nil {
		t.Fatal(err)
	}
	md := render(r, "")
	for _, want := range []string{
		"plugin ≥ 80% of the raw SDK multipart upload: 80% (median) → **met**",
		"highest 150 MiB → **NOT met**", // one round's peak is over 128 MiB
		"--- FAIL: BenchmarkSnapshots/volumes=20/restore-after-replicas",
		"**TODO (not measured in this run):**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

const peersOutput = `peer-missing: aws: BENCH_AWS_PLUGIN is not set
BenchmarkPeers/size=256MiB/upload/plugin=this-2       1  100 ns/op  200.00 MB/s  90.0 peak-RSS-MiB  2.00 plugin-cpu-s/GiB
BenchmarkPeers/size=256MiB/upload/plugin=upstream-2   1  100 ns/op  100.00 MB/s  50.0 peak-RSS-MiB  4.00 plugin-cpu-s/GiB
BenchmarkPeers/size=256MiB/download/plugin=this-2     1  100 ns/op  300.00 MB/s  40.0 peak-RSS-MiB  1.00 plugin-cpu-s/GiB
BenchmarkPeers/size=256MiB/download/plugin=upstream-2 1  100 ns/op  400.00 MB/s  40.0 peak-RSS-MiB  1.00 plugin-cpu-s/GiB
peer-missing: aws: BENCH_AWS_PLUGIN is not set
BenchmarkPeers/size=256MiB/upload/plugin=this-2       1  100 ns/op  240.00 MB/s  96.0 peak-RSS-MiB  2.00 plugin-cpu-s/GiB
BenchmarkPeers/size=256MiB/upload/plugin=upstream-2   1  100 ns/op  80.00 MB/s   60.0 peak-RSS-MiB  4.00 plugin-cpu-s/GiB
BenchmarkPeers/size=256MiB/download/plugin=this-2     1  100 ns/op  300.00 MB/s  40.0 peak-RSS-MiB  1.00 plugin-cpu-s/GiB
BenchmarkPeers/size=256MiB/download/plugin=upstream-2 1  100 ns/op  400.00 MB/s  40.0 peak-RSS-MiB  1.00 plugin-cpu-s/GiB
`

func TestRenderPeers(t *testing.T) {
	r, err := parse(strings.NewReader(peersOutput))
	if err != nil {
		t.Fatal(err)
	}
	md := render(r, "")
	for _, want := range []string{
		"**Not measured:** aws: BENCH_AWS_PLUGIN is not set",
		"| this | 220 [200–240] | 300 | 93 [90–96] / 40 | 2.00 / 1.00 |",
		// Round by round 2.0 and 3.0: the median of two is their mean.
		"- upload MB/s: this ÷ upstream = 2.50 [2.00–3.00] → **ahead**",
		"- download MB/s: this ÷ upstream = 0.75 → behind",
		"- upload peak RSS: this ÷ upstream = 1.70 [1.60–1.80] → behind",
		"- upload CPU s/GiB: this ÷ upstream = 0.50 → **ahead**",
		"- download CPU s/GiB: this ÷ upstream = 1.00 → even",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Count(md, "**Not measured:**") != 1 || strings.Contains(md, "against aws") {
		t.Errorf("the missing aws peer is reported more than once or measured:\n%s", md)
	}
}

func TestRenderPeerSplit(t *testing.T) {
	const out = `BenchmarkPeers/size=1GiB/upload/plugin=this-2     1  100 ns/op  200.00 MB/s  90.0 peak-RSS-MiB  45.0 peak-file-MiB  47.0 peak-anon-MiB  2.50 client+emulator-cpu-s/GiB
BenchmarkPeers/size=1GiB/download/plugin=this-2   1  100 ns/op  300.00 MB/s  50.0 peak-RSS-MiB  44.0 peak-file-MiB  8.0 peak-anon-MiB  2.75 client+emulator-cpu-s/GiB
BenchmarkPeers/size=1GiB/upload/plugin=upstream-2 1  100 ns/op  100.00 MB/s  50.0 peak-RSS-MiB
`
	r, err := parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	md := render(r, "")
	if want := "| this | 45 / 47 | 44 / 8 | 2.50 / 2.75 |"; !strings.Contains(md, want) {
		t.Errorf("report lacks %q:\n%s", want, md)
	}
	// A peer measured without the sampler has no row, rather than one of dashes.
	if n := strings.Count(md, "| upstream |"); n != 1 {
		t.Errorf("upstream has %d rows, want 1 (the main table's; none in the memory table):\n%s", n, md)
	}
}

func TestParseRejectsMalformedLine(t *testing.T) {
	if _, err := parse(strings.NewReader("BenchmarkX-2  1  100 ns/op 5\n")); err == nil {
		t.Fatal("a line with a value but no unit was accepted")
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
