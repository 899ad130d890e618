package grpc_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/plugintest"
)

func TestObjectStoreOverGRPC(t *testing.T) {
	emu, endpoint := startOSS(t)
	log := &plugintest.Log{}
	store, err := plugintest.Manager(t, log).GetObjectStore("velero.io/alibabacloud")
	if err != nil {
		t.Fatalf("GetObjectStore: %v", err)
	}
	if err := store.Init(map[string]string{
		"region": region, "bucket": bucket, "prefix": "cluster-a", "endpoint": endpoint,
		"credentialsFile": credentialsFile(t), "partSize": "1Mi", "uploadConcurrency": "3",
	}); err != nil {
		t.Fatalf("Init: %v", err)
	}

	// Velero adds the prefix to keys itself; the plugin stores keys as given.
	// 3.5 MiB spans four parts at partSize 1Mi: the multipart path, streamed
	// through Velero's gRPC chunking.
	big := make([]byte, 3*1024*1024+512*1024)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	objects := map[string][]byte{
		"backups/b1/velero-backup.json": []byte(`{"kind":"Backup"}`),
		"backups/b1/b1.tar.gz":          big,
		"backups/b2/velero-backup.json": []byte(`{"kind":"Backup","b":2}`),
		"restores/r1/r1-logs.gz":        []byte("log lines"),
	}
	for key, data := range objects {
		if err := store.PutObject(bucket, key, bytes.NewReader(data)); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	for key, data := range objects {
		got, err := readObject(store.GetObject(bucket, key))
		if err != nil {
			t.Fatalf("GetObject %s: %v", key, err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("GetObject %s: %d bytes differ from the %d put", key, len(got), len(data))
		}
		if stored, err := emu.ReadObject(bucket, key); err != nil || !bytes.Equal(stored, data) {
			t.Fatalf("emulator copy of %s: %v (%d bytes)", key, err, len(stored))
		}
	}
	if n := emu.MultipartUploads(bucket); n != 0 {
		t.Fatalf("%d multipart uploads left in progress", n)
	}

	exists, err := store.ObjectExists(bucket, "backups/b1/velero-backup.json")
	if err != nil || !exists {
		t.Fatalf("ObjectExists(existing) = %v, %v", exists, err)
	}
	exists, err = store.ObjectExists(bucket, "backups/none/velero-backup.json")
	if err != nil || exists {
		t.Fatalf("ObjectExists(missing) = %v, %v", exists, err)
	}

	prefixes, err := store.ListCommonPrefixes(bucket, "backups/", "/")
	if err != nil {
		t.Fatalf("ListCommonPrefixes: %v", err)
	}
	if strings.Join(prefixes, ",") != "backups/b1/,backups/b2/" {
		t.Fatalf("ListCommonPrefixes = %q", prefixes)
	}
	keys, err := store.ListObjects(bucket, "backups/b1/")
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	if strings.Join(keys, ",") != "backups/b1/b1.tar.gz,backups/b1/velero-backup.json" {
		t.Fatalf("ListObjects = %q", keys)
	}

	url, err := store.CreateSignedURL(bucket, "backups/b2/velero-backup.json", time.Minute)
	if err != nil {
		t.Fatalf("CreateSignedURL: %v", err)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET signed URL: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, objects["backups/b2/velero-backup.json"]) {
		t.Fatalf("GET signed URL: %d %q", resp.StatusCode, body)
	}

	if err := store.DeleteObject(bucket, "backups/b1/b1.tar.gz"); err != nil {
		t.Fatalf("DeleteObject: %v", err)
	}
	if exists, err := store.ObjectExists(bucket, "backups/b1/b1.tar.gz"); err != nil || exists {
		t.Fatalf("ObjectExists after delete = %v, %v", exists, err)
	}
	assertNoSecret(t, log, url)
}

func TestObjectStoreInitErrorsOverGRPC(t *testing.T) {
	_, endpoint := startOSS(t)
	log := &plugintest.Log{}
	mgr := plugintest.Manager(t, log)
	tests := []struct {
		name   string
		config map[string]string
		want   []string
	}{
		{
			name:   "unknown key",
			config: map[string]string{"region": region, "bucket": bucket, "endpoint": endpoint, "regoin": "x"},
			want:   []string{`"regoin"`, "valid keys are"},
		},
		{
			name:   "archive storage class",
			config: map[string]string{"region": region, "bucket": bucket, "endpoint": endpoint, "storageClass": "Archive"},
			want:   []string{"storageClass", "Archive"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store, err := mgr.GetObjectStore("velero.io/alibabacloud")
			if err != nil {
				t.Fatal(err)
			}
			tc.config["credentialsFile"] = credentialsFile(t)
			err = store.Init(tc.config)
			if err == nil {
				t.Fatalf("Init accepted %v", tc.config)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Init error %q does not mention %q", err, w)
				}
			}
		})
	}
	assertNoSecret(t, log)
}

// readObject drains a GetObject body, closing it.
func readObject(rc io.ReadCloser, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
