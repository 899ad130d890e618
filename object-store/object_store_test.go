package objectstore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

// Every ObjectStore method through the real SDK, with V4 and V1 signatures.
func TestObjectStoreMethods(t *testing.T) {
	for _, sig := range []string{"v4", "v1"} {
		t.Run(sig, func(t *testing.T) {
			e := newEnv(t)
			o := e.store("signatureVersion", sig, "prefix", "cluster-a")
			files := map[string][]byte{
				"cluster-a/backups/b1/velero-backup.json":  []byte(`{"kind":"Backup"}`),
				"cluster-a/backups/b1/b1.tar.gz":           randomBytes(5000, 1),
				"cluster-a/backups/b2/velero-backup.json":  []byte(`{}`),
				"cluster-a/restores/r1/restore-r1-logs.gz": {},
				"cluster-a/backups/b 3+&?/file.json":       []byte("odd key"),
			}
			for k, v := range files {
				if err := o.PutObject(testBucket, k, streamOnly{bytes.NewReader(v)}); err != nil {
					t.Fatalf("PutObject(%q): %v", k, err)
				}
			}
			for k, v := range files {
				ok, err := o.ObjectExists(testBucket, k)
				if err != nil || !ok {
					t.Errorf("ObjectExists(%q) = %v, %v; want true", k, ok, err)
				}
				rc, err := o.GetObject(testBucket, k)
				if err != nil {
					t.Fatalf("GetObject(%q): %v", k, err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, v) {
					t.Errorf("GetObject(%q) = %d bytes, %v; want the %d bytes put", k, len(got), err, len(v))
				}
			}

			prefixes, err := o.ListCommonPrefixes(testBucket, "cluster-a/backups/", "/")
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(prefixes)
			want := []string{"cluster-a/backups/b 3+&?/", "cluster-a/backups/b1/", "cluster-a/backups/b2/"}
			if !reflect.DeepEqual(prefixes, want) {
				t.Errorf("ListCommonPrefixes = %q; want %q", prefixes, want)
			}
			top, err := o.ListCommonPrefixes(testBucket, "", "/")
			if err != nil || !reflect.DeepEqual(top, []string{"cluster-a/"}) {
				t.Errorf("ListCommonPrefixes(root) = %q, %v; want [cluster-a/]", top, err)
			}

			keys, err := o.ListObjects(testBucket, "cluster-a/backups/b1/")
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(keys)
			if want := []string{"cluster-a/backups/b1/b1.tar.gz", "cluster-a/backups/b1/velero-backup.json"}; !reflect.DeepEqual(keys, want) {
				t.Errorf("ListObjects = %q; want %q", keys, want)
			}
			if keys, err := o.ListObjects(testBucket, "nothing-here/"); err != nil || len(keys) != 0 {
				t.Errorf("ListObjects(empty prefix) = %q, %v; want none", keys, err)
			}

			for k := range files {
				if err := o.DeleteObject(testBucket, k); err != nil {
					t.Fatalf("DeleteObject(%q): %v", k, err)
				}
				ok, err := o.ObjectExists(testBucket, k)
				if err != nil || ok {
					t.Errorf("ObjectExists(%q) after delete = %v, %v; want false, nil", k, ok, err)
				}
			}
			if err := o.DeleteObject(testBucket, "never-existed"); err != nil {
				t.Errorf("DeleteObject(missing) = %v; want nil", err)
			}
			if _, err := o.GetObject(testBucket, "never-existed"); err == nil || !strings.Contains(err.Error(), "NoSuchKey") {
				t.Errorf("GetObject(missing) = %v; want NoSuchKey", err)
			}
			if n := len(e.emu.Objects(testBucket)); n != 0 {
				t.Errorf("%d objects left after deleting all", n)
			}
		})
	}
}

// Encryption and storage class from the config reach OSS on single and
// multipart uploads.
func TestObjectHeadersFromConfig(t *testing.T) {
	e := newEnv(t)
	o := e.store("serverSideEncryption", "KMS", "kmsKeyId", "kms-key-1", "storageClass", "IA", "partSize", "100Ki")
	for _, size := range []int{10, 250 << 10} {
		key := fmt.Sprintf("obj-%d", size)
		if err := o.PutObject(testBucket, key, streamOnly{bytes.NewReader(randomBytes(size, 2))}); err != nil {
			t.Fatal(err)
		}
		info, ok := e.emu.Object(testBucket, key)
		if !ok {
			t.Fatalf("%s not stored", key)
		}
		if info.ServerSideEncryption != "KMS" || info.SSEKeyID != "kms-key-1" || info.StorageClass != "IA" {
			t.Errorf("%s: sse=%q key=%q class=%q; want KMS kms-key-1 IA", key, info.ServerSideEncryption, info.SSEKeyID, info.StorageClass)
		}
	}
}

// Streams of unknown length: bodies up to partSize go in one PUT, longer
// ones as multipart; the object is intact either way.
func TestPutObjectStreams(t *testing.T) {
	const part = 100 << 10
	tests := []struct {
		name      string
		size      int
		multipart bool
		parts     int
	}{
		{"empty", 0, false, 0},
		{"one byte", 1, false, 0},
		{"just under a part", part - 1, false, 0},
		{"exactly one part", part, false, 0},
		{"one part and a byte", part + 1, true, 2},
		{"several parts", 7*part + 12345, true, 8},
		{"whole parts", 4 * part, true, 4},
	}
	e := newEnv(t)
	o := e.store("partSize", "100Ki", "uploadConcurrency", "3")
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := randomBytes(tc.size, int64(i))
			key := "streams/" + strings.ReplaceAll(tc.name, " ", "-")
			ops := e.opsDelta(func() {
				if err := o.PutObject(testBucket, key, streamOnly{bytes.NewReader(data)}); err != nil {
					t.Fatal(err)
				}
			})
			if tc.multipart {
				if ops["UploadPart"] != int64(tc.parts) || ops["PutObject"] != 0 || ops["CompleteMultipartUpload"] != 1 {
					t.Errorf("ops = %v; want %d UploadPart, 1 CompleteMultipartUpload, no PutObject", ops, tc.parts)
				}
			} else if ops["PutObject"] != 1 || ops["InitiateMultipartUpload"] != 0 {
				t.Errorf("ops = %v; want one PutObject", ops)
			}
			got, err := e.emu.ReadObject(testBucket, key)
			if err != nil || !bytes.Equal(got, data) {
				t.Errorf("stored object: %d bytes, %v; want the %d bytes sent", len(got), err, len(data))
			}
			rc, err := o.GetObject(testBucket, key)
			if err != nil {
				t.Fatal(err)
			}
			back, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || !bytes.Equal(back, data) {
				t.Errorf("GetObject: %d bytes, %v", len(back), err)
			}
			e.noUploadsLeft(testBucket)
		})
	}
}

// Parts go up concurrently, never more than uploadConcurrency at once.
func TestPutObjectUploadsPartsConcurrently(t *testing.T) {
	e := newEnv(t)
	o := e.store("partSize", "100Ki", "uploadConcurrency", "4")
	h := installHook(o)
	// Every request waits 150 ms in the emulator so that parts overlap.
	e.faults.Set(fault.Config{DelayRate: 1, Delay: 150 * time.Millisecond, Seed: 1})
	data := randomBytes(12*(100<<10), 3)
	start := time.Now()
	if err := o.PutObject(testBucket, "concurrent", streamOnly{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	if p := h.peakOf("UploadPart"); p != 4 {
		t.Errorf("peak concurrent UploadPart requests = %d; want 4 (uploadConcurrency)", p)
	}
	// 14 requests of 150 ms each take at least 2.1 s one after another.
	if elapsed >= 2100*time.Millisecond {
		t.Errorf("upload took %s; parts do not overlap", elapsed)
	}
	if got, _ := e.emu.ReadObject(testBucket, "concurrent"); !bytes.Equal(got, data) {
		t.Error("stored object differs")
	}
}

// failingReader yields n bytes, then err.
type failingReader struct {
	r   io.Reader
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

func TestPutObjectAbortsOnReadError(t *testing.T) {
	e := newEnv(t)
	o := e.store("partSize", "100Ki", "uploadConcurrency", "2")
	boom := errors.New("tar stream broke")
	for _, size := range []int{1000, 250 << 10, 900 << 10} {
		body := &failingReader{r: bytes.NewReader(randomBytes(size, 4)), err: boom}
		err := o.PutObject(testBucket, "broken", body)
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "reading the data to upload") {
			t.Errorf("size %d: error = %v; want the read error", size, err)
		}
		if _, ok := e.emu.Object(testBucket, "broken"); ok {
			t.Errorf("size %d: object exists after a failed upload", size)
		}
		e.noUploadsLeft(testBucket)
	}
}

// A part that keeps failing with 5xx fails the upload after the retries,
// and the upload is aborted.
func TestPutObjectAbortsOnServerFault(t *testing.T) {
	e := newEnv(t)
	o := e.store("partSize", "100Ki", "uploadConcurrency", "2")
	o.policy.Attempts = 3
	h := installHook(o)
	var once sync.Once
	h.onReq = func(r *http.Request) *http.Request {
		switch opOf(r) {
		case "UploadPart":
			once.Do(func() { e.faults.Set(fault.Config{ErrorRate: 1, Seed: 1}) })
		case "Abort":
			e.faults.Set(fault.Config{Seed: 1})
		}
		return r
	}
	err := o.PutObject(testBucket, "faulty", streamOnly{bytes.NewReader(randomBytes(600<<10, 5))})
	if err == nil || !containsAll(err.Error(), "InternalError", "HTTP 500", "aborted") {
		t.Fatalf("error = %v; want the 500 and a note that the upload was aborted", err)
	}
	if _, ok := e.emu.Object(testBucket, "faulty"); ok {
		t.Error("object exists after a failed upload")
	}
	e.noUploadsLeft(testBucket)
}

// More parts than OSS allows: the upload stops with advice and is aborted.
func TestPutObjectTooManyParts(t *testing.T) {
	defer func(n int) { maxParts = n }(maxParts)
	maxParts = 3
	e := newEnv(t)
	o := e.store("partSize", "100Ki")
	err := o.PutObject(testBucket, "huge", streamOnly{bytes.NewReader(randomBytes(350<<10, 6))})
	if err == nil || !containsAll(err.Error(), "larger than 3 parts of 100Ki", "raise partSize") {
		t.Fatalf("error = %v; want advice to raise partSize", err)
	}
	e.noUploadsLeft(testBucket)
}

// Corruption between the plugin and OSS is caught by CRC64. The test
// corrupts bytes on the wire with a transport hook around the real SDK's
// requests; the emulator stores and checksums what it receives.
func TestCRCMismatch(t *testing.T) {
	t.Run("corrupted part is re-sent", func(t *testing.T) {
		e := newEnv(t)
		o := e.store("partSize", "100Ki")
		h := installHook(o)
		var once sync.Once
		h.onReq = func(r *http.Request) *http.Request {
			if opOf(r) == "UploadPart" && r.URL.Query().Get("partNumber") == "2" {
				once.Do(func() { r.Body = &flipFirstByte{r: r.Body} })
			}
			return r
		}
		data := randomBytes(300<<10, 7)
		if err := o.PutObject(testBucket, "part-corrupt", streamOnly{bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.emu.ReadObject(testBucket, "part-corrupt"); !bytes.Equal(got, data) {
			t.Error("stored object differs from the data sent")
		}
		if !strings.Contains(e.logs.String(), "CRC64 mismatch") {
			t.Error("the retried CRC mismatch was not logged")
		}
	})
	t.Run("corrupted single put is re-sent", func(t *testing.T) {
		e := newEnv(t)
		o := e.store()
		h := installHook(o)
		var once sync.Once
		h.onReq = func(r *http.Request) *http.Request {
			if r.Method == http.MethodPut {
				once.Do(func() { r.Body = &flipFirstByte{r: r.Body} })
			}
			return r
		}
		data := randomBytes(5000, 8)
		if err := o.PutObject(testBucket, "small-corrupt", streamOnly{bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.emu.ReadObject(testBucket, "small-corrupt"); !bytes.Equal(got, data) {
			t.Error("stored object differs from the data sent")
		}
	})
	t.Run("whole object mismatch deletes the object", func(t *testing.T) {
		e := newEnv(t)
		o := e.store("partSize", "100Ki")
		h := installHook(o)
		// The emulator assembles the parts correctly; the hook changes the
		// CRC it reports on completion, as if OSS had assembled other data.
		h.onResp = func(r *http.Request, resp *http.Response) {
			if opOf(r) == "Complete" {
				resp.Header.Set("X-Oss-Hash-Crc64ecma", "12345")
			}
		}
		err := o.PutObject(testBucket, "assembled-wrong", streamOnly{bytes.NewReader(randomBytes(250<<10, 9))})
		if err == nil || !containsAll(err.Error(), "CRC64 mismatch", "OSS 12345", "corrupt object was deleted") {
			t.Fatalf("error = %v; want a CRC64 mismatch and the object deleted", err)
		}
		if _, ok := e.emu.Object(testBucket, "assembled-wrong"); ok {
			t.Error("corrupt object still exists")
		}
		e.noUploadsLeft(testBucket)
	})
	t.Run("corrupted download fails at EOF", func(t *testing.T) {
		e := newEnv(t)
		o := e.store()
		data := randomBytes(20000, 10)
		if err := o.PutObject(testBucket, "download", bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		h := installHook(o)
		h.onResp = func(r *http.Request, resp *http.Response) {
			if r.Method == http.MethodGet {
				resp.Body = &flipFirstByte{r: resp.Body}
			}
		}
		rc, err := o.GetObject(testBucket, "download")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		_, err = io.ReadAll(rc)
		var cerr *crcError
		if !errors.As(err, &cerr) || !strings.Contains(err.Error(), "get object \"download\"") {
			t.Fatalf("read error = %v; want a CRC64 mismatch", err)
		}
	})
}

// Transient faults (500, 503, resets) are retried until the operations
// succeed.
func TestRetriesTransientFaults(t *testing.T) {
	e := newEnv(t)
	o := e.store("partSize", "100Ki", "uploadConcurrency", "3")
	e.faults.Set(fault.Config{ErrorRate: 0.2, ThrottleRate: 0.05, ResetRate: 0.05, Seed: 42})
	data := randomBytes(1<<20, 11)
	for i := 0; i < 3; i++ {
		key := fmt.Sprintf("flaky/%d", i)
		if err := o.PutObject(testBucket, key, streamOnly{bytes.NewReader(data)}); err != nil {
			t.Fatalf("PutObject: %v", err)
		}
		rc, err := o.GetObject(testBucket, key)
		if err != nil {
			t.Fatalf("GetObject: %v", err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("GetObject read %d bytes, %v", len(got), err)
		}
		if ok, err := o.ObjectExists(testBucket, key); err != nil || !ok {
			t.Fatalf("ObjectExists = %v, %v", ok, err)
		}
	}
	keys, err := o.ListObjects(testBucket, "flaky/")
	if err != nil || len(keys) != 3 {
		t.Fatalf("ListObjects = %q, %v", keys, err)
	}
	for _, k := range keys {
		if err := o.DeleteObject(testBucket, k); err != nil {
			t.Fatalf("DeleteObject: %v", err)
		}
	}
	for _, k := range []fault.Kind{fault.ServerError, fault.Throttle, fault.Reset} {
		if e.faults.Count(k) == 0 {
			t.Errorf("no %s fault was injected; the test proves nothing about it", k)
		}
	}
	e.faults.Set(fault.Config{Seed: 1})
	e.noUploadsLeft(testBucket)
	if n := len(e.emu.Objects(testBucket)); n != 0 {
		t.Errorf("%d objects left", n)
	}
}

// Permanent failures fail at once (one request) with advice.
func TestPermanentErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *env) *ObjectStore
		op    func(o *ObjectStore) error
		want  []string
	}{
		{
			name: "wrong secret",
			setup: func(e *env) *ObjectStore {
				return e.store("credentialsFile", testutil.CredentialsFile(e.t, testKeyID, "WrongSecretValue000111222333", ""))
			},
			op:   func(o *ObjectStore) error { return o.PutObject(testBucket, "k", bytes.NewReader([]byte("x"))) },
			want: []string{"SignatureDoesNotMatch", "HTTP 403", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", `object "k" in bucket "velero-backups"`},
		},
		{
			name: "unknown key id",
			setup: func(e *env) *ObjectStore {
				return e.store("credentialsFile", testutil.CredentialsFile(e.t, "LTAIunknown", testSecret, ""))
			},
			op:   func(o *ObjectStore) error { _, err := o.ListObjects(testBucket, ""); return err },
			want: []string{"InvalidAccessKeyId", "ALIBABA_CLOUD_ACCESS_KEY_ID"},
		},
		{
			name:  "missing bucket",
			setup: func(e *env) *ObjectStore { return e.store() },
			op:    func(o *ObjectStore) error { return o.PutObject("no-such-bucket", "k", bytes.NewReader([]byte("x"))) },
			want:  []string{"NoSuchBucket", `bucket "no-such-bucket" does not exist`, "region"},
		},
		{
			name:  "missing bucket on exists",
			setup: func(e *env) *ObjectStore { return e.store() },
			op: func(o *ObjectStore) error {
				ok, err := o.ObjectExists("no-such-bucket", "k")
				if err == nil {
					return fmt.Errorf("no error (exists=%v)", ok)
				}
				return err
			},
			want: []string{"NoSuchBucket", "does not exist"},
		},
		{
			name: "skewed clock",
			setup: func(e *env) *ObjectStore {
				e.skew.Store(int64(20 * time.Minute))
				return e.store()
			},
			op:   func(o *ObjectStore) error { _, err := o.ObjectExists(testBucket, "k"); return err },
			want: []string{"RequestTimeTooSkewed", "clock", "NTP"},
		},
		{
			name: "expired STS token",
			setup: func(e *env) *ObjectStore {
				e.auth.Add(auth.Credential{AccessKeyID: "STS.key", AccessKeySecret: "StsSecret000111", SecurityToken: "tok-abc-123", Expiration: time.Now().Add(-time.Minute)})
				return e.store("credentialsFile", testutil.CredentialsFile(e.t, "STS.key", "StsSecret000111", "tok-abc-123"))
			},
			op:   func(o *ObjectStore) error { _, err := o.ListCommonPrefixes(testBucket, "", "/"); return err },
			want: []string{"SecurityTokenExpired", "STS token"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			o := tc.setup(e)
			before := e.emu.Requests()
			err := tc.op(o)
			if err == nil {
				t.Fatal("no error")
			}
			t.Logf("error: %v", err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if n := e.emu.Requests() - before; n != 1 {
				t.Errorf("%d requests sent; a permanent error must not be retried", n)
			}
			for _, secret := range []string{testSecret, "WrongSecretValue000111222333", "StsSecret000111", "tok-abc-123"} {
				if strings.Contains(err.Error(), secret) || strings.Contains(e.logs.String(), secret) {
					t.Errorf("a secret appears in the error or the log")
				}
			}
		})
	}
}

// Two BackupStorageLocations with different credentials in one process.
func TestTwoStoresWithDifferentCredentials(t *testing.T) {
	e := newEnv(t, "bucket-a", "bucket-b")
	e.auth.Add(auth.Credential{AccessKeyID: "STS.second", AccessKeySecret: "SecondSecret999", SecurityToken: "second-token-xyz", Expiration: time.Now().Add(time.Hour)})
	a := e.store("bucket", "bucket-a")
	b := e.store("bucket", "bucket-b", "credentialsFile", testutil.CredentialsFile(t, "STS.second", "SecondSecret999", "second-token-xyz"))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 10; i++ {
		wg.Add(2)
		go func(i int) {
			defer wg.Done()
			errs <- a.PutObject("bucket-a", fmt.Sprint("a", i), bytes.NewReader([]byte("from a")))
		}(i)
		go func(i int) {
			defer wg.Done()
			errs <- b.PutObject("bucket-b", fmt.Sprint("b", i), bytes.NewReader([]byte("from b")))
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(e.emu.Objects("bucket-a")) != 10 || len(e.emu.Objects("bucket-b")) != 10 {
		t.Fatalf("objects: a=%d b=%d; want 10 each", len(e.emu.Objects("bucket-a")), len(e.emu.Objects("bucket-b")))
	}
	// Revoking the second key breaks only the second store.
	e.auth.Remove("STS.second")
	if _, err := b.ListObjects("bucket-b", ""); err == nil {
		t.Error("second store still works with a revoked key")
	}
	if keys, err := a.ListObjects("bucket-a", ""); err != nil || len(keys) != 10 {
		t.Errorf("first store after revoking the second key: %d keys, %v", len(keys), err)
	}
}

// A signed URL works with a plain HTTP client within its TTL, for both
// signature versions, and with publicEndpoint.
func TestCreateSignedURL(t *testing.T) {
	for _, sig := range []string{"v4", "v1"} {
		t.Run(sig, func(t *testing.T) {
			e := newEnv(t)
			public := httptestServer(t, e)
			o := e.store("signatureVersion", sig, "publicEndpoint", public)
			data := []byte("backup log contents")
			if err := o.PutObject(testBucket, "backups/b1/b1-logs.gz", bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			u, err := o.CreateSignedURL(testBucket, "backups/b1/b1-logs.gz", 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			pu, _ := url.Parse(u)
			if "http://"+pu.Host != public {
				t.Errorf("signed URL host %s; want publicEndpoint %s", pu.Host, public)
			}
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Equal(got, data) {
				t.Fatalf("GET signed URL: %d %q", resp.StatusCode, got)
			}
			// An hour later (emulator clock) the URL has expired.
			e.skew.Store(int64(time.Hour))
			resp, err = http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("expired URL: status %d; want 403", resp.StatusCode)
			}
		})
	}
}

// The default endpoint derivation, virtual-host-style addressing and a
// private CA (caCert) together: the store talks HTTPS to
// velero-backups.oss-cn-hangzhou.aliyuncs.com, which the test routes to a
// TLS emulator whose certificate is signed by a test CA.
func TestVirtualHostTLSWithCACert(t *testing.T) {
	e := newEnvTLS(t)
	o, err := e.tryStore("endpoint", "", "caCert", e.caPEM)
	if err != nil {
		t.Fatal(err)
	}
	dialTo(o, e.srv.Listener.Addr().String())
	h := installHook(o)
	var host string
	h.onReq = func(r *http.Request) *http.Request { host = r.URL.Host; return r }
	if err := o.PutObject(testBucket, "tls/obj", bytes.NewReader([]byte("over tls"))); err != nil {
		t.Fatal(err)
	}
	if host != "velero-backups.oss-cn-hangzhou.aliyuncs.com" {
		t.Errorf("request host %q; want virtual-host style on the public endpoint", host)
	}
	if keys, err := o.ListObjects(testBucket, "tls/"); err != nil || len(keys) != 1 {
		t.Errorf("ListObjects = %q, %v", keys, err)
	}

	// Without caCert the certificate is not trusted: a permanent error.
	o2, err := e.tryStore("endpoint", "")
	if err != nil {
		t.Fatal(err)
	}
	dialTo(o2, e.srv.Listener.Addr().String())
	before := e.emu.Requests()
	_, err = o2.ObjectExists(testBucket, "tls/obj")
	if err == nil || !containsAll(err.Error(), "certificate", "caCert") {
		t.Errorf("error = %v; want a certificate error that points at caCert", err)
	}
	if n := e.emu.Requests() - before; n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// No secret, token or signature in any log line or error, whatever happens.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	e := newEnv(t)
	const stsSecret, stsToken = "StsSecretMustNotLeak42", "StsTokenMustNotLeak-CAESxyz"
	e.auth.Add(auth.Credential{AccessKeyID: "STS.leaktest", AccessKeySecret: stsSecret, SecurityToken: stsToken, Expiration: time.Now().Add(time.Hour)})
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	good := e.store("credentialsFile", testutil.CredentialsFile(t, "STS.leaktest", stsSecret, stsToken), "partSize", "100Ki")
	bad := e.store("credentialsFile", testutil.CredentialsFile(t, "STS.leaktest", testSecret, stsToken))
	wrongToken := e.store("credentialsFile", testutil.CredentialsFile(t, "STS.leaktest", stsSecret, "WrongTokenMustNotLeak"))

	e.faults.Set(fault.Config{ErrorRate: 0.3, ResetRate: 0.1, Seed: 7})
	collect(good.PutObject(testBucket, "a", streamOnly{bytes.NewReader(randomBytes(300<<10, 12))}))
	_, err := good.ListObjects(testBucket, "")
	collect(err)
	u, err := good.CreateSignedURL(testBucket, "a", time.Minute)
	collect(err)
	e.faults.Set(fault.Config{Seed: 1})
	collect(bad.PutObject(testBucket, "b", bytes.NewReader([]byte("x"))))
	collect(wrongToken.PutObject(testBucket, "b", bytes.NewReader([]byte("x"))))
	_, err = bad.GetObject(testBucket, "a")
	collect(err)
	_, err = bad.ObjectExists(testBucket, "a")
	collect(err)
	e.skew.Store(int64(time.Hour))
	collect(good.DeleteObject(testBucket, "a"))
	e.skew.Store(0)
	collect(good.PutObject(testBucket, "c", &failingReader{r: bytes.NewReader(randomBytes(300<<10, 13)), err: errors.New("read failed")}))

	if len(errs) < 5 {
		t.Fatalf("only %d errors collected; the scenario did not fail as intended: %v", len(errs), errs)
	}
	sigParam := ""
	if pu, err := url.Parse(u); err == nil {
		sigParam = pu.Query().Get("x-oss-signature")
	}
	if sigParam == "" {
		t.Fatal("signed URL has no signature to look for")
	}
	secrets := []string{testSecret, stsSecret, stsToken, "WrongTokenMustNotLeak", sigParam}
	text := e.logs.String()
	for _, err := range errs {
		text += "\n" + err.Error() + fmt.Sprintf("%+v %#v", err, err)
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("secret %.6s... appears in logs or errors", s)
		}
	}
	if !strings.Contains(text, "SignatureDoesNotMatch") || !strings.Contains(text, "retrying") {
		t.Error("the logs and errors lack the expected failures; the scan proves little")
	}
}

// An answer lost after OSS acted: the initiation created an upload the
// plugin never heard of, the completion finished the object although the
// plugin saw a reset. Neither may leave an upload behind or fail the put.
func TestPutObjectLostResponses(t *testing.T) {
	for _, op := range []string{"Initiate", "Complete", "UploadPart"} {
		t.Run(op, func(t *testing.T) {
			e := newEnv(t)
			o := e.store("partSize", "100Ki")
			h := installHook(o)
			var once sync.Once
			h.loseResponse = func(r *http.Request) bool {
				lose := false
				if opOf(r) == op {
					once.Do(func() { lose = true })
				}
				return lose
			}
			data := randomBytes(250<<10, 14)
			if err := o.PutObject(testBucket, "lost", streamOnly{bytes.NewReader(data)}); err != nil {
				t.Fatal(err)
			}
			if got, _ := e.emu.ReadObject(testBucket, "lost"); !bytes.Equal(got, data) {
				t.Error("stored object differs from the data sent")
			}
			e.noUploadsLeft(testBucket)
		})
	}
}

// Listings page 1000 keys per request and return every key and prefix.
func TestListPaging(t *testing.T) {
	e := newEnv(t)
	o := e.store()
	const n = 1500
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			errs <- o.PutObject(testBucket, fmt.Sprintf("backups/b%04d/velero-backup.json", i), bytes.NewReader([]byte("{}")))
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var keys, prefixes []string
	ops := e.opsDelta(func() {
		var err error
		if keys, err = o.ListObjects(testBucket, "backups/"); err != nil {
			t.Fatal(err)
		}
	})
	if len(keys) != n || ops["ListObjectsV2"] != 2 {
		t.Errorf("ListObjects: %d keys in %d requests; want %d in 2", len(keys), ops["ListObjectsV2"], n)
	}
	ops = e.opsDelta(func() {
		var err error
		if prefixes, err = o.ListCommonPrefixes(testBucket, "backups/", "/"); err != nil {
			t.Fatal(err)
		}
	})
	if len(prefixes) != n || ops["ListObjectsV2"] != 2 {
		t.Errorf("ListCommonPrefixes: %d prefixes in %d requests; want %d in 2", len(prefixes), ops["ListObjectsV2"], n)
	}
	seen := map[string]bool{}
	for _, p := range prefixes {
		if seen[p] || !strings.HasPrefix(p, "backups/b") || !strings.HasSuffix(p, "/") {
			t.Fatalf("bad or duplicate prefix %q", p)
		}
		seen[p] = true
	}
}

// cutAfter fails with a connection reset after n bytes.
type cutAfter struct {
	r io.ReadCloser
	n int
}

func (c *cutAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

func (c *cutAfter) Close() error { return c.r.Close() }

// A download cut in the middle resumes where it stopped; if the object
// changed meanwhile, the read fails instead of mixing two versions.
func TestGetObjectResumes(t *testing.T) {
	e := newEnv(t)
	o := e.store()
	data := randomBytes(300<<10, 15)
	if err := o.PutObject(testBucket, "big", bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	h := installHook(o)
	gets := 0
	var replace func()
	h.onResp = func(r *http.Request, resp *http.Response) {
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "" {
			gets++
			if gets == 1 {
				resp.Body = &cutAfter{r: resp.Body, n: 100000}
				if replace != nil {
					replace()
				}
			}
		}
	}
	rc, err := o.GetObject(testBucket, "big")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want all %d", len(got), err, len(data))
	}
	if gets != 2 {
		t.Errorf("%d GET requests; want 2 (the first cut, one resume)", gets)
	}

	gets = 0
	replace = func() {
		// Another writer replaces the object while it is being read.
		if err := e.store().PutObject(testBucket, "big", bytes.NewReader(randomBytes(300<<10, 16))); err != nil {
			t.Error(err)
		}
	}
	rc, err = o.GetObject(testBucket, "big")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if err == nil || !strings.Contains(err.Error(), "PreconditionFailed") {
		t.Fatalf("read error = %v; want PreconditionFailed", err)
	}
}

// GetObject reads ahead in blocks (download.fetch); Velero reads 16 KiB at a
// time. Every size around the block boundaries must come back whole, and a
// body closed before its end must stop reading.
func TestGetObjectReadAhead(t *testing.T) {
	e := newEnv(t)
	o := e.store()
	for _, size := range []int{0, 1, readAheadBlock - 1, readAheadBlock, readAheadBlock + 1, readAheadBlocks*readAheadBlock + 7} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			data := randomBytes(size, int64(size))
			key := fmt.Sprintf("readahead/%d", size)
			if err := o.PutObject(testBucket, key, bytes.NewReader(data)); err != nil {
				t.Fatal(err)
			}
			rc, err := o.GetObject(testBucket, key)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(&chunkReader{r: rc, n: 16 << 10})
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, %v; want %d", len(got), err, len(data))
			}
			if n, err := rc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Errorf("Read after the end = %d, %v; want 0, EOF", n, err)
			}
			if err := rc.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	t.Run("closed early", func(t *testing.T) {
		rc, err := o.GetObject(testBucket, fmt.Sprintf("readahead/%d", readAheadBlocks*readAheadBlock+7))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(rc, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		if err := rc.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := rc.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if n, err := rc.Read(make([]byte, 16<<10)); n != 0 || err == nil || err == io.EOF {
			t.Fatalf("Read after Close = %d, %v; want an error", n, err)
		}
	})
}

// chunkReader reads at most n bytes per Read, like Velero's gRPC server.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }

// countingReader counts the bytes read from it.
type countingReader struct {
	r    io.Reader
	read func(n int)
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read(n)
	return n, err
}

// TestPutObjectMemoryBound: an upload never holds more than partSize x
// uploadConcurrency of the body (the README's bound), even when the body
// is read much faster than parts go up.
func TestPutObjectMemoryBound(t *testing.T) {
	const part, conc, parts = 100 << 10, 4, 16
	e := newEnv(t)
	o := e.store("partSize", "100Ki", "uploadConcurrency", "4")
	h := installHook(o)
	e.faults.Set(fault.Config{DelayRate: 1, Delay: 50 * time.Millisecond, Seed: 1})
	var mu sync.Mutex
	var read, uploaded, peak int
	h.onResp = func(r *http.Request, resp *http.Response) {
		if opOf(r) == "UploadPart" && resp.StatusCode == http.StatusOK {
			mu.Lock()
			uploaded += int(r.ContentLength)
			mu.Unlock()
		}
	}
	data := randomBytes(parts*part, 9)
	body := countingReader{r: bytes.NewReader(data), read: func(n int) {
		mu.Lock()
		defer mu.Unlock()
		read += n
		peak = max(peak, read-uploaded)
	}}
	if err := o.PutObject(testBucket, "bounded", streamOnly{body}); err != nil {
		t.Fatal(err)
	}
	if peak > part*conc {
		t.Errorf("the upload held up to %d bytes of the body; want at most partSize x uploadConcurrency = %d", peak, part*conc)
	}
	if peak < part*(conc-1) {
		t.Errorf("the upload held at most %d bytes; want parts read ahead while others upload (>= %d)", peak, part*(conc-1))
	}
	if got, _ := e.emu.ReadObject(testBucket, "bounded"); !bytes.Equal(got, data) {
		t.Errorf("stored object differs from the body")
	}
}
