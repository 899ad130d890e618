package main

import (
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
)

// stringList is a repeatable string flag (-bucket a -bucket b, or -bucket a,b).
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

func init() {
	var (
		addr, region, domain string
		buckets              stringList
		f                    fault.Config
	)
	register(service{
		Name: "oss",
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&addr, "oss-addr", "", "listen address of the OSS emulator, e.g. 127.0.0.1:0 (empty = do not start)")
			fs.Var(&buckets, "bucket", "bucket to create at start (repeatable, or comma-separated)")
			fs.StringVar(&region, "region", "", "region the OSS emulator serves, e.g. cn-hangzhou; V4 signatures for another region are rejected (empty = accept any)")
			fs.StringVar(&domain, "oss-domain", "", "host suffix for virtual-host style requests (<bucket>.<domain>); empty = any host whose first label is a known bucket")
			fs.Float64Var(&f.ErrorRate, "oss-error-rate", 0, "share of OSS requests answered 500 InternalError (0..1)")
			fs.Float64Var(&f.ThrottleRate, "oss-throttle-rate", 0, "share of OSS requests answered 503 ServiceUnavailable (0..1)")
			fs.Float64Var(&f.ResetRate, "oss-reset-rate", 0, "share of OSS requests whose connection is reset (0..1)")
			fs.Float64Var(&f.DelayRate, "oss-delay-rate", 0, "share of OSS requests delayed by -oss-delay (0..1)")
			fs.DurationVar(&f.Delay, "oss-delay", time.Second, "how long a delayed OSS request waits")
		},
		Handler: func(c common) (string, http.Handler, error) {
			if addr == "" {
				return "", nil, nil
			}
			for name, r := range map[string]float64{"-oss-error-rate": f.ErrorRate, "-oss-throttle-rate": f.ThrottleRate,
				"-oss-reset-rate": f.ResetRate, "-oss-delay-rate": f.DelayRate} {
				if r < 0 || r > 1 {
					return "", nil, fmt.Errorf("%s %v: want a share from 0 to 1", name, r)
				}
			}
			if sum := f.ErrorRate + f.ThrottleRate + f.ResetRate + f.DelayRate; sum > 1 {
				return "", nil, fmt.Errorf("the -oss-*-rate flags add up to %v: their sum must not exceed 1", sum)
			}
			f.Seed = c.FaultSeed
			srv, err := oss.New(oss.Config{
				Auth: c.Auth, DataDir: c.DataDir, Buckets: buckets, Region: region,
				Faults: fault.New(f), Domain: domain, Policy: c.Policy,
			})
			return addr, srv, err
		},
	})
}
