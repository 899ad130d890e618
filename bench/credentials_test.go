package bench

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/credentials"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/metadata"
	emuoss "github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/sts"
)

const (
	roleARN = "acs:ram::1234567890123456:role/velero-backup"
	// credentials-go refreshes a temporary credential once it has 180 s or
	// less left. Tokens that live 183 s are used for about 3 s each, so a
	// soak of a few seconds spans several token lifetimes (time-scaled: an
	// hour-long STS token is likewise used for 3600-180 s).
	refreshMargin = 180 * time.Second
	scaledLife    = refreshMargin + 3*time.Second
	soakWindows   = 5
	workers       = 4
)

// BenchmarkCredentials runs continuous OSS traffic (HeadObject from 4
// goroutines, each request signed with credentials from the plugin's
// internal/credentials provider) for 5 token windows of time-scaled temporary
// credentials, and counts the fetches the emulated STS (AssumeRole with a
// role ARN) or instance metadata service (ECS RAM role) served. The target is
// one fetch per token lifetime, not one per operation.
//
// Metrics: fetches/lifetime = fetches ÷ distinct tokens the traffic used
// (1 = no fetch wasted); fetches/op; fetches/hour = what that means with the
// real token lifetimes (STS AssumeRole 3600 s, ECS RAM role 6 h), each used
// until 180 s before expiry.
func BenchmarkCredentials(b *testing.B) {
	b.Run("source=assume-role", func(b *testing.B) {
		store := auth.NewStore(auth.Credential{AccessKeyID: keyID, AccessKeySecret: keySecret})
		srv := sts.New(sts.Config{Auth: store, Roles: []string{roleARN}, Lifetime: scaledLife})
		ts, endpoint := sts.StartTLS(srv)
		b.Cleanup(ts.Close)
		sts.TrustInProcess(ts)
		file := filepath.Join(b.TempDir(), "cloud")
		content := "ALIBABA_CLOUD_ACCESS_KEY_ID=" + keyID + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + keySecret +
			"\nALIBABA_CLOUD_ROLE_ARN=" + roleARN + "\n"
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			b.Fatal(err)
		}
		opts := credentials.Options{Kind: "BackupStorageLocation", CredentialsFile: file, STSEndpoint: endpoint,
			Getenv: func(string) string { return "" }, Logger: discardLogger()}
		soak(b, store, opts, func() int { return srv.Calls("AssumeRole") }, time.Hour)
	})
	b.Run("source=ecs-ram-role", func(b *testing.B) {
		store := auth.NewStore()
		md := metadata.New(metadata.Config{Auth: store, RoleName: "KubernetesWorkerRole", Lifetime: scaledLife})
		ts := httptest.NewServer(md)
		b.Cleanup(ts.Close)
		env := map[string]string{"ALIBABA_CLOUD_ECS_METADATA": "KubernetesWorkerRole"}
		opts := credentials.Options{Kind: "BackupStorageLocation", MetadataProxy: ts.URL,
			Getenv: func(k string) string { return env[k] }, Logger: discardLogger()}
		soak(b, store, opts, func() int { return md.Calls("credentials") }, 6*time.Hour)
	})
}

func soak(b *testing.B, store *auth.Store, opts credentials.Options, fetches func() int, realLife time.Duration) {
	emu, err := emuoss.New(emuoss.Config{Auth: store, DataDir: b.TempDir(), Buckets: []string{bucketName}, Region: region})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	b.Cleanup(ts.Close)
	before := fetches() // the provider may fetch as soon as it is made
	p, err := credentials.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	client, err := oss.New(ts.URL, "", "", oss.SetCredentialsProvider(p.OSS()), oss.AuthVersion(oss.AuthV4), oss.Region(region))
	if err != nil {
		b.Fatal(err)
	}
	bkt, err := client.Bucket(bucketName)
	if err != nil {
		b.Fatal(err)
	}
	var (
		ops    atomic.Int64
		mu     sync.Mutex
		tokens = map[string]bool{}
		first  error
	)
	// op is one signed OSS request, noting which token signed it.
	op := func(do func() error) {
		c, err := p.Get()
		if err == nil {
			err = do()
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil && first == nil {
			first = err
		}
		tokens[c.AccessKeyID] = true
		ops.Add(1)
	}
	op(func() error { return bkt.PutObject("backups/b1/velero-backup.json", strings.NewReader("{}")) })
	var soaked time.Duration
	for b.Loop() {
		start := time.Now()
		deadline := start.Add(soakWindows * (scaledLife - refreshMargin))
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					op(func() error { _, err := bkt.GetObjectMeta("backups/b1/velero-backup.json"); return err })
				}
			}()
		}
		wg.Wait()
		soaked += time.Since(start)
	}
	if first != nil {
		b.Fatalf("an operation failed during the soak: %v", first)
	}
	n := fetches() - before
	b.ReportMetric(float64(n), "fetches")
	b.ReportMetric(float64(len(tokens)), "tokens-used")
	b.ReportMetric(float64(n)/float64(len(tokens)), "fetches/lifetime")
	b.ReportMetric(float64(n)/float64(ops.Load()), "fetches/op")
	b.ReportMetric(float64(ops.Load())/soaked.Seconds(), "ops/s")
	// With real lifetimes each token is used until 180 s before it expires.
	perHour := float64(n) / float64(len(tokens)) * float64(time.Hour) / float64(realLife-refreshMargin)
	b.ReportMetric(perHour, "fetches/hour")
}
