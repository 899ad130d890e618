package oss

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

func sortBy[T any](xs []T, key func(T) string) {
	sort.Slice(xs, func(i, j int) bool { return key(xs[i]) < key(xs[j]) })
}

type listEntry struct {
	XMLName      xml.Name `xml:"Contents"`
	Key          string   `xml:"Key"`
	LastModified string   `xml:"LastModified"`
	ETag         string   `xml:"ETag"`
	Type         string   `xml:"Type"`
	Size         int64    `xml:"Size"`
	StorageClass string   `xml:"StorageClass"`
	Owner        *owner   `xml:"Owner,omitempty"`
}

type commonPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listV1Result struct {
	XMLName        xml.Name       `xml:"ListBucketResult"`
	Name           string         `xml:"Name"`
	Prefix         string         `xml:"Prefix"`
	Marker         string         `xml:"Marker"`
	MaxKeys        int            `xml:"MaxKeys"`
	Delimiter      string         `xml:"Delimiter"`
	EncodingType   string         `xml:"EncodingType,omitempty"`
	IsTruncated    bool           `xml:"IsTruncated"`
	NextMarker     string         `xml:"NextMarker,omitempty"`
	Contents       []listEntry    `xml:"Contents"`
	CommonPrefixes []commonPrefix `xml:"CommonPrefixes"`
}

type listV2Result struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	Delimiter             string         `xml:"Delimiter"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              int            `xml:"KeyCount"`
	Contents              []listEntry    `xml:"Contents"`
	CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
}

// maxKeys parses a max-keys style parameter: default def, capped at MaxListKeys.
func maxKeys(q url.Values, name string, def int) (int, *apiError) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, invalidArgument("Argument "+name+" must be an integer between 0 and 1000.", name, v)
	}
	return min(n, MaxListKeys), nil
}

// page walks sorted keys after marker under prefix, folding keys that
// contain delimiter after the prefix into common prefixes. Each object or
// common prefix counts toward max. It returns the chosen keys, the common
// prefixes, whether more remain and the last item returned (the next marker).
func page(keys []string, prefix, delimiter, marker string, max int) (out, prefixes []string, truncated bool, next string) {
	cpOf := func(k string) string {
		if delimiter == "" || !strings.HasPrefix(k, prefix) {
			return ""
		}
		if i := strings.Index(k[len(prefix):], delimiter); i >= 0 {
			return k[:len(prefix)+i+len(delimiter)]
		}
		return ""
	}
	// A marker that is itself a common prefix resumes after everything in it.
	skip := cpOf(marker)
	i := sort.SearchStrings(keys, marker)
	for ; i < len(keys); i++ {
		k := keys[i]
		if k <= marker || !strings.HasPrefix(k, prefix) || (skip != "" && strings.HasPrefix(k, skip)) {
			continue
		}
		cp := cpOf(k)
		if cp != "" && len(prefixes) > 0 && prefixes[len(prefixes)-1] == cp {
			continue
		}
		if len(out)+len(prefixes) == max {
			return out, prefixes, true, next
		}
		if cp != "" {
			prefixes = append(prefixes, cp)
			next, skip = cp, cp
		} else {
			out = append(out, k)
			next = k
		}
	}
	return out, prefixes, false, next
}

// listObjects serves ListObjects (marker) and ListObjectsV2 (list-type=2,
// continuation-token, start-after).
func (s *Server) listObjects(w http.ResponseWriter, r *http.Request, t target) *apiError {
	q := r.URL.Query()
	v2 := q.Get("list-type") == "2"
	max, aerr := maxKeys(q, "max-keys", defaultListKeys)
	if aerr != nil {
		return aerr
	}
	enc := q.Get("encoding-type")
	if enc != "" && enc != "url" {
		return invalidArgument("encoding-type must be url.", "encoding-type", enc)
	}
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	marker := q.Get("marker")
	token := q.Get("continuation-token")
	if v2 {
		marker = q.Get("start-after")
		if token != "" {
			m, err := base64.RawURLEncoding.DecodeString(token)
			if err != nil {
				return invalidArgument("The continuation token provided is incorrect.", "continuation-token", token)
			}
			marker = string(m)
		}
	}

	s.mu.Lock()
	b := s.buckets[t.bucket]
	if b == nil {
		s.mu.Unlock()
		return errNoSuchBucket
	}
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	chosen, cps, truncated, next := page(keys, prefix, delim, marker, max)
	entries := make([]listEntry, 0, len(chosen))
	withOwner := !v2 || q.Get("fetch-owner") == "true"
	for _, k := range chosen {
		o := b.objects[k]
		e := listEntry{Key: k, LastModified: isoTime(o.modified), ETag: o.etag, Type: o.typ, Size: o.size,
			StorageClass: o.header.Get("x-oss-storage-class")}
		if withOwner {
			e.Owner = &emulatorOwner
		}
		entries = append(entries, e)
	}
	s.mu.Unlock()

	encode := func(v string) string {
		if enc == "url" {
			return urlEncode(v)
		}
		return v
	}
	for i := range entries {
		entries[i].Key = encode(entries[i].Key)
	}
	prefixes := make([]commonPrefix, len(cps))
	for i, cp := range cps {
		prefixes[i] = commonPrefix{encode(cp)}
	}
	if v2 {
		res := listV2Result{Name: t.bucket, Prefix: encode(prefix), StartAfter: encode(q.Get("start-after")),
			ContinuationToken: token, MaxKeys: max, Delimiter: encode(delim), EncodingType: enc,
			IsTruncated: truncated, KeyCount: len(entries) + len(prefixes), Contents: entries, CommonPrefixes: prefixes}
		if truncated {
			res.NextContinuationToken = base64.RawURLEncoding.EncodeToString([]byte(next))
		}
		return writeXML(w, http.StatusOK, res)
	}
	res := listV1Result{Name: t.bucket, Prefix: encode(prefix), Marker: encode(marker), MaxKeys: max,
		Delimiter: encode(delim), EncodingType: enc, IsTruncated: truncated, Contents: entries, CommonPrefixes: prefixes}
	if truncated {
		res.NextMarker = encode(next)
	}
	return writeXML(w, http.StatusOK, res)
}
