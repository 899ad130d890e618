package policy

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aliyun/aliyun-oss-go-sdk/oss"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"
)

const repoRoot = "../.."

// ossSDKOperation names the OSS API operation each aliyun-oss-go-sdk method
// the object store may call sends; ram.OSSActions (the one map of OSS
// operations to RAM actions, with its source) gives the action. Methods
// whose name is the operation's map to themselves. SignURL sends nothing:
// the URL is authorized when used, as the operation of its HTTP method
// (checked below to be oss.HTTPGet).
var ossSDKOperation = map[string]string{
	"PutObject":               "PutObject",
	"GetObject":               "GetObject",
	"DoGetObject":             "GetObject",
	"GetObjectDetailedMeta":   "HeadObject",
	"GetObjectMeta":           "GetObjectMeta",
	"IsObjectExist":           "GetObjectMeta",
	"DeleteObject":            "DeleteObject",
	"DeleteObjects":           "DeleteMultipleObjects",
	"ListObjects":             "ListObjects",
	"ListObjectsV2":           "ListObjectsV2",
	"InitiateMultipartUpload": "InitiateMultipartUpload",
	"UploadPart":              "UploadPart",
	"CompleteMultipartUpload": "CompleteMultipartUpload",
	"AbortMultipartUpload":    "AbortMultipartUpload",
	"ListMultipartUploads":    "ListMultipartUploads",
	"ListUploadedParts":       "ListParts",
	"GetBucketInfo":           "GetBucketInfo",
	"GetBucketLocation":       "GetBucketLocation",
	"ListBuckets":             "ListBuckets",
	"SignURL":                 "GetObject",
}

// ossNoRequest are SDK methods that build handles and send nothing.
var ossNoRequest = map[string]bool{"Bucket": true}

// ossCommonNames are SDK method names that other types share (sync.Once.Do,
// retry.Policy.Do): a call counts as the SDK's only with the SDK method's
// number of arguments (Bucket.Do(method, key, params, options, data,
// listener)).
var ossCommonNames = map[string]int{"Do": 6}

// parseDir parses the non-test Go files of dir (relative to the repo root).
func parseDir(t *testing.T, dir string) (*token.FileSet, []*ast.File) {
	t.Helper()
	fset := token.NewFileSet()
	paths, err := filepath.Glob(filepath.Join(repoRoot, dir, "*.go"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	return fset, files
}

// interfaceMethods returns the method names of the interface type name.
func interfaceMethods(t *testing.T, files []*ast.File, name string) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || ts.Name.Name != name {
				return true
			}
			for _, m := range ts.Type.(*ast.InterfaceType).Methods.List {
				for _, id := range m.Names {
					out = append(out, id.Name)
				}
			}
			return false
		})
	}
	if len(out) == 0 {
		t.Fatalf("interface %s not found", name)
	}
	sort.Strings(out)
	return out
}

// ecsActions derives the ECS actions from the VolumeSnapshotter: the action
// argument of every call(v, region, "Action", fn) site, which must be the
// methods of the ecsAPI interface (every SDK call goes through call).
func ecsActions(t *testing.T) []string {
	fset, files := parseDir(t, "volume-snapshotter")
	set := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fun := c.Fun
			if ix, ok := fun.(*ast.IndexExpr); ok { // call[T](...)
				fun = ix.X
			}
			if id, ok := fun.(*ast.Ident); !ok || id.Name != "call" || len(c.Args) != 4 {
				return true
			}
			lit, ok := c.Args[2].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: call with a non-literal action: the test cannot derive it", fset.Position(c.Pos()))
				return true
			}
			action, _ := strconv.Unquote(lit.Value)
			set[action] = true
			return true
		})
	}
	var calls []string
	for a := range set {
		calls = append(calls, a)
	}
	sort.Strings(calls)
	if methods := interfaceMethods(t, files, "ecsAPI"); !slices.Equal(calls, methods) {
		t.Errorf("call(...) sites name %v, the ecsAPI interface has %v: every ECS method must be called through call", calls, methods)
	}
	out := make([]string, len(calls))
	for i, a := range calls {
		out[i] = "ecs:" + a
	}
	return out
}

// ossActions derives the OSS actions from the object store: every call of
// an aliyun-oss-go-sdk Bucket or Client method in object-store/*.go,
// mapped through ossSDKOperation and ram.OSSActions.
func ossActions(t *testing.T) []string {
	fset, files := parseDir(t, "object-store")
	sdkMethods := map[string]bool{}
	for _, typ := range []reflect.Type{reflect.TypeOf(&oss.Bucket{}), reflect.TypeOf(&oss.Client{})} {
		for i := range typ.NumMethod() {
			sdkMethods[typ.Method(i).Name] = true
		}
	}
	bucketAPI := interfaceMethods(t, files, "bucketAPI")
	used := map[string]bool{}
	set := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			c, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := c.Fun.(*ast.SelectorExpr)
			if !ok || !sdkMethods[sel.Sel.Name] || ossNoRequest[sel.Sel.Name] {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "oss" {
				return true // a package function (oss.Prefix, ...), not a method
			}
			m := sel.Sel.Name
			if n, common := ossCommonNames[m]; common && len(c.Args) != n {
				return true
			}
			op, ok := ossSDKOperation[m]
			if !ok {
				t.Errorf("%s: SDK method %s is not in ossSDKOperation: add the OSS operation it sends", fset.Position(c.Pos()), m)
				return true
			}
			if m == "SignURL" {
				if len(c.Args) < 2 || !isSelector(c.Args[1], "oss", "HTTPGet") {
					t.Errorf("%s: SignURL with a method other than oss.HTTPGet: map it to its operation", fset.Position(c.Pos()))
				}
			}
			action, ok := ram.OSSActions[op]
			if !ok {
				t.Errorf("operation %s (of %s) is not in ram.OSSActions", op, m)
				return true
			}
			used[m] = true
			set[action] = true
			return true
		})
	}
	for _, m := range bucketAPI {
		if !used[m] {
			t.Errorf("bucketAPI method %s is never called: remove it, or the test misses its call", m)
		}
	}
	var out []string
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// kmsActions are the KMS actions the object store names for
// serverSideEncryption: KMS (its error hint), read from the code.
func kmsActions(t *testing.T) []string {
	data, err := os.ReadFile(filepath.Join(repoRoot, "object-store", "errors.go"))
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, m := range regexp.MustCompile(`kms:[A-Za-z]+`).FindAllString(string(data), -1) {
		set[m] = true
	}
	var out []string
	for a := range set {
		out = append(out, a)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatal("object-store/errors.go names no kms: action")
	}
	return out
}

type statement struct {
	Effect   string
	Action   []string
	Resource ram.Strings
}

func readPolicy(t *testing.T) []statement {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, File))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ram.Parse(data); err != nil {
		t.Fatal(err)
	}
	var doc struct{ Statement []statement }
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Statement
}

// diff reports what code needs and the policy lacks, and the reverse.
func diff(t *testing.T, what string, code, policy []string) {
	t.Helper()
	for _, a := range code {
		if !slices.Contains(policy, a) {
			t.Errorf("%s: the code calls %s but %s does not grant it", what, a, File)
		}
	}
	for _, a := range policy {
		if !slices.Contains(code, a) {
			t.Errorf("%s: %s grants %s but the code never calls it", what, File, a)
		}
	}
}

// TestPolicyMatchesCode: examples/ram-policy.json grants exactly the OSS
// and ECS actions the code calls (and, in its optional KMS statement, the
// KMS actions serverSideEncryption: KMS needs), no more, no less.
func TestPolicyMatchesCode(t *testing.T) {
	var granted = map[string][]string{}
	for _, st := range readPolicy(t) {
		if st.Effect != "Allow" {
			t.Errorf("statement %v: the policy only allows", st.Action)
		}
		for _, a := range st.Action {
			if strings.Contains(a, "*") {
				t.Errorf("action %s: name actions exactly, no wildcards", a)
			}
			svc, _, _ := strings.Cut(a, ":")
			granted[svc] = append(granted[svc], a)
		}
	}
	for svc := range granted {
		if svc != "oss" && svc != "ecs" && svc != "kms" {
			t.Errorf("%s grants %v: the bundle calls no %s API", File, granted[svc], svc)
		}
		sort.Strings(granted[svc])
	}
	diff(t, "OSS (object-store)", ossActions(t), granted["oss"])
	diff(t, "ECS (volume-snapshotter)", ecsActions(t), granted["ecs"])
	diff(t, "KMS (serverSideEncryption: KMS)", kmsActions(t), granted["kms"])
}

// TestObjectStoreHintMatchesPolicy: the AccessDenied hint of the object
// store lists the same OSS actions as the policy.
func TestObjectStoreHintMatchesPolicy(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "object-store", "errors.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const ramActions = "([^"]*)"`).FindSubmatch(data)
	if m == nil {
		t.Fatal("object-store/errors.go has no ramActions constant")
	}
	hint := strings.Split(string(m[1]), ", ")
	sort.Strings(hint)
	diff(t, "object-store ramActions hint", hint, ossActions(t))
}

// TestPolicyResources: each statement is on the narrowest resources, and
// under the emulators' authorization model (resource-level ECS actions on
// typed ARNs, the rest on "*") every action the code calls is allowed.
func TestPolicyResources(t *testing.T) {
	want := map[string][]string{
		"oss": {"acs:oss:*:*:" + Bucket, "acs:oss:*:*:" + Bucket + "/*"},
		// ListKeys is authorized on the key container, ListAliases on the
		// alias container, the rest on the key (KMS's RAM reference).
		"kms": {"acs:kms:*:*:key", "acs:kms:*:*:key/*", "acs:kms:*:*:alias"},
	}
	for _, st := range readPolicy(t) {
		svc, _, _ := strings.Cut(st.Action[0], ":")
		res := []string(st.Resource)
		switch {
		case svc == "ecs" && slices.Equal(res, []string{"*"}):
			for _, a := range st.Action {
				if !strings.HasPrefix(a, "ecs:Describe") {
					t.Errorf("%s is on Resource *, but only the Describe calls lack resource-level authorization", a)
				}
			}
		case svc == "ecs":
			if !slices.Equal(res, []string{"acs:ecs:*:*:snapshot/*", "acs:ecs:*:*:disk/*"}) {
				t.Errorf("ECS resource-level statement on %v, want snapshot/* and disk/*", res)
			}
		default:
			if !slices.Equal(res, want[svc]) {
				t.Errorf("%s statement on %v, want %v", svc, res, want[svc])
			}
		}
	}

	p, err := Load(repoRoot, "my-bucket")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range ossActions(t) {
		res := ram.OSSResource("cn-hangzhou", "my-bucket", "backups/b1/velero-backup.json")
		if ram.OSSBucketLevel(a) {
			res = ram.OSSResource("cn-hangzhou", "my-bucket", "")
		}
		if !p.Allowed(a, res) {
			t.Errorf("%s on %s is not allowed", a, res)
		}
		if p.Allowed(a, ram.OSSResource("cn-hangzhou", "other-bucket", "k")) {
			t.Errorf("%s is allowed on another bucket", a)
		}
	}
	for _, a := range ecsActions(t) {
		res := []string{ram.ECSAnyResource("cn-beijing")}
		switch a {
		case "ecs:CreateSnapshot", "ecs:CopySnapshot", "ecs:DeleteSnapshot", "ecs:CreateDisk":
			res = []string{ram.ECSResource("cn-beijing", "disk", "*"), ram.ECSResource("cn-beijing", "snapshot", "s-2z1")}
		}
		if !p.Allowed(a, res...) {
			t.Errorf("%s on %v is not allowed", a, res)
		}
	}
	if p.Allowed("ecs:DeleteDisk", ram.ECSResource("cn-beijing", "disk", "d-1")) {
		t.Error("ecs:DeleteDisk is allowed: the bundle never deletes disks")
	}
}
