package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/e2e/stack"
)

// BenchmarkFileSystemBackup measures Velero's file-system backup of the
// 200 MiB NAS volume of TestFileSystemBackup through the stock node-agent and
// kopia into the emulator's S3 side, beside one plain S3 PUT of the same
// bytes to the same emulator with minio-go (the S3 client kopia uses). Each
// round writes new random bytes first (kopia would otherwise deduplicate
// them to nothing) and times the backup from `velero backup create` to
// Completed, then the PUT; the ratio is per round. Round 1 also creates the
// namespace's kopia repository. E2E_BENCH_ROUNDS sets the rounds (default 3).
//
//	hack/e2e.sh -run '^$' -bench FileSystemBackup -benchtime 1x
func BenchmarkFileSystemBackup(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	rounds := benchRounds(b)
	const ns, pvName = "e2e-fs-bench", "e2e-fs-bench-nas"
	na := startNodeAgent(b, ctx, ns)
	createNamespace(b, ctx, ns)
	createBoundNASClaim(b, ctx, ns, "shared", pvName, "/"+ns)
	pod := waitPodRunning(b, ctx, ns, createAppPod(b, ctx, ns, "app", "shared"))
	nasDir := filepath.Join(na.PodDir(pod.UID), "volumes", "kubernetes.io~csi", pvName, "mount")
	writeVolume(b, nasDir, false)
	big := filepath.Join(nasDir, "data.bin")
	s3 := s3Client(b)

	var fsRates, putRates, pvbRates, ratios []float64
	for round := 1; round <= rounds; round++ {
		writeRandomFile(b, big, uint64(round))
		backup := fmt.Sprintf("fs-bench-%d", round)
		start := time.Now()
		velero(b, ctx, "backup", "create", backup, "--include-namespaces", ns, "--default-volumes-to-fs-backup", "--snapshot-volumes=false")
		waitPhase(b, ctx, stack.Backups, backup, "Completed")
		fsTook := time.Since(start)
		b.Cleanup(func() { deleteBackup(b, backup) })
		pvbTook := pvbDuration(b, ctx, backup, "shared")

		f, err := os.Open(big)
		if err != nil {
			b.Fatal(err)
		}
		key := fmt.Sprintf("bench/fs-put-%d", round)
		start = time.Now()
		_, err = s3.PutObject(ctx, stack.Bucket, key, f, bigFileSize, minio.PutObjectOptions{})
		putTook := time.Since(start)
		f.Close()
		if err != nil {
			b.Fatalf("plain S3 PUT of %s: %v", key, err)
		}
		if err := s3.RemoveObject(ctx, stack.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
			b.Fatalf("removing %s: %v", key, err)
		}
		fsRate, putRate := mbps(fsTook), mbps(putTook)
		fsRates, putRates = append(fsRates, fsRate), append(putRates, putRate)
		pvbRates = append(pvbRates, mbps(pvbTook))
		ratios = append(ratios, fsRate/putRate)
		b.Logf("round %d: file-system backup %.1f MB/s (%s; its PodVolumeBackup %s from start to completion), plain S3 PUT %.1f MB/s (%s), ratio %.3f",
			round, fsRate, fsTook.Round(time.Millisecond), pvbTook, putRate, putTook.Round(time.Millisecond), fsRate/putRate)
	}
	b.ReportMetric(median(fsRates), "fs-backup-MB/s")
	b.ReportMetric(median(pvbRates), "pvb-MB/s")
	b.ReportMetric(median(putRates), "s3-put-MB/s")
	b.ReportMetric(median(ratios), "fs÷put")
}

// pvbDuration is the time the PodVolumeBackup of volume in backup took from
// its start to its completion timestamp (whole seconds, as Velero records
// them): the data path alone, without Velero's backup around it.
func pvbDuration(b testing.TB, ctx context.Context, backup, volume string) time.Duration {
	for _, pvb := range listByLabel(b, ctx, gvrPVBs, "velero.io/backup-name="+backup) {
		if v, _, _ := unstructured.NestedString(pvb.Object, "spec", "volume"); v != volume {
			continue
		}
		from, _, _ := unstructured.NestedString(pvb.Object, "status", "startTimestamp")
		to, _, _ := unstructured.NestedString(pvb.Object, "status", "completionTimestamp")
		start, err1 := time.Parse(time.RFC3339, from)
		end, err2 := time.Parse(time.RFC3339, to)
		if err1 != nil || err2 != nil {
			b.Fatalf("PodVolumeBackup %s has start %q and completion %q", pvb.GetName(), from, to)
		}
		return max(end.Sub(start), time.Second)
	}
	b.Fatalf("backup %s has no PodVolumeBackup of volume %s", backup, volume)
	return 0
}

// s3Client is minio-go on the emulator's OSS URL with the stack's AccessKey:
// path style, as minio-go picks for an IP host, and the location's region.
func s3Client(b testing.TB) *minio.Client {
	u, err := url.Parse(env.Emulator.OSSURL)
	if err != nil {
		b.Fatal(err)
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  miniocreds.NewStaticV4(stack.AccessKeyID, stack.AccessKeySecret, ""),
		Secure: u.Scheme == "https",
		Region: stack.OSSRegion,
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// writeRandomFile replaces path with bigFileSize random bytes from seed.
func writeRandomFile(b testing.TB, path string, seed uint64) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	var key [32]byte
	key[0] = byte(seed)
	if _, err := io.CopyN(f, rand.NewChaCha8(key), bigFileSize); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

func mbps(d time.Duration) float64 { return float64(bigFileSize) / 1e6 / d.Seconds() }
