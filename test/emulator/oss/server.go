// Package oss is a local server that speaks the Alibaba Cloud OSS protocol
// the way github.com/aliyun/aliyun-oss-go-sdk sends it. It does not trust its
// clients: every request must carry a valid V1 or V4 signature (header or
// presigned URL) from a key in the auth.Store, within 15 minutes of the server
// clock, with the STS token that belongs to the key. Objects and multipart
// parts are streamed to files under Config.DataDir; only metadata is kept in
// memory. A fault.Injector can make any request fail with 500/503, lose its
// connection or respond late.
//
// Tests run it in-process:
//
//	srv, err := oss.New(oss.Config{Auth: auth.NewStore(cred), DataDir: t.TempDir(), Buckets: []string{"b"}})
//	ts := httptest.NewServer(srv)
//	client, _ := aliyunoss.New(ts.URL, id, secret) // an IP endpoint means path style
//
// Virtual-host style (bucket.host:port) works for any host name whose first
// label is a known bucket, or for any host under Config.Domain.
//
// Requests signed with AWS Signature V4 are served as the S3 protocol, over
// the same buckets and objects (s3.go, s3sign.go), as OSS does.
package oss

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/internal/emu"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"
)

// Config configures a Server.
type Config struct {
	// Auth holds the accepted keys. Required.
	Auth *auth.Store
	// DataDir is where object and part data live. Required; created if missing.
	DataDir string
	// Buckets exist from the start (more can be added with CreateBucket or a
	// PutBucket request).
	Buckets []string
	// Region, e.g. "cn-hangzhou", is what GetBucketLocation/GetBucketInfo
	// report; V4 signatures scoped to another region are rejected. Empty
	// accepts any V4 region and reports cn-hangzhou.
	Region string
	// Faults, if set, decides per request whether to misbehave.
	Faults *fault.Injector
	// Now is the server clock (for skew, expiry and timestamps); nil is time.Now.
	Now func() time.Time
	// Domain, if set (e.g. "oss-cn-hangzhou.aliyuncs.com"), makes every host
	// "<bucket>.<Domain>" a virtual-host-style request.
	Domain string
	// Policy, if set, is the RAM policy of the caller: every authenticated
	// request must be allowed by it (ram.OSSActions names the action of each
	// operation; the resource is acs:oss:<region>:<ram.AccountID>:<bucket>
	// or .../<bucket>/<key>), or it gets 403 AccessDenied as from OSS. Nil
	// allows everything, as for the account owner.
	Policy *ram.Policy
}

// Limits OSS enforces.
const (
	MaxObjectSize   = 5 << 30   // single PutObject and single part
	MinPartSize     = 100 << 10 // every part but the last
	MaxPartNumber   = 10000
	MaxListKeys     = 1000
	MaxDeleteKeys   = 1000
	defaultListKeys = 100
)

// Server is the OSS emulator; it is an http.Handler and safe for concurrent use.
type Server struct {
	cfg      Config
	objDir   string
	partDir  string
	requests atomic.Int64

	mu         sync.Mutex
	buckets    map[string]*bucket
	ops        map[string]int64
	s3Payloads map[string]int64
}

type bucket struct {
	name    string
	created time.Time
	// class is the bucket's storage class (PutBucket's
	// CreateBucketConfiguration, Standard by default): GetBucketInfo and
	// ListBuckets report it, and objects uploaded without
	// x-oss-storage-class get it.
	class   string
	objects map[string]*object
	uploads map[string]*upload
}

// New validates c, creates the data directories and the initial buckets.
func New(c Config) (*Server, error) {
	if c.Auth == nil {
		return nil, errors.New("oss emulator: Config.Auth is required")
	}
	if c.DataDir == "" {
		return nil, errors.New("oss emulator: Config.DataDir is required")
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	s := &Server{
		cfg:        c,
		objDir:     filepath.Join(c.DataDir, "objects"),
		partDir:    filepath.Join(c.DataDir, "parts"),
		buckets:    map[string]*bucket{},
		ops:        map[string]int64{},
		s3Payloads: map[string]int64{},
	}
	for _, d := range []string{s.objDir, s.partDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("oss emulator: creating data directory: %w", err)
		}
	}
	for _, b := range c.Buckets {
		if err := s.CreateBucket(b); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// CreateBucket adds an empty Standard bucket (no-op if it exists).
func (s *Server) CreateBucket(name string) error {
	return s.createBucket(name, "Standard")
}

func (s *Server) createBucket(name, class string) error {
	if !validBucketName(name) {
		return fmt.Errorf("oss emulator: invalid bucket name %q: use 3-63 lower-case letters, digits and '-'", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[name] == nil {
		s.buckets[name] = &bucket{name: name, created: s.now(), class: class, objects: map[string]*object{}, uploads: map[string]*upload{}}
	}
	return nil
}

// bucketClass is the storage class of an existing bucket, "" for an
// unknown one.
func (s *Server) bucketClass(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[name]; b != nil {
		return b.class
	}
	return ""
}

func validBucketName(n string) bool {
	if len(n) < 3 || len(n) > 63 || n[0] == '-' || n[len(n)-1] == '-' {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) region() string {
	if s.cfg.Region == "" {
		return "cn-hangzhou"
	}
	return s.cfg.Region
}

// handler serves one operation; it writes the success response itself and
// returns an error for the caller to render.
type handler func(w http.ResponseWriter, r *http.Request, t target) *apiError

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	reqID := emu.Hex(12)
	h := w.Header()
	h.Set("x-oss-request-id", reqID)
	if isS3Request(r) {
		h.Set("x-amz-request-id", reqID)
	}
	h.Set("Server", "AliyunOSS")
	h.Set("Date", s.now().UTC().Format(http.TimeFormat))

	switch d := s.cfg.Faults.Decide(); d.Kind {
	case fault.Reset:
		// An RST, the way a crashed front end or a broken network path
		// looks to a client.
		if !emu.DropConnection(w, true) {
			panic(http.ErrAbortHandler)
		}
		return
	case fault.ServerError:
		s.count("Fault")
		writeError(w, r, errInternal, reqID)
		return
	case fault.Throttle:
		s.count("Fault")
		writeError(w, r, errServiceUnavailable, reqID)
		return
	case fault.Delay:
		select {
		case <-time.After(d.Delay):
		case <-r.Context().Done():
			return
		}
	}

	t, aerr := s.parseTarget(r)
	if aerr == nil {
		aerr = s.authenticate(r, t)
	}
	if aerr != nil {
		s.count("Rejected")
		writeError(w, r, aerr, reqID)
		return
	}
	op, hf := s.route(r, t)
	if aerr := s.authorize(ramOperation(op), t); aerr != nil {
		s.count("Denied")
		writeError(w, r, aerr, reqID)
		return
	}
	s.count(op)
	if aerr := hf(w, r, t); aerr != nil {
		if t.bucket != "" && aerr.Code == "NoSuchBucket" {
			aerr = aerr.with("BucketName", t.bucket)
		}
		writeError(w, r, aerr, reqID)
	}
}

func (s *Server) count(op string) {
	s.mu.Lock()
	s.ops[op]++
	s.mu.Unlock()
}

// parseTarget finds the bucket and key, virtual-host style
// (bucket.host/key) or path style (host/bucket/key).
func (s *Server) parseTarget(r *http.Request) (target, *apiError) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(host)
	path := strings.TrimPrefix(r.URL.Path, "/")
	var t target
	if b, ok := s.virtualHostBucket(host); ok {
		t = target{bucket: b, key: path}
	} else {
		t.bucket, t.key, _ = strings.Cut(path, "/")
	}
	if t.bucket != "" && !validBucketName(t.bucket) {
		return t, errInvalidBucketName.with("BucketName", t.bucket)
	}
	if len(t.key) > 1023 {
		return t, errInvalidObjectName
	}
	return t, nil
}

func (s *Server) virtualHostBucket(host string) (string, bool) {
	if s.cfg.Domain != "" {
		b, ok := strings.CutSuffix(host, "."+strings.ToLower(s.cfg.Domain))
		return b, ok && !strings.Contains(b, ".")
	}
	if net.ParseIP(host) != nil {
		return "", false
	}
	first, rest, ok := strings.Cut(host, ".")
	if !ok || first == "s3" && strings.HasPrefix(rest, "oss-") {
		// s3.oss-<region>.aliyuncs.com is the S3-style name of an endpoint.
		return "", false
	}
	s.mu.Lock()
	_, known := s.buckets[first]
	s.mu.Unlock()
	// A real OSS endpoint (bucket.oss-<region>...) names the bucket even if
	// it does not exist, so the client gets NoSuchBucket.
	return first, known || strings.HasPrefix(rest, "oss-") || strings.HasPrefix(rest, "s3.oss-")
}

// route picks the operation from method, target and sub-resource.
func (s *Server) route(r *http.Request, t target) (string, handler) {
	if isS3Request(r) {
		return s.routeS3(r, t)
	}
	q := r.URL.Query()
	notImpl := func(http.ResponseWriter, *http.Request, target) *apiError { return errNotImplemented }
	notAllowed := func(http.ResponseWriter, *http.Request, target) *apiError { return errMethodNotAllowed }
	switch {
	case t.bucket == "":
		if r.Method == http.MethodGet {
			return "ListBuckets", s.listBuckets
		}
		return "Unsupported", notAllowed
	case t.key == "":
		switch r.Method {
		case http.MethodGet:
			switch {
			case q.Has("bucketInfo"):
				return "GetBucketInfo", s.getBucketInfo
			case q.Has("location"):
				return "GetBucketLocation", s.getBucketLocation
			case q.Has("acl"):
				return "GetBucketAcl", s.getBucketACL
			case q.Has("uploads"):
				return "ListMultipartUploads", s.listUploads
			case q.Get("list-type") == "2":
				return "ListObjectsV2", s.listObjects
			case hasOtherSubresource(q):
				return "Unsupported", notImpl
			}
			return "ListObjects", s.listObjects
		case http.MethodPost:
			if q.Has("delete") {
				return "DeleteMultipleObjects", s.deleteMultiple
			}
		case http.MethodPut:
			if !hasOtherSubresource(q) {
				return "PutBucket", s.putBucket
			}
		}
		return "Unsupported", notImpl
	}
	switch r.Method {
	case http.MethodPut:
		switch {
		case q.Has("uploadId") || q.Has("partNumber"):
			if r.Header.Get("x-oss-copy-source") != "" {
				return "Unsupported", notImpl
			}
			return "UploadPart", s.uploadPart
		case r.Header.Get("x-oss-copy-source") != "" || hasOtherSubresource(q):
			return "Unsupported", notImpl
		}
		return "PutObject", s.putObject
	case http.MethodGet:
		switch {
		case q.Has("uploadId"):
			return "ListParts", s.listParts
		case hasOtherSubresource(q):
			return "Unsupported", notImpl
		}
		return "GetObject", s.getObject
	case http.MethodHead:
		if q.Has("objectMeta") {
			return "GetObjectMeta", s.getObject
		}
		return "HeadObject", s.getObject
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return "InitiateMultipartUpload", s.initiateUpload
		case q.Has("uploadId"):
			return "CompleteMultipartUpload", s.completeUpload
		}
	case http.MethodDelete:
		if q.Has("uploadId") {
			return "AbortMultipartUpload", s.abortUpload
		}
		if !hasOtherSubresource(q) {
			return "DeleteObject", s.deleteObject
		}
	}
	return "Unsupported", notImpl
}

// hasOtherSubresource reports a signed sub-resource the emulator does not
// implement (tagging, acl on objects, symlink, ...), so that such requests
// get NotImplemented instead of silently acting as a plain GET/PUT.
func hasOtherSubresource(q map[string][]string) bool {
	for k := range q {
		switch k {
		case "uploads", "uploadId", "partNumber", "security-token", "objectMeta", "delete", "continuation-token",
			"response-content-type", "response-content-language", "response-expires",
			"response-cache-control", "response-content-disposition", "response-content-encoding":
			continue
		}
		if v1SubResources[k] {
			return true
		}
	}
	return false
}

// ---- inspection for tests ----

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key                  string
	Size                 int64
	ETag                 string // quoted, as in responses
	CRC64                uint64
	Type                 string // "Normal" or "Multipart"
	Parts                int    // number of parts for Multipart objects
	StorageClass         string
	ServerSideEncryption string
	SSEKeyID             string
	ContentType          string
	Meta                 map[string]string // x-oss-meta-* without the prefix, lower-case
	LastModified         time.Time
}

// Objects returns the objects of bucket sorted by key (nil for an unknown bucket).
func (s *Server) Objects(bucketName string) []ObjectInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil
	}
	out := make([]ObjectInfo, 0, len(b.objects))
	for _, o := range b.objects {
		out = append(out, o.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Object returns one object's description.
func (s *Server) Object(bucketName, key string) (ObjectInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[bucketName]; b != nil {
		if o := b.objects[key]; o != nil {
			return o.info(), true
		}
	}
	return ObjectInfo{}, false
}

// ReadObject returns an object's content, bypassing authentication (for
// assertions in tests; small objects only).
func (s *Server) ReadObject(bucketName, key string) ([]byte, error) {
	o, files, aerr := s.openObject(bucketName, key)
	if aerr != nil {
		return nil, aerr
	}
	defer closeAll(files)
	buf := make([]byte, o.size)
	_, err := readFullAt(files, o, 0, buf)
	return buf, err
}

// MultipartUploads returns how many multipart uploads are in progress
// (initiated, neither completed nor aborted) in bucket.
func (s *Server) MultipartUploads(bucketName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[bucketName]; b != nil {
		return len(b.uploads)
	}
	return 0
}

// Requests returns how many HTTP requests the server has received,
// including rejected and fault-injected ones.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Operations returns request counts by operation name ("PutObject",
// "UploadPart", "ListObjectsV2", ...; "Rejected" for requests that failed
// authentication or addressing, "Denied" for requests Config.Policy refused,
// "Fault" for injected 500/503 errors).
// Connection resets are not counted here; see Faults().Count(fault.Reset).
func (s *Server) Operations() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.ops)
}

// Faults returns the injector given in Config (possibly nil).
func (s *Server) Faults() *fault.Injector { return s.cfg.Faults }
