package ram

import (
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "acs:oss:cn-hangzhou:1:b/k", true},
		{"acs:oss:*:*:b", "acs:oss:cn-hangzhou:1:b", true},
		{"acs:oss:*:*:b", "acs:oss:cn-hangzhou:1:b/k", false},
		{"acs:oss:*:*:b/*", "acs:oss:cn-hangzhou:1:b/dir/k", true},
		{"acs:oss:*:*:b/*", "acs:oss:cn-hangzhou:1:bb/k", false},
		{"acs:ecs:*:*:snapshot/*", "acs:ecs:cn-beijing:1:snapshot/s-2z1", true},
		{"acs:ecs:*:*:snapshot/*", "acs:ecs:cn-beijing:1:*", false},
		{"ecs:describe*", "ecs:describesnapshots", true},
		{"s-??", "s-ab", true},
		{"s-??", "s-abc", false},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
	} {
		if got := Match(c.pattern, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestEvaluate(t *testing.T) {
	p, err := Parse([]byte(`{"Version": "1", "Statement": [
		{"Effect": "Allow", "Action": ["ecs:Describe*", "ecs:CreateSnapshot"], "Resource": "*"},
		{"Effect": "Allow", "Action": "oss:*", "Resource": ["acs:oss:*:*:b", "acs:oss:*:*:b/*"]},
		{"Effect": "Deny", "Action": "oss:DeleteObject", "Resource": "acs:oss:*:*:b/keep/*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	obj := OSSResource("cn-hangzhou", "b", "x")
	for _, c := range []struct {
		action string
		res    []string
		want   Decision
	}{
		{"ecs:DescribeSnapshots", []string{ECSAnyResource("cn-hangzhou")}, Allow},
		{"ECS:describedisks", nil, Allow},
		{"ecs:DeleteSnapshot", []string{ECSResource("cn-hangzhou", "snapshot", "s-1")}, ImplicitDeny},
		{"oss:PutObject", []string{obj}, Allow},
		{"oss:PutObject", []string{OSSResource("cn-hangzhou", "other", "x")}, ImplicitDeny},
		{"oss:DeleteObject", []string{OSSResource("cn-hangzhou", "b", "keep/x")}, ExplicitDeny},
		{"oss:PutObject", []string{obj, OSSResource("cn-hangzhou", "other", "x")}, ImplicitDeny},
	} {
		if got := p.Evaluate(c.action, c.res...); got != c.want {
			t.Errorf("Evaluate(%s, %v) = %v, want %v", c.action, c.res, got, c.want)
		}
	}
	var none *Policy
	if !none.Allowed("ecs:DeleteSnapshot") {
		t.Error("a nil policy must allow everything")
	}
}

func TestParseRefuses(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{`{"Version": "2", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}`, "Version"},
		{`{"Version": "1", "Statement": []}`, "no Statement"},
		{`{"Version": "1", "Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]}`, "Effect"},
		{`{"Version": "1", "Statement": [{"Effect": "Allow", "Resource": "*"}]}`, "Action"},
		{`{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*"}]}`, "Resource"},
		{`{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "PutObject", "Resource": "*"}]}`, "<service>"},
		{`{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {}}]}`, "Condition"},
	} {
		_, err := Parse([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%s) = %v, want an error about %s", c.doc, err, c.want)
		}
	}
}
