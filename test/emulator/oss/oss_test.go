package oss_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/retry"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

func crcOf(b []byte) uint64 { return crc64.Checksum(b, crc64.MakeTable(crc64.ECMA)) }

// hostDialer sends every connection to addr, so virtual-host names such as
// velero-backups.oss-cn-hangzhou.emulator.test reach the test server.
func hostDialer(addr string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// TestSDKRoundTrip runs put/head/get/list/delete through the real SDK for
// every signing mode and addressing style.
func TestSDKRoundTrip(t *testing.T) {
	e := newEnv(t)
	port := e.ts.Listener.Addr().(*net.TCPAddr).Port
	vhost := fmt.Sprintf("http://oss-cn-hangzhou.emulator.test:%d", port)
	cases := []struct {
		name     string
		endpoint string
		id, sec  string
		opts     []sdk.ClientOption
	}{
		{"v4-path", e.ts.URL, testID, testSecret, nil},
		{"v1-path", e.ts.URL, testID, testSecret, []sdk.ClientOption{sdk.AuthVersion(sdk.AuthV1)}},
		{"v4-path-sts", e.ts.URL, stsID, stsSecret, []sdk.ClientOption{sdk.SecurityToken(stsToken)}},
		{"v1-path-sts", e.ts.URL, stsID, stsSecret, []sdk.ClientOption{sdk.AuthVersion(sdk.AuthV1), sdk.SecurityToken(stsToken)}},
		{"v4-additional-headers", e.ts.URL, testID, testSecret, []sdk.ClientOption{sdk.AdditionalHeaders([]string{"host", "user-agent"})}},
		{"v4-vhost", vhost, testID, testSecret, []sdk.ClientOption{sdk.HTTPClient(hostDialer(e.ts.Listener.Addr().String()))}},
		{"v1-vhost-sts", vhost, stsID, stsSecret, []sdk.ClientOption{sdk.AuthVersion(sdk.AuthV1), sdk.SecurityToken(stsToken),
			sdk.HTTPClient(hostDialer(e.ts.Listener.Addr().String()))}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := newClient(t, c.endpoint, c.id, c.sec, c.opts...).Bucket(testBucket)
			if err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("rt/%s/dir one/obj+%d ü&=?.json", c.name, i)
			data := pattern(70_000, byte(i))
			put(t, b, key, data, sdk.Meta("velero", "yes"))
			if got := getAll(t, b, key); !bytes.Equal(got, data) {
				t.Fatalf("GetObject returned %d bytes, differing from the %d put", len(got), len(data))
			}
			h, err := b.GetObjectDetailedMeta(key)
			if err != nil {
				t.Fatal(err)
			}
			if h.Get("X-Oss-Meta-Velero") != "yes" || h.Get("Content-Length") != "70000" {
				t.Fatalf("HEAD headers: meta %q length %q", h.Get("X-Oss-Meta-Velero"), h.Get("Content-Length"))
			}
			if ok, err := b.IsObjectExist(key); err != nil || !ok {
				t.Fatalf("IsObjectExist = %v, %v", ok, err)
			}
			res, err := b.ListObjectsV2(sdk.Prefix("rt/" + c.name + "/"))
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Objects) != 1 || res.Objects[0].Key != key || res.Objects[0].Size != 70000 {
				t.Fatalf("list = %+v", res.Objects)
			}
			if err := b.DeleteObject(key); err != nil {
				t.Fatal(err)
			}
			if ok, err := b.IsObjectExist(key); err != nil || ok {
				t.Fatalf("after delete IsObjectExist = %v, %v", ok, err)
			}
		})
	}
}

func TestSDKAuthFailures(t *testing.T) {
	e := newEnv(t)
	put(t, e.bucket(t), "k", []byte("v"))
	cases := []struct {
		name    string
		id, sec string
		opts    []sdk.ClientOption
		shift   time.Duration
		status  int
		code    string
	}{
		{"wrong secret v4", testID, "nope", nil, 0, 403, "SignatureDoesNotMatch"},
		{"wrong secret v1", testID, "nope", []sdk.ClientOption{sdk.AuthVersion(sdk.AuthV1)}, 0, 403, "SignatureDoesNotMatch"},
		{"unknown key", "LTAIunknown", testSecret, nil, 0, 403, "InvalidAccessKeyId"},
		{"sts without token", stsID, stsSecret, nil, 0, 403, "InvalidAccessKeyId"},
		{"sts wrong token", stsID, stsSecret, []sdk.ClientOption{sdk.SecurityToken("x")}, 0, 403, "InvalidSecurityToken"},
		{"server clock 20m ahead", testID, testSecret, nil, 20 * time.Minute, 403, "RequestTimeTooSkewed"},
		{"server clock 20m behind", testID, testSecret, []sdk.ClientOption{sdk.AuthVersion(sdk.AuthV1)}, -20 * time.Minute, 403, "RequestTimeTooSkewed"},
		{"server clock 2h ahead expires sts", stsID, stsSecret, []sdk.ClientOption{sdk.SecurityToken(stsToken)}, 2 * time.Hour, 403, "SecurityTokenExpired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.clock.shift(c.shift)
			defer e.clock.shift(-c.shift)
			b, _ := newClient(t, e.ts.URL, c.id, c.sec, c.opts...).Bucket(testBucket)
			_, err := b.GetObject("k")
			serviceErr(t, err, c.status, c.code)
			err = b.PutObject("k", strings.NewReader("overwrite"))
			serviceErr(t, err, c.status, c.code)
		})
	}
	if got, _ := e.srv.ReadObject(testBucket, "k"); string(got) != "v" {
		t.Fatalf("rejected PUTs changed the object to %q", got)
	}
}

func TestMissingBucketAndKey(t *testing.T) {
	e := newEnv(t)
	b, _ := e.client(t).Bucket("no-such-bucket")
	_, err := b.GetObject("k")
	se := serviceErr(t, err, 404, "NoSuchBucket")
	if !strings.Contains(se.RawMessage, "<BucketName>no-such-bucket</BucketName>") {
		t.Errorf("NoSuchBucket XML lacks BucketName: %s", se.RawMessage)
	}
	_, err = b.ListObjects()
	serviceErr(t, err, 404, "NoSuchBucket")
	_, err = e.bucket(t).GetObject("missing")
	serviceErr(t, err, 404, "NoSuchKey")
}

// TestHead404CarriesXOssErr checks the HEAD error shape: no body, the error
// XML base64-encoded in x-oss-err (which is how the SDK gets the code).
func TestHead404CarriesXOssErr(t *testing.T) {
	e := newEnv(t)
	b := e.bucket(t)
	_, err := b.GetObjectDetailedMeta("missing")
	serviceErr(t, err, 404, "NoSuchKey")
	_, err = b.GetObjectMeta("missing")
	serviceErr(t, err, 404, "NoSuchKey")
	if ok, err := b.IsObjectExist("missing"); ok || err != nil {
		t.Fatalf("IsObjectExist(missing) = %v, %v", ok, err)
	}

	rec := &recorder{}
	rb, _ := newClient(t, e.ts.URL, testID, testSecret, sdk.HTTPClient(&http.Client{Transport: rec})).Bucket(testBucket)
	_, _ = rb.GetObjectDetailedMeta("missing")
	req := rec.reqs[0]
	req.Body = nil
	req.RequestURI = ""
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || len(body) != 0 {
		t.Fatalf("HEAD: status %d, %d body bytes", resp.StatusCode, len(body))
	}
	raw, err := base64.StdEncoding.DecodeString(resp.Header.Get("x-oss-err"))
	if err != nil {
		t.Fatalf("x-oss-err is not base64: %v", err)
	}
	var x rawErr
	if err := xml.Unmarshal(raw, &x); err != nil || x.Code != "NoSuchKey" || x.RequestID != resp.Header.Get("x-oss-request-id") {
		t.Fatalf("x-oss-err XML = %s (%v)", raw, err)
	}
}

func TestRangeGet(t *testing.T) {
	e := newEnv(t)
	b := e.bucket(t)
	data := pattern(1000, 7)
	put(t, b, "r", data)
	cases := []struct {
		name        string
		opts        []sdk.Option
		want        []byte
		status      int
		code        string
		contentRage string
	}{
		{"first ten", []sdk.Option{sdk.Range(0, 9)}, data[:10], 206, "", "bytes 0-9/1000"},
		{"middle", []sdk.Option{sdk.Range(100, 199)}, data[100:200], 206, "", "bytes 100-199/1000"},
		{"open end", []sdk.Option{sdk.NormalizedRange("990-")}, data[990:], 206, "", "bytes 990-999/1000"},
		{"suffix", []sdk.Option{sdk.NormalizedRange("-5")}, data[995:], 206, "", "bytes 995-999/1000"},
		{"end past size is clamped", []sdk.Option{sdk.Range(998, 5000)}, data[998:], 206, "", "bytes 998-999/1000"},
		{"unsatisfiable returns whole object", []sdk.Option{sdk.Range(2000, 3000)}, data, 200, "", ""},
		{"unsatisfiable standard behaviour", []sdk.Option{sdk.Range(2000, 3000), sdk.RangeBehavior("standard")}, nil, 416, "InvalidRange", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := b.DoGetObject(&sdk.GetObjectRequest{ObjectKey: "r"}, c.opts)
			if c.code != "" {
				serviceErr(t, err, c.status, c.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(res.Response.Body)
			res.Response.Body.Close()
			if res.Response.StatusCode != c.status || !bytes.Equal(got, c.want) {
				t.Fatalf("status %d, %d bytes; want %d, %d bytes", res.Response.StatusCode, len(got), c.status, len(c.want))
			}
			if cr := res.Response.Headers.Get("Content-Range"); cr != c.contentRage {
				t.Fatalf("Content-Range %q, want %q", cr, c.contentRage)
			}
			if crc := res.Response.Headers.Get("X-Oss-Hash-Crc64ecma"); crc != strconv.FormatUint(crcOf(data), 10) {
				t.Fatalf("range response CRC header %q is not the whole object's", crc)
			}
		})
	}
}

func TestCRC64AndETagHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.bucket(t)
	data := pattern(300_000, 3)
	var respHdr http.Header
	put(t, b, "crc", data, sdk.GetResponseHeader(&respHdr))
	want := strconv.FormatUint(crcOf(data), 10)
	if got := respHdr.Get("X-Oss-Hash-Crc64ecma"); got != want {
		t.Fatalf("PUT CRC header %q, want %q", got, want)
	}
	etag := respHdr.Get("ETag")
	if len(etag) != 34 || etag[0] != '"' || etag != strings.ToUpper(etag) {
		t.Fatalf("ETag %q is not a quoted upper-case MD5", etag)
	}
	h, err := b.GetObjectDetailedMeta("crc")
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("X-Oss-Hash-Crc64ecma") != want || h.Get("ETag") != etag || h.Get("X-Oss-Object-Type") != "Normal" {
		t.Fatalf("HEAD crc %q etag %q type %q", h.Get("X-Oss-Hash-Crc64ecma"), h.Get("ETag"), h.Get("X-Oss-Object-Type"))
	}
	// The SDK verifies the CRC of a whole-object GET itself.
	if got := getAll(t, b, "crc"); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	// A Content-MD5 that does not match the body is refused.
	err = b.PutObject("bad-md5", bytes.NewReader(data), sdk.ContentMD5("AAAAAAAAAAAAAAAAAAAAAA=="))
	serviceErr(t, err, 400, "InvalidDigest")
	if _, ok := e.srv.Object(testBucket, "bad-md5"); ok {
		t.Fatal("object with a bad Content-MD5 was stored")
	}
}

// unsizedReader hides the length so the SDK sends a chunked body.
type unsizedReader struct{ r io.Reader }

func (u unsizedReader) Read(p []byte) (int, error) { return u.r.Read(p) }

func TestChunkedPut(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var encodings [][]string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		encodings = append(encodings, r.TransferEncoding)
		mu.Unlock()
		e.srv.ServeHTTP(w, r)
	}))
	defer ts.Close()
	b, _ := newClient(t, ts.URL, testID, testSecret).Bucket(testBucket)
	data := pattern(3<<20+17, 9)
	if err := b.PutObject("chunked", unsizedReader{bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	if len(encodings) != 1 || len(encodings[0]) != 1 || encodings[0][0] != "chunked" {
		t.Fatalf("transfer encodings seen: %v, want one chunked request", encodings)
	}
	info, _ := e.srv.Object(testBucket, "chunked")
	if info.Size != int64(len(data)) || info.CRC64 != crcOf(data) {
		t.Fatalf("stored size %d crc %d, want %d %d", info.Size, info.CRC64, len(data), crcOf(data))
	}
}

// TestEntityTooLarge sends the oversized PUT with a plain HTTP client on a
// presigned URL: the SDK's own progress tracker has a data race when a
// server answers before the body is sent, which -race would report.
func TestEntityTooLarge(t *testing.T) {
	e := newEnv(t)
	u, err := e.bucket(t).SignURL("huge", sdk.HTTPPut, 60)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, u, io.LimitReader(zeros{}, 5<<30+1))
	req.ContentLength = 5<<30 + 1
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var x rawErr
	if err := xml.Unmarshal(body, &x); err != nil || resp.StatusCode != 400 || x.Code != "EntityTooLarge" {
		t.Fatalf("status %d body %s", resp.StatusCode, body)
	}
	if len(e.srv.Objects(testBucket)) != 0 {
		t.Fatal("oversized object stored")
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestStorageClassAndEncryptionEcho(t *testing.T) {
	e := newEnv(t)
	b := e.bucket(t)
	cases := []struct {
		name            string
		opts            []sdk.Option
		class, sse, kid string
		readable        bool
		code            string
	}{
		{"standard default", nil, "Standard", "", "", true, ""},
		{"ia aes256", []sdk.Option{sdk.ObjectStorageClass(sdk.StorageIA), sdk.ServerSideEncryption("AES256")}, "IA", "AES256", "", true, ""},
		{"kms with key", []sdk.Option{sdk.ServerSideEncryption("KMS"), sdk.ServerSideEncryptionKeyID("kms-key-1")}, "Standard", "KMS", "kms-key-1", true, ""},
		{"sm4", []sdk.Option{sdk.ServerSideEncryption("SM4")}, "Standard", "SM4", "", true, ""},
		{"archive", []sdk.Option{sdk.ObjectStorageClass(sdk.StorageArchive)}, "Archive", "", "", false, ""},
		{"cold archive", []sdk.Option{sdk.ObjectStorageClass(sdk.StorageColdArchive)}, "ColdArchive", "", "", false, ""},
		{"bad sse", []sdk.Option{sdk.ServerSideEncryption("ROT13")}, "", "", "", false, "InvalidEncryptionAlgorithmError"},
		{"bad class", []sdk.Option{sdk.ObjectStorageClass("Shiny")}, "", "", "", false, "InvalidArgument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key := "sc/" + c.name
			var hdr http.Header
			err := b.PutObject(key, strings.NewReader("data"), append(c.opts, sdk.GetResponseHeader(&hdr))...)
			if c.code != "" {
				serviceErr(t, err, 400, c.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if hdr.Get("X-Oss-Server-Side-Encryption") != c.sse {
				t.Errorf("PUT echoed SSE %q, want %q", hdr.Get("X-Oss-Server-Side-Encryption"), c.sse)
			}
			h, err := b.GetObjectDetailedMeta(key)
			if err != nil {
				t.Fatal(err)
			}
			if h.Get("X-Oss-Storage-Class") != c.class || h.Get("X-Oss-Server-Side-Encryption") != c.sse ||
				h.Get("X-Oss-Server-Side-Encryption-Key-Id") != c.kid {
				t.Errorf("HEAD class %q sse %q kid %q", h.Get("X-Oss-Storage-Class"), h.Get("X-Oss-Server-Side-Encryption"), h.Get("X-Oss-Server-Side-Encryption-Key-Id"))
			}
			lr, err := b.ListObjects(sdk.Prefix(key))
			if err != nil || len(lr.Objects) != 1 || lr.Objects[0].StorageClass != c.class {
				t.Errorf("list storage class: %+v %v", lr.Objects, err)
			}
			_, err = b.GetObject(key)
			if c.readable {
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
			} else {
				serviceErr(t, err, 403, "InvalidObjectState")
			}
		})
	}
}

func TestDeleteObjects(t *testing.T) {
	e := newEnv(t)
	b := e.bucket(t)
	keys := []string{"d/a", "d/b c", "d/ü&<x>", "d/keep"}
	for _, k := range keys {
		put(t, b, k, []byte(k))
	}
	res, err := b.DeleteObjects([]string{"d/a", "d/b c", "d/ü&<x>", "d/never-existed"})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(res.DeletedObjects)
	want := []string{"d/a", "d/b c", "d/never-existed", "d/ü&<x>"}
	if fmt.Sprint(res.DeletedObjects) != fmt.Sprint(want) {
		t.Fatalf("deleted %q, want %q", res.DeletedObjects, want)
	}
	objs := e.srv.Objects(testBucket)
	if len(objs) != 1 || objs[0].Key != "d/keep" {
		t.Fatalf("left: %+v", objs)
	}
	quiet, err := b.DeleteObjects([]string{"d/keep"}, sdk.DeleteObjectsQuiet(true))
	if err != nil || len(quiet.DeletedObjects) != 0 || len(e.srv.Objects(testBucket)) != 0 {
		t.Fatalf("quiet delete: %+v %v, left %d", quiet, err, len(e.srv.Objects(testBucket)))
	}
	// DeleteObject answers 204 whether or not the key exists.
	var hdr http.Header
	if err := b.DeleteObject("d/gone", sdk.GetResponseHeader(&hdr)); err != nil {
		t.Fatal(err)
	}
	if e.srv.Operations()["DeleteObject"] != 1 {
		t.Fatalf("operations: %v", e.srv.Operations())
	}
}

func TestListPaging(t *testing.T) {
	e := newEnv(t)
	b := e.bucket(t)
	var want []string
	for i := 0; i < 1203; i++ {
		want = append(want, fmt.Sprintf("p/%05d", i))
	}
	want = append(want, "p/dir1/x", "p/dir1/y", "p/dir2/z", "p/sp ace+ü&.txt", "q/other")
	var wg sync.WaitGroup
	ch := make(chan string)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range ch {
				if err := b.PutObject(k, strings.NewReader("x")); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for _, k := range want {
		ch <- k
	}
	close(ch)
	wg.Wait()
	sort.Strings(want)

	t.Run("v2 max-keys capped at 1000", func(t *testing.T) {
		var got []string
		token, pages := "", 0
		for {
			opts := []sdk.Option{sdk.MaxKeys(5000)}
			if token != "" {
				opts = append(opts, sdk.ContinuationToken(token))
			}
			res, err := b.ListObjectsV2(opts...)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(res.Objects) > 1000 || res.MaxKeys != 1000 {
				t.Fatalf("page of %d objects, MaxKeys %d", len(res.Objects), res.MaxKeys)
			}
			for _, o := range res.Objects {
				got = append(got, o.Key)
			}
			if !res.IsTruncated {
				break
			}
			token = res.NextContinuationToken
		}
		if pages != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%d pages, %d keys; want 2 pages, %d keys in order", pages, len(got), len(want))
		}
	})
	t.Run("v1 marker paging", func(t *testing.T) {
		var got []string
		marker := ""
		for {
			res, err := b.ListObjects(sdk.MaxKeys(333), sdk.Marker(marker))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range res.Objects {
				got = append(got, o.Key)
			}
			if !res.IsTruncated {
				break
			}
			marker = res.NextMarker
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("%d keys, want %d in order", len(got), len(want))
		}
	})
	t.Run("delimiter", func(t *testing.T) {
		res, err := b.ListObjectsV2(sdk.Delimiter("/"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Objects) != 0 || fmt.Sprint(res.CommonPrefixes) != "[p/ q/]" {
			t.Fatalf("root: objects %d, prefixes %v", len(res.Objects), res.CommonPrefixes)
		}
		// Pages of 2 across prefixes and keys: nothing repeated, nothing lost.
		var items []string
		token := ""
		for {
			opts := []sdk.Option{sdk.Prefix("p/dir"), sdk.Delimiter("/"), sdk.MaxKeys(1)}
			if token != "" {
				opts = append(opts, sdk.ContinuationToken(token))
			}
			res, err := b.ListObjectsV2(opts...)
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, res.CommonPrefixes...)
			for _, o := range res.Objects {
				items = append(items, o.Key)
			}
			if !res.IsTruncated {
				break
			}
			token = res.NextContinuationToken
		}
		if fmt.Sprint(items) != "[p/dir1/ p/dir2/]" {
			t.Fatalf("paged prefixes %v", items)
		}
		v1, err := b.ListObjects(sdk.Prefix("p/"), sdk.Delimiter("/"), sdk.Marker("p/01199"))
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(v1.CommonPrefixes) != "[p/dir1/ p/dir2/]" || len(v1.Objects) != 4 || v1.IsTruncated {
			t.Fatalf("v1 delimiter: prefixes %v, %d objects, truncated %v", v1.CommonPrefixes, len(v1.Objects), v1.IsTruncated)
		}
	})
	t.Run("url encoding round trip", func(t *testing.T) {
		res, err := b.ListObjectsV2(sdk.Prefix("p/sp ace+"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Objects) != 1 || res.Objects[0].Key != "p/sp ace+ü&.txt" || res.Prefix != "p/sp ace+" {
			t.Fatalf("got %+v prefix %q", res.Objects, res.Prefix)
		}
	})
	t.Run("raw XML is url-encoded", func(t *testing.T) {
		rec := &recorder{}
		rb, _ := newClient(t, e.ts.URL, testID, testSecret, sdk.HTTPClient(&http.Client{Transport: rec})).Bucket(testBucket)
		_, _ = rb.ListObjectsV2(sdk.Prefix("p/sp ace+"))
		req := rec.reqs[0]
		req.RequestURI = ""
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), "<Key>p%2Fsp%20ace%2B%C3%BC%26.txt</Key>") || !strings.Contains(string(body), "<EncodingType>url</EncodingType>") {
			t.Fatalf("body: %s", body)
		}
	})
}

func TestMultipart(t *testing.T) {
	e := newEnv(t)
	b := e.bucket(t)
	part1, part2, part3 := pattern(200<<10, 1), pattern(150<<10, 2), pattern(1234, 3)
	full := append(append(append([]byte{}, part1...), part2...), part3...)

	t.Run("complete", func(t *testing.T) {
		imur, err := b.InitiateMultipartUpload("mp/obj", sdk.ObjectStorageClass(sdk.StorageIA), sdk.ServerSideEncryption("AES256"))
		if err != nil {
			t.Fatal(err)
		}
		if e.srv.MultipartUploads(testBucket) != 1 {
			t.Fatalf("uploads = %d", e.srv.MultipartUploads(testBucket))
		}
		var parts []sdk.UploadPart
		for _, p := range []struct {
			n    int
			data []byte
		}{{3, part3}, {1, part1}, {2, part2}} {
			up, err := b.UploadPart(imur, bytes.NewReader(p.data), int64(len(p.data)), p.n)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, up)
		}
		lp, err := b.ListUploadedParts(imur)
		if err != nil || len(lp.UploadedParts) != 3 || lp.UploadedParts[0].PartNumber != 1 || lp.UploadedParts[1].Size != len(part2) {
			t.Fatalf("ListUploadedParts: %+v %v", lp, err)
		}
		lu, err := b.ListMultipartUploads()
		if err != nil || len(lu.Uploads) != 1 || lu.Uploads[0].UploadID != imur.UploadID || lu.Uploads[0].Key != "mp/obj" {
			t.Fatalf("ListMultipartUploads: %+v %v", lu, err)
		}
		var hdr http.Header
		res, err := b.CompleteMultipartUpload(imur, parts, sdk.GetResponseHeader(&hdr))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(res.ETag, `-3"`) || len(res.ETag) != 36 {
			t.Fatalf("multipart ETag %q, want quoted MD5 with -3", res.ETag)
		}
		if hdr.Get("X-Oss-Hash-Crc64ecma") != strconv.FormatUint(crcOf(full), 10) {
			t.Fatalf("complete CRC %s, want %d", hdr.Get("X-Oss-Hash-Crc64ecma"), crcOf(full))
		}
		if got := getAll(t, b, "mp/obj"); !bytes.Equal(got, full) {
			t.Fatal("multipart content differs")
		}
		rng := getAll(t, b, "mp/obj", sdk.Range(200<<10-10, 200<<10+9))
		if !bytes.Equal(rng, full[200<<10-10:200<<10+10]) {
			t.Fatal("range across a part boundary differs")
		}
		info, _ := e.srv.Object(testBucket, "mp/obj")
		if info.Type != "Multipart" || info.Parts != 3 || info.StorageClass != "IA" || info.ServerSideEncryption != "AES256" {
			t.Fatalf("object info %+v", info)
		}
		if e.srv.MultipartUploads(testBucket) != 0 {
			t.Fatal("upload still listed after completion")
		}
	})
	t.Run("abort", func(t *testing.T) {
		imur, err := b.InitiateMultipartUpload("mp/aborted")
		if err != nil {
			t.Fatal(err)
		}
		up, err := b.UploadPart(imur, bytes.NewReader(part1), int64(len(part1)), 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.AbortMultipartUpload(imur); err != nil {
			t.Fatal(err)
		}
		if e.srv.MultipartUploads(testBucket) != 0 {
			t.Fatal("aborted upload still in progress")
		}
		_, err = b.CompleteMultipartUpload(imur, []sdk.UploadPart{up})
		serviceErr(t, err, 404, "NoSuchUpload")
		err = b.AbortMultipartUpload(imur)
		serviceErr(t, err, 404, "NoSuchUpload")
		if _, ok := e.srv.Object(testBucket, "mp/aborted"); ok {
			t.Fatal("aborted upload produced an object")
		}
	})
	t.Run("invalid completions", func(t *testing.T) {
		imur, _ := b.InitiateMultipartUpload("mp/bad")
		small1, _ := b.UploadPart(imur, bytes.NewReader(part3), int64(len(part3)), 1)
		small2, _ := b.UploadPart(imur, bytes.NewReader(part3), int64(len(part3)), 2)
		_, err := b.CompleteMultipartUpload(imur, []sdk.UploadPart{small1, small2})
		serviceErr(t, err, 400, "EntityTooSmall")
		_, err = b.CompleteMultipartUpload(imur, []sdk.UploadPart{{PartNumber: 1, ETag: `"00000000000000000000000000000000"`}})
		serviceErr(t, err, 400, "InvalidPart")
		_, err = b.CompleteMultipartUpload(imur, []sdk.UploadPart{{PartNumber: 7, ETag: small1.ETag}})
		serviceErr(t, err, 400, "InvalidPart")
		_, err = b.UploadPart(imur, bytes.NewReader(part3), int64(len(part3)), 10001)
		serviceErr(t, err, 400, "InvalidArgument")
		if e.srv.MultipartUploads(testBucket) != 1 {
			t.Fatal("failed completion must leave the upload in progress")
		}
		if err := b.AbortMultipartUpload(imur); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBucketInfoAndLocation(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	loc, err := c.GetBucketLocation(testBucket)
	if err != nil || loc != "oss-cn-hangzhou" {
		t.Fatalf("location %q %v", loc, err)
	}
	info, err := c.GetBucketInfo(testBucket)
	if err != nil || info.BucketInfo.Name != testBucket || info.BucketInfo.Location != "oss-cn-hangzhou" {
		t.Fatalf("info %+v %v", info, err)
	}
	_, err = c.GetBucketInfo("missing-bucket")
	serviceErr(t, err, 404, "NoSuchBucket")
	lb, err := c.ListBuckets()
	if err != nil || len(lb.Buckets) != 1 || lb.Buckets[0].Name != testBucket {
		t.Fatalf("ListBuckets %+v %v", lb, err)
	}
}

// A bucket's storage class comes from PutBucket's CreateBucketConfiguration
// and is what GetBucketInfo and ListBuckets report; objects uploaded without
// x-oss-storage-class get it, so those of an Archive bucket cannot be read.
func TestBucketStorageClass(t *testing.T) {
	e := newEnv(t)
	c := e.client(t)
	cases := []struct {
		bucket   string
		opts     []sdk.Option
		want     string
		readable bool
	}{
		{"default-class", nil, "Standard", true},
		{"ia-bucket", []sdk.Option{sdk.StorageClass(sdk.StorageIA)}, "IA", true},
		{"archive-bucket", []sdk.Option{sdk.StorageClass(sdk.StorageArchive)}, "Archive", false},
		{"cold-bucket", []sdk.Option{sdk.StorageClass(sdk.StorageColdArchive)}, "ColdArchive", false},
		{"deep-cold-bucket", []sdk.Option{sdk.StorageClass(sdk.StorageDeepColdArchive)}, "DeepColdArchive", false},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			if err := c.CreateBucket(tc.bucket, tc.opts...); err != nil {
				t.Fatal(err)
			}
			info, err := c.GetBucketInfo(tc.bucket)
			if err != nil || info.BucketInfo.StorageClass != tc.want {
				t.Fatalf("GetBucketInfo storage class = %q, %v; want %q", info.BucketInfo.StorageClass, err, tc.want)
			}
			b, err := c.Bucket(tc.bucket)
			if err != nil {
				t.Fatal(err)
			}
			put(t, b, "inherits", []byte("data"))
			put(t, b, "standard", []byte("data"), sdk.ObjectStorageClass(sdk.StorageStandard))
			if o, _ := e.srv.Object(tc.bucket, "inherits"); o.StorageClass != tc.want {
				t.Errorf("object without a storage class stored as %q; want the bucket's %q", o.StorageClass, tc.want)
			}
			_, err = b.GetObject("inherits")
			if tc.readable && err != nil {
				t.Errorf("GetObject: %v", err)
			}
			if !tc.readable {
				serviceErr(t, err, 403, "InvalidObjectState")
			}
			if got := getAll(t, b, "standard"); string(got) != "data" {
				t.Errorf("Standard object in a %s bucket read %q", tc.want, got)
			}
		})
	}
	lb, err := c.ListBuckets()
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]string{}
	for _, b := range lb.Buckets {
		classes[b.Name] = b.StorageClass
	}
	for _, tc := range cases {
		if classes[tc.bucket] != tc.want {
			t.Errorf("ListBuckets reports %s as %q; want %q", tc.bucket, classes[tc.bucket], tc.want)
		}
	}
	err = c.CreateBucketXml("bad-class", "<CreateBucketConfiguration><StorageClass>Shiny</StorageClass></CreateBucketConfiguration>")
	serviceErr(t, err, 400, "InvalidArgument")
}

func TestPresignedURLs(t *testing.T) {
	e := newEnv(t)
	put(t, e.bucket(t), "signed/obj one.txt", []byte("presigned content"))
	cases := []struct {
		name    string
		id, sec string
		opts    []sdk.ClientOption
	}{
		{"v4", testID, testSecret, nil},
		{"v1", testID, testSecret, []sdk.ClientOption{sdk.AuthVersion(sdk.AuthV1)}},
		{"v4-sts", stsID, stsSecret, []sdk.ClientOption{sdk.SecurityToken(stsToken)}},
		{"v1-sts", stsID, stsSecret, []sdk.ClientOption{sdk.AuthVersion(sdk.AuthV1), sdk.SecurityToken(stsToken)}},
	}
	get := func(u string) (int, string, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		var x rawErr
		_ = xml.Unmarshal(body, &x)
		return resp.StatusCode, string(body), x.Code
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := newClient(t, e.ts.URL, c.id, c.sec, c.opts...).Bucket(testBucket)
			u, err := b.SignURL("signed/obj one.txt", sdk.HTTPGet, 60)
			if err != nil {
				t.Fatal(err)
			}
			if status, body, _ := get(u); status != 200 || body != "presigned content" {
				t.Fatalf("fresh URL: %d %q", status, body)
			}
			if status, _, code := get(strings.Replace(u, "obj%20one", "obj%20two", 1)); status != 403 || code != "SignatureDoesNotMatch" {
				t.Fatalf("URL for another key: %d %s", status, code)
			}
			longer := strings.Replace(strings.Replace(u, "x-oss-expires=60", "x-oss-expires=600", 1), "Expires=", "Expires=1", 1)
			if status, _, code := get(longer); status != 403 || code != "SignatureDoesNotMatch" {
				t.Fatalf("URL with a longer expiry: %d %s", status, code)
			}
			e.clock.shift(2 * time.Minute)
			defer e.clock.shift(-2 * time.Minute)
			if status, _, code := get(u); status != 403 || code != "AccessDenied" {
				t.Fatalf("expired URL: %d %s", status, code)
			}
		})
	}
	t.Run("v4 virtual host", func(t *testing.T) {
		port := e.ts.Listener.Addr().(*net.TCPAddr).Port
		hc := hostDialer(e.ts.Listener.Addr().String())
		b, _ := newClient(t, fmt.Sprintf("http://oss-cn-hangzhou.emulator.test:%d", port), testID, testSecret, sdk.HTTPClient(hc)).Bucket(testBucket)
		u, err := b.SignURL("signed/obj one.txt", sdk.HTTPGet, 60)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u, "http://"+testBucket+".oss-cn-hangzhou.emulator.test:") {
			t.Fatalf("not a virtual-host URL: %s", u)
		}
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "presigned content" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
	t.Run("put with url", func(t *testing.T) {
		b := e.bucket(t)
		u, err := b.SignURL("signed/put", sdk.HTTPPut, 60)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.PutObjectWithURL(u, strings.NewReader("via url")); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.srv.ReadObject(testBucket, "signed/put"); string(got) != "via url" {
			t.Fatalf("stored %q", got)
		}
	})
}

func TestFaultInjection(t *testing.T) {
	e := newEnv(t)
	b := e.bucket(t)
	put(t, b, "f", []byte("data"))
	cases := []struct {
		name  string
		d     fault.Decision
		check func(t *testing.T, err error, took time.Duration)
	}{
		{"server error", fault.Decision{Kind: fault.ServerError}, func(t *testing.T, err error, _ time.Duration) {
			serviceErr(t, err, 500, "InternalError")
		}},
		{"throttle", fault.Decision{Kind: fault.Throttle}, func(t *testing.T, err error, _ time.Duration) {
			serviceErr(t, err, 503, "ServiceUnavailable")
		}},
		{"reset", fault.Decision{Kind: fault.Reset}, func(t *testing.T, err error, _ time.Duration) {
			var se sdk.ServiceError
			if err == nil || errors.As(err, &se) {
				t.Fatalf("want a transport error, got %v", err)
			}
			// Reset, EOF, or a write on the closed connection: which one the
			// client sees depends on how far it got when the server dropped it.
			if !retry.IsTransportError(err) {
				t.Fatalf("want a dropped connection, got %v", err)
			}
		}},
		{"delay", fault.Decision{Kind: fault.Delay, Delay: 300 * time.Millisecond}, func(t *testing.T, err error, took time.Duration) {
			if err != nil || took < 300*time.Millisecond {
				t.Fatalf("err %v after %v, want success after >= 300ms", err, took)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.faults.Count(c.d.Kind)
			e.faults.Enqueue(c.d)
			// A PUT, because Go's transport silently retries an idempotent
			// GET whose reused connection is reset.
			start := time.Now()
			err := b.PutObject("f", strings.NewReader("data"))
			c.check(t, err, time.Since(start))
			if e.faults.Count(c.d.Kind) != before+1 {
				t.Fatalf("fault %v not counted", c.d.Kind)
			}
			if got := getAll(t, b, "f"); string(got) != "data" {
				t.Fatalf("request after the fault: %q", got)
			}
		})
	}
	t.Run("rates", func(t *testing.T) {
		e.faults.Set(fault.Config{ErrorRate: 0.3, ThrottleRate: 0.2, Seed: 42})
		defer e.faults.Set(fault.Config{})
		var fails500, fails503, ok int
		for i := 0; i < 200; i++ {
			_, err := b.GetObjectMeta("f")
			var se sdk.ServiceError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &se) && se.StatusCode == 500:
				fails500++
			case errors.As(err, &se) && se.StatusCode == 503:
				fails503++
			default:
				t.Fatalf("unexpected error %v", err)
			}
		}
		if fails500 < 40 || fails500 > 80 || fails503 < 20 || fails503 > 60 || ok < 70 {
			t.Fatalf("500s %d, 503s %d, ok %d out of 200 for rates 0.3/0.2", fails500, fails503, ok)
		}
	})
}

func TestConcurrentWriters(t *testing.T) {
	e := newEnv(t)
	b := e.bucket(t)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				data := pattern(20_000+w, byte(w))
				if err := b.PutObject("same", bytes.NewReader(data)); err != nil {
					t.Error(err)
					return
				}
				if err := b.PutObject(fmt.Sprintf("own/%d", w), bytes.NewReader(data)); err != nil {
					t.Error(err)
					return
				}
				rc, err := b.GetObject("same")
				if err != nil {
					t.Error(err)
					return
				}
				got, err := io.ReadAll(rc) // the SDK checks the CRC of what it reads
				rc.Close()
				if err != nil || len(got) < 20_000 || len(got) > 20_007 {
					t.Errorf("read %d bytes, %v", len(got), err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if n := len(e.srv.Objects(testBucket)); n != 9 {
		t.Fatalf("%d objects, want 9", n)
	}
}
