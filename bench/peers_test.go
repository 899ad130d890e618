package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/plugintest"
)

// A peer is an ObjectStore plugin measured beside this bundle by
// BenchmarkPeers, each started from its own binary through Velero's plugin
// registry and pointed at the same emulator by its own BSL config keys.
type peer struct {
	name    string // plugin=<name> in the benchmark names
	bin     string // the plugin binary ("" when not measured)
	missing string // why it is not measured
	plugin  string // the ObjectStore name it registers
	file    string // its file name in the plugin directory
	config  func(e *ossEnv) map[string]string
}

// peers are this bundle (the binary the other benchmarks build), the
// upstream Alibaba plugin on the OSS protocol and velero-plugin-for-aws on
// OSS's S3 protocol, each with its default part size and concurrency: what a
// BackupStorageLocation without tuning gets. hack/peers.sh builds the two
// peers and prints the BENCH_*_PLUGIN variables.
func peers(b *testing.B, e *ossEnv) []peer {
	b.Helper()
	this := filepath.Join(plugintest.Build(b), plugintest.BinaryName)
	awsCreds := filepath.Join(b.TempDir(), "aws-credentials")
	creds := "[default]\naws_access_key_id=" + keyID + "\naws_secret_access_key=" + keySecret + "\n"
	if err := os.WriteFile(awsCreds, []byte(creds), 0o600); err != nil {
		b.Fatal(err)
	}
	ps := []peer{
		{name: "this", bin: this, plugin: pluginName, file: "velero-bench-peer-this",
			config: func(e *ossEnv) map[string]string {
				return map[string]string{"region": region, "endpoint": e.url, "bucket": bucketName, "credentialsFile": e.credFile}
			}},
		// Its "endpoint" key is used as is by its OSS SDK v2 client (path
		// style for an IP host); the credentials file holds the same
		// ALIBABA_CLOUD_ACCESS_KEY_* lines it loads into its environment.
		{name: "upstream", plugin: pluginName, file: "velero-bench-peer-upstream",
			config: func(e *ossEnv) map[string]string {
				return map[string]string{"region": region, "endpoint": e.url, "bucket": bucketName, "credentialsFile": e.credFile}
			}},
		// The emulator answers S3 SigV4 requests on the same listener and
		// buckets; over loopback HTTP the AWS SDK needs path style.
		{name: "aws", plugin: "velero.io/aws", file: "velero-bench-peer-aws",
			config: func(e *ossEnv) map[string]string {
				return map[string]string{"region": region, "s3Url": e.url, "s3ForcePathStyle": "true", "bucket": bucketName, "credentialsFile": awsCreds}
			}},
	}
	for i := range ps[1:] {
		p := &ps[i+1]
		v := "BENCH_" + map[string]string{"upstream": "UPSTREAM", "aws": "AWS"}[p.name] + "_PLUGIN"
		p.bin, p.missing = os.Getenv(v), os.Getenv(v+"_MISSING")
		switch {
		case p.missing != "":
			p.bin = ""
		case p.bin == "":
			p.missing = v + " is not set (run `eval \"$(hack/peers.sh env)\"` first, or make bench)"
		default:
			if st, err := os.Stat(p.bin); err != nil || st.IsDir() {
				p.missing, p.bin = fmt.Sprintf("%s=%s is not a plugin binary: %v", v, p.bin, err), ""
			}
		}
	}
	return ps
}

// BenchmarkPeers moves a BENCH_PEER_SIZES stream (default 256MiB,1GiB) up
// and down through each peer's ObjectStore, Velero's gRPC client on this
// side (16 KiB messages, as the Velero server sends a backup tarball), a
// fresh plugin process per measurement so that peak-RSS-MiB (VmHWM) and
// plugin-cpu-s/GiB are that transfer's alone. Every upload is checked
// (size and CRC64 in the emulator), every download's length too. A peer
// that was not built is reported on a "peer-missing:" line and not
// measured; the others still run.
func BenchmarkPeers(b *testing.B) {
	e := newOSSEnv(b)
	ps := peers(b, e)
	for _, p := range ps {
		if p.missing != "" {
			fmt.Printf("peer-missing: %s: %s\n", p.name, p.missing)
		}
	}
	for _, size := range sizes(b, "BENCH_PEER_SIZES", "256MiB,1GiB") {
		checkDisk(b, size)
		want := streamCRC(size)
		key := "peers/download/" + human(size)
		if err := sdkUpload(e.sdk, key, newStream(size), defaultPartSize, defaultConcurrency); err != nil {
			b.Fatal(err)
		}
		b.Run("size="+human(size), func(b *testing.B) {
			b.Run("upload", func(b *testing.B) {
				warmUpPeers(b, e, ps, size, want)
				for _, p := range ps {
					if p.missing != "" {
						continue
					}
					b.Run("plugin="+p.name, func(b *testing.B) {
						store, pid := symlinkedObjectStore(b, p.bin, p.file, p.plugin, p.config(e))
						up := "peers/upload/" + p.name
						b.SetBytes(size)
						cpu, own := cpuTime(b, pid), cpuTime(b, os.Getpid())
						rss := sampleRSS(pid)
						for b.Loop() {
							if err := store.PutObject(bucketName, up, newStream(size)); err != nil {
								b.Fatal(err)
							}
						}
						reportCPU(b, cpuTime(b, pid)-cpu, size)
						reportOwnCPU(b, cpuTime(b, os.Getpid())-own, size)
						rss.report(b)
						b.ReportMetric(peakRSS(b, pid), "peak-RSS-MiB")
						e.verifyAndDelete(b, up, size, want)
					})
				}
			})
			b.Run("download", func(b *testing.B) {
				for _, p := range ps {
					if p.missing != "" {
						continue
					}
					b.Run("plugin="+p.name, func(b *testing.B) {
						store, pid := symlinkedObjectStore(b, p.bin, p.file, p.plugin, p.config(e))
						measureDownload(b, store, pid, key, size)
					})
				}
			})
		})
		if err := e.sdk.DeleteObject(key); err != nil {
			b.Fatal(err)
		}
	}
}

// warmUpPeers warms up (see warmUp) through the first plugin there is, so
// that the table's first plugin, this bundle, does not pay for the warm-up
// in every round.
func warmUpPeers(b *testing.B, e *ossEnv, ps []peer, size int64, crc uint64) {
	b.Helper()
	for _, p := range ps {
		if p.missing == "" {
			store, _ := symlinkedObjectStore(b, p.bin, p.file, p.plugin, p.config(e))
			warmUp(b, e, store, size, crc)
			return
		}
	}
}
