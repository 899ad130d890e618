// Package ram evaluates Alibaba Cloud RAM policies for the emulators, so a
// test can run the plugin under exactly the policy a user would attach to its
// RAM user or role and see the services' refusals for anything it lacks.
//
// The supported grammar is the one of the RAM policy reference ("Policy
// structure and syntax"): "Version": "1" and a Statement list whose entries
// have Effect (Allow | Deny), Action or NotAction, Resource or NotResource,
// each a string or a list of strings. Condition is refused (the emulators
// have no request context to evaluate it against), as is any other element.
//
// Evaluation follows RAM: an explicit Deny wins, otherwise the request needs
// an Allow; without one it is implicitly denied. A request that touches
// several resources (CreateDisk from a snapshot, say) needs every one of
// them allowed. Action names match case-insensitively, resources
// case-sensitively; both take the wildcards * (any run of characters, ':'
// and '/' included) and ? (one character).
package ram

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// AccountID is the Alibaba Cloud account the emulators' resources belong to;
// it is the <account> field of every ARN they authorize.
const AccountID = "1234567890123456"

// Policy is a parsed RAM policy document.
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a policy.
type Statement struct {
	Effect      string  `json:"Effect"`
	Action      Strings `json:"Action,omitempty"`
	NotAction   Strings `json:"NotAction,omitempty"`
	Resource    Strings `json:"Resource,omitempty"`
	NotResource Strings `json:"NotResource,omitempty"`
}

// Strings is a policy value that may be written as one string or a list.
type Strings []string

// UnmarshalJSON accepts "x" as well as ["x", "y"].
func (s *Strings) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = Strings{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %s", b)
	}
	*s = many
	return nil
}

// Parse reads and checks a policy document.
func Parse(data []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("ram policy: %w", err)
	}
	if p.Version != "1" {
		return nil, fmt.Errorf("ram policy: Version %q: RAM policies have Version \"1\"", p.Version)
	}
	if len(p.Statement) == 0 {
		return nil, errors.New("ram policy: no Statement")
	}
	for i, st := range p.Statement {
		where := fmt.Sprintf("ram policy: Statement[%d]", i)
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return nil, fmt.Errorf("%s: Effect %q: want Allow or Deny", where, st.Effect)
		}
		if (len(st.Action) == 0) == (len(st.NotAction) == 0) {
			return nil, fmt.Errorf("%s: give exactly one of Action and NotAction", where)
		}
		if (len(st.Resource) == 0) == (len(st.NotResource) == 0) {
			return nil, fmt.Errorf("%s: give exactly one of Resource and NotResource", where)
		}
		for _, a := range append(append([]string(nil), st.Action...), st.NotAction...) {
			if a != "*" && !strings.Contains(a, ":") {
				return nil, fmt.Errorf("%s: action %q: want <service>:<Action>, e.g. ecs:CreateSnapshot", where, a)
			}
		}
	}
	return &p, nil
}

// Load parses the policy document in file.
func Load(file string) (*Policy, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return p, nil
}

// Decision is the outcome of evaluating a request.
type Decision int

const (
	// ImplicitDeny: no statement allows the request.
	ImplicitDeny Decision = iota
	// Allow: every resource is allowed and none denied.
	Allow
	// ExplicitDeny: a Deny statement matches.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "ImplicitDeny"
}

// Evaluate decides whether action (e.g. "oss:PutObject") is allowed on every
// one of resources (ARNs). A nil policy allows everything: an emulator
// without a policy acts as the account owner.
func (p *Policy) Evaluate(action string, resources ...string) Decision {
	if p == nil {
		return Allow
	}
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	allowedAll := true
	for _, res := range resources {
		allowed := false
		for _, st := range p.Statement {
			if !st.matches(action, res) {
				continue
			}
			if st.Effect == "Deny" {
				return ExplicitDeny
			}
			allowed = true
		}
		allowedAll = allowedAll && allowed
	}
	if allowedAll {
		return Allow
	}
	return ImplicitDeny
}

// Allowed reports whether Evaluate says Allow.
func (p *Policy) Allowed(action string, resources ...string) bool {
	return p.Evaluate(action, resources...) == Allow
}

// Actions returns every Action of the policy's Allow statements, as written.
func (p *Policy) Actions() []string {
	var out []string
	for _, st := range p.Statement {
		if st.Effect == "Allow" {
			out = append(out, st.Action...)
		}
	}
	return out
}

func (st Statement) matches(action, resource string) bool {
	if len(st.Action) > 0 {
		if !anyMatch(st.Action, action, true) {
			return false
		}
	} else if anyMatch(st.NotAction, action, true) {
		return false
	}
	if len(st.Resource) > 0 {
		return anyMatch(st.Resource, resource, false)
	}
	return !anyMatch(st.NotResource, resource, false)
}

func anyMatch(patterns []string, s string, fold bool) bool {
	for _, p := range patterns {
		if fold {
			if Match(strings.ToLower(p), strings.ToLower(s)) {
				return true
			}
		} else if Match(p, s) {
			return true
		}
	}
	return false
}

// Match reports whether s matches pattern, in which * stands for any run of
// characters and ? for exactly one.
func Match(pattern, s string) bool {
	// Iterative glob match with backtracking to the last star.
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// OSSResource is the ARN of a bucket (key == "") or an object, as OSS
// authorizes it: acs:oss:<region>:<account>:<bucket>[/<key>]. bucket == ""
// is the account's bucket list (ListBuckets): acs:oss:<region>:<account>:*.
func OSSResource(region, bucket, key string) string {
	arn := "acs:oss:" + region + ":" + AccountID + ":"
	switch {
	case bucket == "":
		return arn + "*"
	case key == "":
		return arn + bucket
	}
	return arn + bucket + "/" + key
}

// ECSResource is the ARN of an ECS resource: acs:ecs:<region>:<account>:<type>/<id>
// (type "disk", "snapshot", ...; id "*" for one the request creates).
func ECSResource(region, typ, id string) string {
	return "acs:ecs:" + region + ":" + AccountID + ":" + typ + "/" + id
}

// ECSAnyResource is what an ECS action without resource-level authorization
// (the Describe* calls, DescribeRegions) is checked against: only a Resource
// of "*" (or acs:ecs:*:*:*) covers it, not a typed one like snapshot/*.
func ECSAnyResource(region string) string {
	return "acs:ecs:" + region + ":" + AccountID + ":*"
}

// OSSActions maps each OSS API operation to the RAM action that authorizes
// it. The keys are the operation names of the OSS API reference, which are
// also the emulator's operation names (oss.Server.Operations) and, but for
// the aliases noted, the aliyun-oss-go-sdk Bucket method names.
//
// Source: the OSS RAM action reference ("RAM policy" / "OSS Action
// classification", help.aliyun.com/zh/oss/user-guide/ram-policy-overview and
// the authorization table of each API page): multipart initiation, parts and
// completion are authorized as oss:PutObject; HEAD and GetObjectMeta as
// oss:GetObject; ListObjects (v1 and v2) as oss:ListObjects;
// AbortMultipartUpload and ListMultipartUploads and ListParts have actions
// of their own. A signed URL is authorized at use, as the operation its
// method names (GET: oss:GetObject).
var OSSActions = map[string]string{
	"ListBuckets":             "oss:ListBuckets",
	"PutBucket":               "oss:PutBucket",
	"GetBucketInfo":           "oss:GetBucketInfo",
	"GetBucketLocation":       "oss:GetBucketLocation",
	"GetBucketAcl":            "oss:GetBucketAcl",
	"ListObjects":             "oss:ListObjects",
	"ListObjectsV2":           "oss:ListObjects",
	"ListMultipartUploads":    "oss:ListMultipartUploads",
	"DeleteMultipleObjects":   "oss:DeleteObject",
	"PutObject":               "oss:PutObject",
	"GetObject":               "oss:GetObject",
	"HeadObject":              "oss:GetObject",
	"GetObjectMeta":           "oss:GetObject",
	"DeleteObject":            "oss:DeleteObject",
	"InitiateMultipartUpload": "oss:PutObject",
	"UploadPart":              "oss:PutObject",
	"CompleteMultipartUpload": "oss:PutObject",
	"AbortMultipartUpload":    "oss:AbortMultipartUpload",
	"ListParts":               "oss:ListParts",
}

// OSSBucketLevel reports whether an OSS RAM action is authorized on the
// bucket ARN (acs:oss:*:*:<bucket>) rather than on object ARNs
// (acs:oss:*:*:<bucket>/<key>).
func OSSBucketLevel(action string) bool {
	switch action {
	case "oss:ListObjects", "oss:ListMultipartUploads", "oss:PutBucket", "oss:GetBucketInfo",
		"oss:GetBucketLocation", "oss:GetBucketAcl", "oss:ListBuckets":
		return true
	}
	return false
}
