package oss

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/internal/emu"
)

// upload is an in-progress multipart upload.
type upload struct {
	id        string
	key       string
	initiated time.Time
	header    http.Header
	parts     map[int]*part
}

type part struct {
	number   int
	size     int64
	etag     string // quoted
	md5      []byte
	crc      uint64
	path     string
	modified time.Time
}

// UploadInfo describes an in-progress multipart upload.
type UploadInfo struct {
	Key, UploadID string
	Parts         int
	Initiated     time.Time
}

// Uploads lists the in-progress multipart uploads of bucket, by key.
func (s *Server) Uploads(bucketName string) []UploadInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil
	}
	var out []UploadInfo
	for _, u := range b.uploads {
		out = append(out, UploadInfo{u.key, u.id, len(u.parts), u.initiated})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].UploadID < out[j].UploadID
	})
	return out
}

func (s *Server) initiateUpload(w http.ResponseWriter, r *http.Request, t target) *apiError {
	hdr, aerr := storedHeaders(r.Header, s.bucketClass(t.bucket))
	if aerr != nil {
		return aerr
	}
	u := &upload{id: emu.Hex(16), key: t.key, initiated: s.now(), header: hdr, parts: map[int]*part{}}
	s.mu.Lock()
	b := s.buckets[t.bucket]
	if b == nil {
		s.mu.Unlock()
		return errNoSuchBucket
	}
	b.uploads[u.id] = u
	s.mu.Unlock()
	if err := os.MkdirAll(filepath.Join(s.partDir, u.id), 0o755); err != nil {
		return errInternal
	}
	type result struct {
		XMLName      xml.Name `xml:"InitiateMultipartUploadResult"`
		Bucket       string   `xml:"Bucket"`
		Key          string   `xml:"Key"`
		UploadID     string   `xml:"UploadId"`
		EncodingType string   `xml:"EncodingType,omitempty"`
	}
	res := result{Bucket: t.bucket, Key: t.key, UploadID: u.id}
	if r.URL.Query().Get("encoding-type") == "url" {
		res.Key, res.EncodingType = urlEncode(t.key), "url"
	}
	echoSSE(w.Header(), hdr)
	return writeXML(w, http.StatusOK, res)
}

// lookupUpload returns the upload with id for key.
func (s *Server) lookupUpload(bucketName, key, id string) (*upload, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, u, aerr := s.uploadLocked(bucketName, key, id)
	return u, aerr
}

// uploadLocked returns the bucket and its upload with id for key; the caller
// holds s.mu.
func (s *Server) uploadLocked(bucketName, key, id string) (*bucket, *upload, *apiError) {
	b := s.buckets[bucketName]
	if b == nil {
		return nil, nil, errNoSuchBucket
	}
	u := b.uploads[id]
	if u == nil || u.key != key {
		return nil, nil, errNoSuchUpload.with("UploadId", id)
	}
	return b, u, nil
}

func (s *Server) uploadPart(w http.ResponseWriter, r *http.Request, t target) *apiError {
	q := r.URL.Query()
	id := q.Get("uploadId")
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > MaxPartNumber {
		return invalidArgument("Part number must be an integer between 1 and 10000, inclusive.", "partNumber", q.Get("partNumber"))
	}
	u, aerr := s.lookupUpload(t.bucket, t.key, id)
	if aerr != nil {
		return aerr
	}
	rc, aerr := receive(r, filepath.Join(s.partDir, u.id), MaxObjectSize)
	if aerr != nil {
		return aerr
	}
	p := &part{number: n, size: rc.size, etag: quotedETag(rc.md5), md5: rc.md5, crc: rc.crc, path: rc.path, modified: s.now()}
	s.mu.Lock()
	b := s.buckets[t.bucket]
	if b == nil || b.uploads[id] != u {
		s.mu.Unlock()
		_ = os.Remove(rc.path)
		return errNoSuchUpload.with("UploadId", id)
	}
	old := u.parts[n]
	u.parts[n] = p
	s.mu.Unlock()
	if old != nil {
		_ = os.Remove(old.path)
	}
	h := w.Header()
	h.Set("ETag", p.etag)
	h.Set("Content-MD5", base64.StdEncoding.EncodeToString(p.md5))
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(p.crc, 10))
	echoSSE(h, u.header)
	w.WriteHeader(http.StatusOK)
	return nil
}

type completeRequest struct {
	XMLName xml.Name `xml:"CompleteMultipartUpload"`
	Parts   []struct {
		PartNumber int    `xml:"PartNumber"`
		ETag       string `xml:"ETag"`
	} `xml:"Part"`
}

func (s *Server) completeUpload(w http.ResponseWriter, r *http.Request, t target) *apiError {
	q := r.URL.Query()
	id := q.Get("uploadId")
	completeAll := strings.EqualFold(r.Header.Get("x-oss-complete-all"), "yes")
	var req completeRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil {
		return errIncompleteBody
	}
	if !completeAll {
		if err := xml.Unmarshal(body, &req); err != nil || len(req.Parts) == 0 {
			return errMalformedXML
		}
	}
	forbid := strings.EqualFold(r.Header.Get("x-oss-forbid-overwrite"), "true")

	s.mu.Lock()
	b, u, aerr := s.uploadLocked(t.bucket, t.key, id)
	if aerr != nil {
		s.mu.Unlock()
		return aerr
	}
	var chosen []*part
	if completeAll {
		for _, p := range u.parts {
			chosen = append(chosen, p)
		}
		sort.Slice(chosen, func(i, j int) bool { return chosen[i].number < chosen[j].number })
	} else {
		for i, rp := range req.Parts {
			if i > 0 && rp.PartNumber <= req.Parts[i-1].PartNumber {
				s.mu.Unlock()
				return errInvalidPartOrder
			}
			p := u.parts[rp.PartNumber]
			if p == nil || !strings.EqualFold(strings.Trim(rp.ETag, `" `), strings.Trim(p.etag, `"`)) {
				s.mu.Unlock()
				return errInvalidPart.with("PartNumber", strconv.Itoa(rp.PartNumber)).with("ETag", rp.ETag)
			}
			chosen = append(chosen, p)
		}
	}
	if len(chosen) == 0 {
		s.mu.Unlock()
		return errInvalidPart
	}
	for i, p := range chosen[:len(chosen)-1] {
		if p.size < MinPartSize {
			s.mu.Unlock()
			return errEntityTooSmall.with("PartNumber", strconv.Itoa(chosen[i].number)).
				with("MinSizeAllowed", strconv.Itoa(MinPartSize)).with("ProposedSize", strconv.FormatInt(p.size, 10))
		}
	}
	if forbid && b.objects[t.key] != nil {
		s.mu.Unlock()
		return errFileAlreadyExists
	}
	// The object takes over the chosen part files; the ETag is OSS's
	// multipart style: MD5 over the binary part MD5s, "-", part count.
	o := &object{key: t.key, typ: "Multipart", modified: s.now(), header: u.header}
	md := md5.New()
	inUse := map[int]bool{}
	for i, p := range chosen {
		md.Write(p.md5)
		if i == 0 {
			o.crc = p.crc
		} else {
			o.crc = crc64Combine(o.crc, p.crc, p.size)
		}
		o.size += p.size
		o.segments = append(o.segments, segment{p.path, p.size})
		inUse[p.number] = true
	}
	o.etag = `"` + strings.ToUpper(hex.EncodeToString(md.Sum(nil))) + "-" + strconv.Itoa(len(chosen)) + `"`
	var unused []string
	for n, p := range u.parts {
		if !inUse[n] {
			unused = append(unused, p.path)
		}
	}
	old := b.objects[t.key]
	b.objects[t.key] = o
	delete(b.uploads, id)
	s.mu.Unlock()
	removeFiles(unused)
	if old != nil {
		removeFiles(old.paths())
	}

	type result struct {
		XMLName      xml.Name `xml:"CompleteMultipartUploadResult"`
		EncodingType string   `xml:"EncodingType,omitempty"`
		Location     string   `xml:"Location"`
		Bucket       string   `xml:"Bucket"`
		Key          string   `xml:"Key"`
		ETag         string   `xml:"ETag"`
	}
	res := result{Location: "http://" + r.Host + "/" + t.bucket + "/" + t.key, Bucket: t.bucket, Key: t.key, ETag: o.etag}
	if q.Get("encoding-type") == "url" {
		res.Key, res.EncodingType = urlEncode(t.key), "url"
	}
	h := w.Header()
	h.Set("ETag", o.etag)
	h.Set("x-oss-hash-crc64ecma", strconv.FormatUint(o.crc, 10))
	echoSSE(h, o.header)
	return writeXML(w, http.StatusOK, res)
}

func (s *Server) abortUpload(w http.ResponseWriter, r *http.Request, t target) *apiError {
	id := r.URL.Query().Get("uploadId")
	s.mu.Lock()
	b, _, aerr := s.uploadLocked(t.bucket, t.key, id)
	if aerr != nil {
		s.mu.Unlock()
		return aerr
	}
	delete(b.uploads, id)
	s.mu.Unlock()
	_ = os.RemoveAll(filepath.Join(s.partDir, id))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listParts(w http.ResponseWriter, r *http.Request, t target) *apiError {
	q := r.URL.Query()
	id := q.Get("uploadId")
	max, aerr := maxKeys(q, "max-parts", 1000)
	if aerr != nil {
		return aerr
	}
	marker, _ := strconv.Atoi(q.Get("part-number-marker"))
	type xpart struct {
		PartNumber    int    `xml:"PartNumber"`
		LastModified  string `xml:"LastModified"`
		ETag          string `xml:"ETag"`
		HashCrc64ecma uint64 `xml:"HashCrc64ecma"`
		Size          int64  `xml:"Size"`
	}
	type result struct {
		XMLName              xml.Name `xml:"ListPartsResult"`
		EncodingType         string   `xml:"EncodingType,omitempty"`
		Bucket               string   `xml:"Bucket"`
		Key                  string   `xml:"Key"`
		UploadID             string   `xml:"UploadId"`
		PartNumberMarker     int      `xml:"PartNumberMarker"`
		NextPartNumberMarker int      `xml:"NextPartNumberMarker"`
		MaxParts             int      `xml:"MaxParts"`
		IsTruncated          bool     `xml:"IsTruncated"`
		Parts                []xpart  `xml:"Part"`
	}
	s.mu.Lock()
	_, u, aerr := s.uploadLocked(t.bucket, t.key, id)
	if aerr != nil {
		s.mu.Unlock()
		return aerr
	}
	var nums []int
	for n := range u.parts {
		if n > marker {
			nums = append(nums, n)
		}
	}
	sort.Ints(nums)
	res := result{Bucket: t.bucket, Key: t.key, UploadID: id, PartNumberMarker: marker, MaxParts: max}
	for _, n := range nums {
		if len(res.Parts) == max {
			res.IsTruncated = true
			break
		}
		p := u.parts[n]
		res.Parts = append(res.Parts, xpart{n, isoTime(p.modified), p.etag, p.crc, p.size})
		res.NextPartNumberMarker = n
	}
	s.mu.Unlock()
	if q.Get("encoding-type") == "url" {
		res.Key, res.EncodingType = urlEncode(t.key), "url"
	}
	return writeXML(w, http.StatusOK, res)
}

func (s *Server) listUploads(w http.ResponseWriter, r *http.Request, t target) *apiError {
	q := r.URL.Query()
	max, aerr := maxKeys(q, "max-uploads", 1000)
	if aerr != nil {
		return aerr
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	keyMarker, idMarker := q.Get("key-marker"), q.Get("upload-id-marker")
	enc := q.Get("encoding-type") == "url"
	encode := func(v string) string {
		if enc {
			return urlEncode(v)
		}
		return v
	}
	type xupload struct {
		Key       string `xml:"Key"`
		UploadID  string `xml:"UploadId"`
		Initiated string `xml:"Initiated"`
	}
	type result struct {
		XMLName            xml.Name       `xml:"ListMultipartUploadsResult"`
		EncodingType       string         `xml:"EncodingType,omitempty"`
		Bucket             string         `xml:"Bucket"`
		KeyMarker          string         `xml:"KeyMarker"`
		UploadIDMarker     string         `xml:"UploadIdMarker"`
		NextKeyMarker      string         `xml:"NextKeyMarker"`
		NextUploadIDMarker string         `xml:"NextUploadIdMarker"`
		Delimiter          string         `xml:"Delimiter"`
		Prefix             string         `xml:"Prefix"`
		MaxUploads         int            `xml:"MaxUploads"`
		IsTruncated        bool           `xml:"IsTruncated"`
		Uploads            []xupload      `xml:"Upload"`
		CommonPrefixes     []commonPrefix `xml:"CommonPrefixes"`
	}
	s.mu.Lock()
	b := s.buckets[t.bucket]
	if b == nil {
		s.mu.Unlock()
		return errNoSuchBucket
	}
	var ups []*upload
	for _, u := range b.uploads {
		if strings.HasPrefix(u.key, prefix) && (u.key > keyMarker || (u.key == keyMarker && idMarker != "" && u.id > idMarker)) {
			ups = append(ups, u)
		}
	}
	s.mu.Unlock()
	sort.Slice(ups, func(i, j int) bool {
		if ups[i].key != ups[j].key {
			return ups[i].key < ups[j].key
		}
		return ups[i].id < ups[j].id
	})
	res := result{Bucket: t.bucket, KeyMarker: encode(keyMarker), UploadIDMarker: idMarker, Delimiter: encode(delim),
		Prefix: encode(prefix), MaxUploads: max}
	if enc {
		res.EncodingType = "url"
	}
	lastCP := ""
	for _, u := range ups {
		cp := ""
		if delim != "" {
			if i := strings.Index(u.key[len(prefix):], delim); i >= 0 {
				cp = u.key[:len(prefix)+i+len(delim)]
			}
		}
		if cp != "" && cp == lastCP {
			continue
		}
		if len(res.Uploads)+len(res.CommonPrefixes) == max {
			res.IsTruncated = true
			break
		}
		if cp != "" {
			res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{encode(cp)})
			lastCP = cp
			res.NextKeyMarker, res.NextUploadIDMarker = encode(cp), ""
			continue
		}
		res.Uploads = append(res.Uploads, xupload{encode(u.key), u.id, isoTime(u.initiated)})
		res.NextKeyMarker, res.NextUploadIDMarker = encode(u.key), u.id
	}
	return writeXML(w, http.StatusOK, res)
}
