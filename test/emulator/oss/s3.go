package oss

import (
	"encoding/xml"
	"maps"
	"net/http"
	"strings"
)

// OSS serves the S3 protocol on its normal endpoints, over the same buckets
// and objects: a request signed with AWS Signature V4 (see s3sign.go) is
// routed here; the operations are the OSS ones, with S3's header names
// (x-amz-meta-*, x-amz-storage-class, x-amz-server-side-encryption) mapped
// onto OSS's on the way in and back on the way out. Sources: "Compatibility
// with Amazon S3" (the supported operations) and "Use Amazon S3 SDKs to
// access OSS" in the OSS developer reference; test/emulator/README.md ("S3
// protocol") lists what is modelled and how.

// s3SubResources are the S3 sub-resources the emulator does not implement;
// requests naming one get NotImplemented instead of acting as a plain
// GET/PUT/DELETE.
var s3SubResources = map[string]bool{
	"acl": true, "tagging": true, "versions": true, "versioning": true, "versionId": true,
	"lifecycle": true, "logging": true, "policy": true, "policyStatus": true, "cors": true,
	"website": true, "replication": true, "encryption": true, "object-lock": true,
	"retention": true, "legal-hold": true, "torrent": true, "restore": true, "select": true,
	"attributes": true, "notification": true, "accelerate": true, "requestPayment": true,
	"analytics": true, "inventory": true, "metrics": true, "intelligent-tiering": true,
	"ownershipControls": true, "publicAccessBlock": true, "renameObject": true,
}

func hasS3Subresource(q map[string][]string) bool {
	for k := range q {
		if s3SubResources[k] {
			return true
		}
	}
	return false
}

// s3RAMActions names, for the S3 operations OSS has no API of its own for,
// the OSS operation whose RAM action authorizes them.
var s3RAMActions = map[string]string{"HeadBucket": "GetBucketInfo"}

// ramOperation is the OSS operation whose RAM action authorizes op.
func ramOperation(op string) string {
	if alias, ok := s3RAMActions[op]; ok {
		return alias
	}
	return op
}

// routeS3 picks the operation of an S3 request.
func (s *Server) routeS3(r *http.Request, t target) (string, handler) {
	q := r.URL.Query()
	notImpl := func(http.ResponseWriter, *http.Request, target) *apiError { return errNotImplemented }
	notAllowed := func(http.ResponseWriter, *http.Request, target) *apiError { return errMethodNotAllowed }
	if hasS3Subresource(q) {
		return "Unsupported", notImpl
	}
	copySource := r.Header.Get("x-amz-copy-source") != ""
	switch {
	case t.bucket == "":
		if r.Method == http.MethodGet {
			return "ListBuckets", s.s3(s.listBuckets)
		}
		return "Unsupported", notAllowed
	case t.key == "":
		switch r.Method {
		case http.MethodGet:
			switch {
			case q.Has("location"):
				return "GetBucketLocation", s.s3GetBucketLocation
			case q.Has("uploads"):
				return "ListMultipartUploads", s.s3(s.listUploads)
			case q.Get("list-type") == "2":
				return "ListObjectsV2", s.s3(s.listObjects)
			}
			return "ListObjects", s.s3(s.listObjects)
		case http.MethodHead:
			return "HeadBucket", s.s3HeadBucket
		case http.MethodPut:
			return "PutBucket", s.s3(s.putBucket)
		case http.MethodPost:
			if q.Has("delete") {
				return "DeleteMultipleObjects", s.s3DeleteObjects
			}
		}
		return "Unsupported", notImpl
	}
	switch r.Method {
	case http.MethodPut:
		switch {
		case copySource:
			// CopyObject and UploadPartCopy: not used by the clients the
			// emulator serves (Velero's kopia, the plugin).
			return "Unsupported", notImpl
		case q.Has("uploadId") || q.Has("partNumber"):
			return "UploadPart", s.s3(s.uploadPart)
		}
		return "PutObject", s.s3(s.putObject)
	case http.MethodGet:
		if q.Has("uploadId") {
			return "ListParts", s.s3(s.listParts)
		}
		return "GetObject", s.s3(s.getObject)
	case http.MethodHead:
		return "HeadObject", s.s3(s.getObject)
	case http.MethodPost:
		switch {
		case q.Has("uploads"):
			return "InitiateMultipartUpload", s.s3(s.initiateUpload)
		case q.Has("uploadId"):
			return "CompleteMultipartUpload", s.s3(s.completeUpload)
		}
	case http.MethodDelete:
		if q.Has("uploadId") {
			return "AbortMultipartUpload", s.s3(s.abortUpload)
		}
		return "DeleteObject", s.s3(s.deleteObject)
	}
	return "Unsupported", notImpl
}

// s3 adapts an OSS operation to the S3 protocol: request headers in S3
// names become OSS's before it runs, and its response headers get their S3
// names.
func (s *Server) s3(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, t target) *apiError {
		if aerr := s3RequestHeaders(r.Header); aerr != nil {
			return aerr
		}
		if r.Method == http.MethodGet {
			// S3 answers a range past the end with 416 InvalidRange, which
			// is OSS's behaviour under x-oss-range-behavior: standard.
			r.Header.Set("x-oss-range-behavior", "standard")
		}
		return h(&s3Writer{ResponseWriter: w}, r, t)
	}
}

// S3 storage classes as OSS maps them onto its own.
var s3StorageClasses = map[string]string{
	"STANDARD": "Standard", "STANDARD_IA": "IA", "GLACIER": "Archive", "DEEP_ARCHIVE": "ColdArchive",
}

var ossStorageClassesS3 = map[string]string{
	"Standard": "STANDARD", "IA": "STANDARD_IA", "Archive": "GLACIER", "ColdArchive": "DEEP_ARCHIVE",
}

// s3RequestHeaders renames the S3 request headers the OSS operations read.
func s3RequestHeaders(h http.Header) *apiError {
	for k, v := range h {
		if rest, ok := strings.CutPrefix(k, "X-Amz-Meta-"); ok {
			delete(h, k)
			h[http.CanonicalHeaderKey("X-Oss-Meta-"+rest)] = v
		}
	}
	if v := h.Get("x-amz-storage-class"); v != "" {
		c, ok := s3StorageClasses[v]
		if !ok {
			return newErr(400, "InvalidStorageClass", "The storage class you specified is not valid.").
				with("StorageClassRequested", v)
		}
		h.Set("x-oss-storage-class", c)
	}
	switch v := h.Get("x-amz-server-side-encryption"); v {
	case "":
	case "AES256":
		h.Set("x-oss-server-side-encryption", "AES256")
	case "aws:kms":
		h.Set("x-oss-server-side-encryption", "KMS")
	default:
		return invalidArgument("x-amz-server-side-encryption must be AES256 or aws:kms.", "x-amz-server-side-encryption", v)
	}
	if v := h.Get("x-amz-server-side-encryption-aws-kms-key-id"); v != "" {
		h.Set("x-oss-server-side-encryption-key-id", v)
	}
	return nil
}

// s3Writer gives the response headers of an OSS operation their S3 names
// when the status is written.
type s3Writer struct {
	http.ResponseWriter
	wrote bool
}

func (w *s3Writer) WriteHeader(status int) {
	if !w.wrote {
		w.wrote = true
		s3ResponseHeaders(w.Header())
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *s3Writer) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func s3ResponseHeaders(h http.Header) {
	for k, v := range maps.Clone(h) {
		if rest, ok := strings.CutPrefix(k, "X-Oss-Meta-"); ok {
			delete(h, k)
			h[http.CanonicalHeaderKey("X-Amz-Meta-"+rest)] = v
		}
	}
	if c := ossStorageClassesS3[h.Get("x-oss-storage-class")]; c != "" && c != "STANDARD" {
		// S3 leaves the header out for STANDARD objects.
		h.Set("x-amz-storage-class", c)
	}
	switch h.Get("x-oss-server-side-encryption") {
	case "AES256":
		h.Set("x-amz-server-side-encryption", "AES256")
	case "KMS":
		h.Set("x-amz-server-side-encryption", "aws:kms")
		if id := h.Get("x-oss-server-side-encryption-key-id"); id != "" {
			h.Set("x-amz-server-side-encryption-aws-kms-key-id", id)
		}
	}
}

// s3Namespace is the XML namespace of S3 response documents.
const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3GetBucketLocation answers in S3's shape; the value is the bucket's OSS
// location (oss-<region>), as the OSS API reports it.
func (s *Server) s3GetBucketLocation(w http.ResponseWriter, r *http.Request, t target) *apiError {
	if !s.bucketExists(t.bucket) {
		return errNoSuchBucket
	}
	type loc struct {
		XMLName xml.Name `xml:"LocationConstraint"`
		XMLNS   string   `xml:"xmlns,attr"`
		Value   string   `xml:",chardata"`
	}
	return writeXML(w, http.StatusOK, loc{XMLNS: s3Namespace, Value: "oss-" + s.region()})
}

// s3HeadBucket answers 200 with the bucket's region in x-amz-bucket-region
// (what S3 clients read to find a bucket's region), or the error status
// without a body.
func (s *Server) s3HeadBucket(w http.ResponseWriter, r *http.Request, t target) *apiError {
	if !s.bucketExists(t.bucket) {
		return errNoSuchBucket
	}
	w.Header().Set("x-amz-bucket-region", s.region())
	w.WriteHeader(http.StatusOK)
	return nil
}

// s3DeleteObjects is DeleteObjects, which S3 refuses without an integrity
// header on its body; the body was checked against it in s3Body.
func (s *Server) s3DeleteObjects(w http.ResponseWriter, r *http.Request, t target) *apiError {
	hasChecksum := r.Header.Get("Content-MD5") != ""
	for _, k := range s3ChecksumHeaders {
		hasChecksum = hasChecksum || r.Header.Get(k) != ""
	}
	if !hasChecksum {
		return newErr(400, "InvalidRequest", "Missing required header for this request: Content-MD5 (or an x-amz-checksum-* header).")
	}
	return s.s3(s.deleteMultiple)(w, r, t)
}

// countS3Payload counts verified S3 requests by how their payload was
// signed: "UNSIGNED-PAYLOAD", "sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
// or "presigned".
func (s *Server) countS3Payload(mode string) {
	s.mu.Lock()
	s.s3Payloads[mode]++
	s.mu.Unlock()
}

// S3Payloads returns how many authenticated S3 requests signed their payload
// each way: "UNSIGNED-PAYLOAD", "sha256" (a hex SHA-256 of the body),
// "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" (aws-chunked with chunk signatures)
// or "presigned" (a SigV4 presigned URL).
func (s *Server) S3Payloads() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.s3Payloads)
}
