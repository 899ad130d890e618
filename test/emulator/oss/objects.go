package oss

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/crc64ecma"
)

// object is one stored object. Its data is the concatenation of segments:
// one file for a PutObject, the part files for a completed multipart upload
// (so completing a multi-GiB upload copies nothing).
type object struct {
	key      string
	size     int64
	etag     string // quoted
	md5      string // base64, Normal objects only
	crc      uint64
	typ      string // Normal | Multipart
	modified time.Time
	header   http.Header // stored user-visible headers, echoed on GET/HEAD
	segments []segment
}

type segment struct {
	path string
	size int64
}

func (o *object) info() ObjectInfo {
	meta := map[string]string{}
	for k, v := range o.header {
		if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-oss-meta-") {
			meta[strings.TrimPrefix(lk, "x-oss-meta-")] = v[0]
		}
	}
	return ObjectInfo{
		Key: o.key, Size: o.size, ETag: o.etag, CRC64: o.crc, Type: o.typ, Parts: len(o.segments),
		StorageClass:         o.header.Get("x-oss-storage-class"),
		ServerSideEncryption: o.header.Get("x-oss-server-side-encryption"),
		SSEKeyID:             o.header.Get("x-oss-server-side-encryption-key-id"),
		ContentType:          o.header.Get("Content-Type"),
		Meta:                 meta,
		LastModified:         o.modified,
	}
}

func (o *object) paths() []string {
	var p []string
	for _, s := range o.segments {
		p = append(p, s.path)
	}
	return p
}

func removeFiles(paths []string) {
	for _, p := range paths {
		_ = os.Remove(p)
	}
}

func closeAll(fs []*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}

var storageClasses = map[string]string{
	"standard": "Standard", "ia": "IA", "archive": "Archive",
	"coldarchive": "ColdArchive", "deepcoldarchive": "DeepColdArchive",
}

func isArchive(class string) bool {
	return class == "Archive" || class == "ColdArchive" || class == "DeepColdArchive"
}

// storedHeaders picks and validates what an upload request asks to store:
// standard content headers, user metadata, storage class (bucketClass, the
// bucket's, when the request names none) and encryption.
func storedHeaders(in http.Header, bucketClass string) (http.Header, *apiError) {
	out := http.Header{}
	for _, k := range []string{"Content-Type", "Content-Disposition", "Content-Encoding", "Content-Language", "Cache-Control", "Expires"} {
		if v := in.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	if out.Get("Content-Type") == "" {
		out.Set("Content-Type", "application/octet-stream")
	}
	for k, v := range in {
		if strings.HasPrefix(strings.ToLower(k), "x-oss-meta-") {
			out[k] = v
		}
	}
	class := bucketClass
	if class == "" {
		class = "Standard"
	}
	if v := in.Get("x-oss-storage-class"); v != "" {
		c, ok := storageClasses[strings.ToLower(v)]
		if !ok {
			return nil, invalidArgument("Invalid storage class.", "x-oss-storage-class", v)
		}
		class = c
	}
	out.Set("x-oss-storage-class", class)
	sse := in.Get("x-oss-server-side-encryption")
	keyID := in.Get("x-oss-server-side-encryption-key-id")
	switch sse {
	case "", "AES256", "KMS", "SM4":
	default:
		return nil, errInvalidEncryption.with("ArgumentValue", sse)
	}
	if keyID != "" && sse != "KMS" {
		return nil, invalidArgument("x-oss-server-side-encryption-key-id is only allowed with x-oss-server-side-encryption: KMS.", "x-oss-server-side-encryption-key-id", keyID)
	}
	if sse != "" {
		out.Set("x-oss-server-side-encryption", sse)
	}
	if keyID != "" {
		out.Set("x-oss-server-side-encryption-key-id", keyID)
	}
	if v := in.Get("x-oss-server-side-data-encryption"); v != "" {
		out.Set("x-oss-server-side-data-encryption", v)
	}
	return out, nil
}

// echoSSE copies the encryption headers of stored into w, as OSS does on
// every response about an encrypted object.
func echoSSE(w http.Header, stored http.Header) {
	for _, k := range []string{"x-oss-server-side-encryption", "x-oss-server-side-encryption-key-id", "x-oss-server-side-data-encryption"} {
		if v := stored.Get(k); v != "" {
			w.Set(k, v)
		}
	}
}

// received is the outcome of streaming a request body to disk.
type received struct {
	path string
	size int64
	md5  []byte
	crc  uint64
}

// receive streams r.Body (Content-Length or chunked) into a new file under
// dir, computing MD5 and CRC64 on the way, and checks Content-MD5.
func receive(r *http.Request, dir string, limit int64) (received, *apiError) {
	if r.ContentLength > limit {
		return received{}, errEntityTooLarge.with("MaxSizeAllowed", strconv.FormatInt(limit, 10)).with("ProposedSize", strconv.FormatInt(r.ContentLength, 10))
	}
	f, err := os.CreateTemp(dir, "data-")
	if err != nil {
		return received{}, errInternal
	}
	md := md5.New()
	crc := crc64ecma.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, md, crc), io.LimitReader(r.Body, limit+1), make([]byte, 256<<10))
	cerr := f.Close()
	fail := func(e *apiError) (received, *apiError) {
		_ = os.Remove(f.Name())
		return received{}, e
	}
	switch {
	case n > limit:
		return fail(errEntityTooLarge.with("MaxSizeAllowed", strconv.FormatInt(limit, 10)))
	case err != nil:
		return fail(bodyError(err))
	case cerr != nil:
		return fail(errInternal)
	case r.ContentLength >= 0 && n != r.ContentLength:
		return fail(errIncompleteBody)
	}
	sum := md.Sum(nil)
	if want := r.Header.Get("Content-MD5"); want != "" && want != base64.StdEncoding.EncodeToString(sum) {
		return fail(errInvalidDigest.with("Content-MD5", want))
	}
	return received{path: f.Name(), size: n, md5: sum, crc: crc.Sum64()}, nil
}

func quotedETag(sum []byte) string {
	return `"` + strings.ToUpper(hex.EncodeToString(sum)) + `"`
}

func (s *Server) bucketExists(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buckets[name] != nil
}

func (s *Server) putObject(w http.ResponseWriter, r *http.Request, t target) *apiError {
	hdr, aerr := storedHeaders(r.Header, s.bucketClass(t.bucket))
	if aerr != nil {
		return aerr
	}
	if !s.bucketExists(t.bucket) {
		return errNoSuchBucket
	}
	forbid := strings.EqualFold(r.Header.Get("x-oss-forbid-overwrite"), "true")
	if forbid {
		if _, ok := s.Object(t.bucket, t.key); ok {
			return errFileAlreadyExists
		}
	}
	rc, aerr := receive(r, s.objDir, MaxObjectSize)
	if aerr != nil {
		return aerr
	}
	o := &object{
		key: t.key, size: rc.size, etag: quotedETag(rc.md5), md5: base64.StdEncoding.EncodeToString(rc.md5),
		crc: rc.crc, typ: "Normal", modified: s.now(), header: hdr,
		segments: []segment{{rc.path, rc.size}},
	}
	if aerr := s.store(t.bucket, o, forbid); aerr != nil {
		removeFiles(o.paths())
		return aerr
	}
	h := w.Header()
	h.Set("ETag", o.etag)
	h.Set("Content-MD5", o.md5)
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(o.crc, 10))
	echoSSE(h, hdr)
	w.WriteHeader(http.StatusOK)
	return nil
}

// store makes o the current version of its key and deletes the data of the
// object it replaces.
func (s *Server) store(bucketName string, o *object, forbidOverwrite bool) *apiError {
	s.mu.Lock()
	b := s.buckets[bucketName]
	if b == nil {
		s.mu.Unlock()
		return errNoSuchBucket
	}
	old := b.objects[o.key]
	if old != nil && forbidOverwrite {
		s.mu.Unlock()
		return errFileAlreadyExists
	}
	b.objects[o.key] = o
	s.mu.Unlock()
	if old != nil {
		removeFiles(old.paths())
	}
	return nil
}

// openObject looks the object up and opens its data files under the lock, so
// a concurrent overwrite or delete cannot pull the data from under a reader.
func (s *Server) openObject(bucketName, key string) (*object, []*os.File, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil, nil, errNoSuchBucket
	}
	o := b.objects[key]
	if o == nil {
		return nil, nil, errNoSuchKey.with("Key", key)
	}
	var files []*os.File
	for _, seg := range o.segments {
		f, err := os.Open(seg.path)
		if err != nil {
			closeAll(files)
			return nil, nil, errInternal
		}
		files = append(files, f)
	}
	return o, files, nil
}

// rangeReader returns the bytes [off, off+n) of the object's segments.
func rangeReader(files []*os.File, o *object, off, n int64) io.Reader {
	var rs []io.Reader
	for i, seg := range o.segments {
		if n <= 0 {
			break
		}
		if off >= seg.size {
			off -= seg.size
			continue
		}
		l := min(seg.size-off, n)
		rs = append(rs, io.NewSectionReader(files[i], off, l))
		n -= l
		off = 0
	}
	return io.MultiReader(rs...)
}

func readFullAt(files []*os.File, o *object, off int64, buf []byte) (int, error) {
	return io.ReadFull(rangeReader(files, o, off, int64(len(buf))), buf)
}

// parseRange parses a single "bytes=a-b", "bytes=a-" or "bytes=-n" range.
// ok is false when the header is absent or not a single byte range;
// satisfiable is false when it lies outside the object.
func parseRange(h string, size int64) (start, end int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, false
	}
	a, b, found := strings.Cut(spec, "-")
	if !found {
		return 0, 0, false, false
	}
	var err error
	switch {
	case a == "" && b == "":
		return 0, 0, false, false
	case a == "":
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, false
		}
		if n == 0 || size == 0 {
			return 0, 0, true, false
		}
		return max(size-n, 0), size - 1, true, true
	default:
		if start, err = strconv.ParseInt(a, 10, 64); err != nil || start < 0 {
			return 0, 0, false, false
		}
		end = size - 1
		if b != "" {
			if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
				return 0, 0, false, false
			}
			end = min(end, size-1)
		}
		return start, end, true, start < size
	}
}

// getObject serves GetObject, HeadObject and GetObjectMeta.
func (s *Server) getObject(w http.ResponseWriter, r *http.Request, t target) *apiError {
	o, files, aerr := s.openObject(t.bucket, t.key)
	if aerr != nil {
		return aerr
	}
	defer closeAll(files)
	class := o.header.Get("x-oss-storage-class")
	if r.Method == http.MethodGet && isArchive(class) {
		return errInvalidObjectState.with("Key", t.key).with("StorageClass", class)
	}
	h := w.Header()
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && strings.Trim(m, `"`) != strings.Trim(o.etag, `"`) {
		return newErr(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.").with("Condition", "If-Match")
	}
	if m := r.Header.Get("If-None-Match"); m != "" && (m == "*" || strings.Trim(m, `"`) == strings.Trim(o.etag, `"`)) {
		h.Set("ETag", o.etag)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	for k, v := range o.header {
		h[k] = v
	}
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
	h.Set("x-oss-object-type", o.typ)
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(o.crc, 10))
	h.Set("Accept-Ranges", "bytes")
	if o.md5 != "" {
		h.Set("Content-MD5", o.md5)
	}
	start, end, status := int64(0), o.size-1, http.StatusOK
	if rh := r.Header.Get("Range"); rh != "" {
		a, b, ok, sat := parseRange(rh, o.size)
		standard := strings.EqualFold(r.Header.Get("x-oss-range-behavior"), "standard")
		switch {
		case ok && sat:
			start, end, status = a, b, http.StatusPartialContent
			h.Set("Content-Range", "bytes "+strconv.FormatInt(a, 10)+"-"+strconv.FormatInt(b, 10)+"/"+strconv.FormatInt(o.size, 10))
		case ok && standard:
			for k := range h {
				if k != "X-Oss-Request-Id" && k != "Server" && k != "Date" {
					h.Del(k)
				}
			}
			return errInvalidRange.with("RangeRequested", rh).with("ActualObjectSize", strconv.FormatInt(o.size, 10))
		}
		// Like OSS by default, an invalid or unsatisfiable range returns the whole object.
	}
	n := end - start + 1
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	_, _ = io.CopyBuffer(w, rangeReader(files, o, start, n), make([]byte, 256<<10))
	return nil
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, t target) *apiError {
	s.mu.Lock()
	b := s.buckets[t.bucket]
	if b == nil {
		s.mu.Unlock()
		return errNoSuchBucket
	}
	old := b.objects[t.key]
	delete(b.objects, t.key)
	s.mu.Unlock()
	if old != nil {
		removeFiles(old.paths())
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName      xml.Name `xml:"DeleteResult"`
	EncodingType string   `xml:"EncodingType,omitempty"`
	Deleted      []struct {
		Key string `xml:"Key"`
	} `xml:"Deleted"`
}

func (s *Server) deleteMultiple(w http.ResponseWriter, r *http.Request, t target) *apiError {
	body, err := io.ReadAll(io.LimitReader(r.Body, 2<<20))
	if err != nil {
		return errIncompleteBody
	}
	if want := r.Header.Get("Content-MD5"); want != "" {
		sum := md5.Sum(body)
		if want != base64.StdEncoding.EncodeToString(sum[:]) {
			return errInvalidDigest.with("Content-MD5", want)
		}
	}
	var req deleteRequest
	if err := xml.Unmarshal(body, &req); err != nil || len(req.Objects) == 0 || len(req.Objects) > MaxDeleteKeys {
		return errMalformedXML
	}
	enc := r.URL.Query().Get("encoding-type") == "url"
	res := deleteResult{}
	if enc {
		res.EncodingType = "url"
	}
	var removed []string
	s.mu.Lock()
	b := s.buckets[t.bucket]
	if b == nil {
		s.mu.Unlock()
		return errNoSuchBucket
	}
	for _, o := range req.Objects {
		if old := b.objects[o.Key]; old != nil {
			removed = append(removed, old.paths()...)
			delete(b.objects, o.Key)
		}
		if !req.Quiet {
			k := o.Key
			if enc {
				k = urlEncode(k)
			}
			res.Deleted = append(res.Deleted, struct {
				Key string `xml:"Key"`
			}{k})
		}
	}
	s.mu.Unlock()
	removeFiles(removed)
	return writeXML(w, http.StatusOK, res)
}

// urlEncode is OSS's encoding-type=url encoding of keys and prefixes.
func urlEncode(s string) string {
	return v4Escape(s)
}

func writeXML(w http.ResponseWriter, status int, v any) *apiError {
	out, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		return errInternal
	}
	body := append([]byte(xml.Header), out...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}

// ---- bucket-level reads ----

type owner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

var emulatorOwner = owner{ID: "1000000000000000", DisplayName: "1000000000000000"}

// putBucket creates the bucket with the storage class of the optional
// <CreateBucketConfiguration><StorageClass> body (Standard without one).
func (s *Server) putBucket(w http.ResponseWriter, r *http.Request, t target) *apiError {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return errIncompleteBody
	}
	class := "Standard"
	if len(strings.TrimSpace(string(body))) > 0 {
		var cfg struct {
			XMLName      xml.Name `xml:"CreateBucketConfiguration"`
			StorageClass string   `xml:"StorageClass"`
		}
		if err := xml.Unmarshal(body, &cfg); err != nil {
			return errMalformedXML
		}
		if v := cfg.StorageClass; v != "" {
			c, ok := storageClasses[strings.ToLower(v)]
			if !ok {
				return invalidArgument("Invalid storage class.", "StorageClass", v)
			}
			class = c
		}
	}
	if err := s.createBucket(t.bucket, class); err != nil {
		return errInvalidBucketName
	}
	w.Header().Set("Location", "/"+t.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) listBuckets(w http.ResponseWriter, r *http.Request, t target) *apiError {
	type bkt struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		Location     string `xml:"Location"`
		Region       string `xml:"Region"`
		StorageClass string `xml:"StorageClass"`
	}
	type result struct {
		XMLName xml.Name `xml:"ListAllMyBucketsResult"`
		Owner   owner    `xml:"Owner"`
		Buckets []bkt    `xml:"Buckets>Bucket"`
	}
	res := result{Owner: emulatorOwner}
	s.mu.Lock()
	for _, b := range s.buckets {
		res.Buckets = append(res.Buckets, bkt{b.name, isoTime(b.created), "oss-" + s.region(), s.region(), b.class})
	}
	s.mu.Unlock()
	sortBy(res.Buckets, func(b bkt) string { return b.Name })
	return writeXML(w, http.StatusOK, res)
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) bucketCreated(name string) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[name]; b != nil {
		return b.created, true
	}
	return time.Time{}, false
}

func (s *Server) getBucketInfo(w http.ResponseWriter, r *http.Request, t target) *apiError {
	created, ok := s.bucketCreated(t.bucket)
	if !ok {
		return errNoSuchBucket
	}
	class := s.bucketClass(t.bucket)
	type info struct {
		XMLName        xml.Name `xml:"BucketInfo"`
		Name           string   `xml:"Bucket>Name"`
		AccessMonitor  string   `xml:"Bucket>AccessMonitor"`
		Location       string   `xml:"Bucket>Location"`
		CreationDate   string   `xml:"Bucket>CreationDate"`
		Extranet       string   `xml:"Bucket>ExtranetEndpoint"`
		Intranet       string   `xml:"Bucket>IntranetEndpoint"`
		ACL            string   `xml:"Bucket>AccessControlList>Grant"`
		Redundancy     string   `xml:"Bucket>DataRedundancyType"`
		Owner          owner    `xml:"Bucket>Owner"`
		StorageClass   string   `xml:"Bucket>StorageClass"`
		SSEAlgorithm   string   `xml:"Bucket>ServerSideEncryptionRule>SSEAlgorithm"`
		Versioning     string   `xml:"Bucket>Versioning,omitempty"`
		Acceleration   string   `xml:"Bucket>TransferAcceleration"`
		CrossRegionRep string   `xml:"Bucket>CrossRegionReplication"`
	}
	reg := s.region()
	return writeXML(w, http.StatusOK, info{
		Name: t.bucket, AccessMonitor: "Disabled", Location: "oss-" + reg, CreationDate: isoTime(created),
		Extranet: "oss-" + reg + ".aliyuncs.com", Intranet: "oss-" + reg + "-internal.aliyuncs.com",
		ACL: "private", Redundancy: "LRS", Owner: emulatorOwner, StorageClass: class,
		SSEAlgorithm: "None", Acceleration: "Disabled", CrossRegionRep: "Disabled",
	})
}

func (s *Server) getBucketLocation(w http.ResponseWriter, r *http.Request, t target) *apiError {
	if !s.bucketExists(t.bucket) {
		return errNoSuchBucket
	}
	type loc struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		Value   string   `xml:",chardata"`
	}
	return writeXML(w, http.StatusOK, loc{Value: "oss-" + s.region()})
}

func (s *Server) getBucketACL(w http.ResponseWriter, r *http.Request, t target) *apiError {
	if !s.bucketExists(t.bucket) {
		return errNoSuchBucket
	}
	type acl struct {
		XMLName xml.Name `xml:"AccessControlPolicy"`
		Owner   owner    `xml:"Owner"`
		Grant   string   `xml:"AccessControlList>Grant"`
	}
	return writeXML(w, http.StatusOK, acl{Owner: emulatorOwner, Grant: "private"})
}
