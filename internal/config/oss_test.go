package config

import "testing"

func TestOSSEndpointRegion(t *testing.T) {
	for _, c := range []struct{ host, want string }{
		{"oss-cn-hangzhou.aliyuncs.com", "cn-hangzhou"},
		{"oss-cn-hangzhou-internal.aliyuncs.com", "cn-hangzhou"},
		{"oss-ap-southeast-1.aliyuncs.com", "ap-southeast-1"},
		{"oss-cn-shanghai-finance-1-internal.aliyuncs.com", "cn-shanghai-finance-1"},
		{"my-bucket.oss-cn-beijing.aliyuncs.com", "cn-beijing"},
		{"cn-beijing.oss.aliyuncs.com", "cn-beijing"},
		{"OSS-CN-Hangzhou.aliyuncs.com.", "cn-hangzhou"},
		{"oss-accelerate.aliyuncs.com", ""},
		{"oss-accelerate-overseas.aliyuncs.com", ""},
		{"oss.aliyuncs.com", ""},
		{"ecs.cn-hangzhou.aliyuncs.com", ""},
		{"oss-cn-hangzhou.example.com", ""},
		{"127.0.0.1", ""},
		{"", ""},
	} {
		if got := OSSEndpointRegion(c.host); got != c.want {
			t.Errorf("OSSEndpointRegion(%q) = %q, want %q", c.host, got, c.want)
		}
	}
}
