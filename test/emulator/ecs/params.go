package ecs

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// maxTags is the per-resource tag limit of ECS.
const maxTags = 20

type tag struct{ Key, Value string }

// intParam parses an optional integer; ok is false when it is absent.
func intParam(p url.Values, name string) (v int, ok bool, err *apiError) {
	s := p.Get(name)
	if s == "" {
		return 0, false, nil
	}
	n, convErr := strconv.Atoi(s)
	if convErr != nil {
		return 0, false, errInvalidParam(name)
	}
	return n, true, nil
}

// boolParam parses an optional boolean ("true"/"false").
func boolParam(p url.Values, name string) (bool, *apiError) {
	switch s := p.Get(name); s {
	case "":
		return false, nil
	default:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return false, errInvalidParam(name)
		}
		return b, nil
	}
}

// indexed returns the values of prefix.1, prefix.2, ... in order, as the SDK
// flattens repeated parameters.
func indexed(p url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := p[prefix+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// tags reads Tag.N.Key / Tag.N.Value. N may have gaps in what other clients
// send, so every index present is read.
func tags(p url.Values) []tag {
	idx := map[int]bool{}
	for k := range p {
		if rest, ok := strings.CutPrefix(k, "Tag."); ok {
			n, _, _ := strings.Cut(rest, ".")
			if i, err := strconv.Atoi(n); err == nil {
				idx[i] = true
			}
		}
	}
	ns := make([]int, 0, len(idx))
	for i := range idx {
		ns = append(ns, i)
	}
	sort.Ints(ns)
	out := make([]tag, 0, len(ns))
	for _, i := range ns {
		pre := "Tag." + strconv.Itoa(i)
		out = append(out, tag{Key: p.Get(pre + ".Key"), Value: p.Get(pre + ".Value")})
	}
	return out
}

// tagRules are the per-call tag restrictions of the API reference. Every
// call refuses keys that start with acs: or aliyun and keys or values that
// contain http:// or https://; the calls differ in which value prefixes they
// refuse.
type tagRules struct {
	valuePrefixes []string
}

var (
	// CreateDisk and CreateSnapshot: values may start with anything.
	createRules = tagRules{}
	// CopySnapshot: values "cannot start with acs: or aliyun".
	copyRules = tagRules{valuePrefixes: []string{"acs:", "aliyun"}}
	// TagResources: values "cannot start with acs:".
	tagResourcesRules = tagRules{valuePrefixes: []string{"acs:"}}
)

// newTags reads the tags a create call gives a new resource: validated, and
// at most maxTags of them.
func newTags(p url.Values, rules tagRules) (map[string]string, *apiError) {
	ts := tags(p)
	if err := validateTags(ts, rules); err != nil {
		return nil, err
	}
	return mergeTags(nil, ts)
}

// validateTags enforces the ECS tag rules: a non-empty key of at most 128
// characters without an acs:/aliyun prefix, values of at most 128
// characters, neither containing http:// or https://, no key twice.
func validateTags(ts []tag, rules tagRules) *apiError {
	seen := map[string]bool{}
	for _, t := range ts {
		k := strings.ToLower(t.Key)
		if t.Key == "" || len(t.Key) > 128 || hasPrefix(k, "acs:", "aliyun") || hasURL(k) {
			return errTagKey
		}
		v := strings.ToLower(t.Value)
		if len(t.Value) > 128 || hasURL(v) || hasPrefix(v, rules.valuePrefixes...) {
			return errTagValue
		}
		if seen[t.Key] {
			return errDuplicateTagKey
		}
		seen[t.Key] = true
	}
	return nil
}

func hasPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func hasURL(s string) bool { return strings.Contains(s, "http://") || strings.Contains(s, "https://") }

// mergeTags adds ts to m (nil m allowed) and enforces the 20-tag limit.
func mergeTags(m map[string]string, ts []tag) (map[string]string, *apiError) {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v
	}
	for _, t := range ts {
		out[t.Key] = t.Value
	}
	if len(out) > maxTags {
		return nil, errTagCount
	}
	return out, nil
}

// matchTags reports whether have carries every filter tag; a filter with an
// empty value matches on the key alone.
func matchTags(have map[string]string, filter []tag) bool {
	for _, f := range filter {
		v, ok := have[f.Key]
		if !ok || (f.Value != "" && v != f.Value) {
			return false
		}
	}
	return true
}

// jsonIDs parses a JSON array of IDs such as DiskIds=["d-1","d-2"].
func jsonIDs(p url.Values, name string) ([]string, bool, *apiError) {
	s := p.Get(name)
	if s == "" {
		return nil, false, nil
	}
	var ids []string
	if err := json.Unmarshal([]byte(s), &ids); err != nil || len(ids) > 100 {
		return nil, false, errMalformed(name)
	}
	return ids, true, nil
}

// name rules shared by disks and snapshots: 2..128 characters, starting with
// a letter, not with http:// or https://.
func validName(n string) bool {
	if len(n) < 2 || len(n) > 128 {
		return false
	}
	c := n[0]
	if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80) {
		return false
	}
	return !strings.HasPrefix(n, "http://") && !strings.HasPrefix(n, "https://")
}

// commonParams are not part of an operation's identity for ClientToken.
var commonParams = map[string]bool{
	"Action": true, "Version": true, "Format": true, "Timestamp": true, "SignatureNonce": true,
	"Signature": true, "SignatureMethod": true, "SignatureVersion": true, "AccessKeyId": true,
	"SecurityToken": true, "ClientToken": true,
}

// fingerprint identifies an operation's parameters, to detect a ClientToken
// reused with different parameters.
func fingerprint(p url.Values) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		if !commonParams[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k + "=" + strings.Join(p[k], ",") + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// paging is a validated page request in either of the two schemes ECS
// supports: PageNumber/PageSize or NextToken/MaxResults.
type paging struct {
	tokenMode    bool
	offset, size int
	pageNumber   int
}

func parsePaging(p url.Values, maxResultsMax int) (paging, *apiError) {
	var pg paging
	maxResults, hasMax, err := intParam(p, "MaxResults")
	if err != nil {
		return pg, err
	}
	token := p.Get("NextToken")
	if hasMax || token != "" {
		pg.tokenMode = true
		pg.size = 10
		if hasMax {
			if maxResults < 1 || maxResults > maxResultsMax {
				return pg, newErr(400, "InvalidParameter.MaxResults",
					"The specified parameter MaxResults is not valid. It must be from 1 to %d.", maxResultsMax)
			}
			pg.size = maxResults
		}
		if token != "" {
			off, convErr := strconv.Atoi(token)
			if convErr != nil || off < 0 {
				return pg, newErr(400, "InvalidParameter.NextToken", "The specified parameter NextToken is not valid.")
			}
			pg.offset = off
		}
		return pg, nil
	}
	pg.pageNumber = 1
	pg.size = 10
	if n, ok, err := intParam(p, "PageNumber"); err != nil {
		return pg, err
	} else if ok {
		if n < 1 {
			return pg, errInvalidParam("PageNumber")
		}
		pg.pageNumber = n
	}
	if n, ok, err := intParam(p, "PageSize"); err != nil {
		return pg, err
	} else if ok {
		if n < 1 || n > 100 {
			return pg, errInvalidParam("PageSize")
		}
		pg.size = n
	}
	pg.offset = (pg.pageNumber - 1) * pg.size
	return pg, nil
}

// window returns the [lo, hi) slice bounds of this page over total items and
// fills the paging fields of resp.
func (pg paging) window(total int, resp map[string]any) (int, int) {
	lo := min(pg.offset, total)
	hi := min(lo+pg.size, total)
	resp["TotalCount"] = total
	if pg.tokenMode {
		next := ""
		if hi < total {
			next = strconv.Itoa(hi)
		}
		resp["NextToken"] = next
		resp["MaxResults"] = pg.size
	} else {
		resp["PageNumber"] = pg.pageNumber
		resp["PageSize"] = pg.size
	}
	return lo, hi
}
