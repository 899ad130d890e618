package volumesnapshotter

import (
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name    string
		cfg     map[string]string
		wantErr string // substring; "" = valid
	}{
		{name: "minimal", cfg: map[string]string{"region": "cn-hangzhou"}},
		{name: "everything", cfg: map[string]string{
			"region": "cn-hangzhou", "zone": "cn-hangzhou-h", "network": "public", "kmsKeyId": "key-1",
			"snapshotRetentionDays": "30", "replicaRegions": "cn-beijing, cn-shanghai", "snapshotTimeout": "2h",
			"copyTimeout": "3h", "diskTimeout": "5m", "pollInterval": "2s", "endpoint": "ecs-vpc.cn-hangzhou.aliyuncs.com",
			"copiesAhead": "0", "waitForSnapshot": "true", "regionEndpoints": "cn-beijing=ecs.cn-beijing.aliyuncs.com",
		}},
		{name: "zone without dash", cfg: map[string]string{"region": "ap-southeast-1", "zone": "ap-southeast-1a"}},
		{name: "missing region", cfg: map[string]string{}, wantErr: "VolumeSnapshotLocation config: region is required"},
		{name: "bad region", cfg: map[string]string{"region": "Hangzhou"}, wantErr: `region "Hangzhou" is not a region ID`},
		{name: "unknown key", cfg: map[string]string{"region": "cn-hangzhou", "bucket": "x"}, wantErr: `unknown key(s) "bucket"`},
		{name: "zone of other region", cfg: map[string]string{"region": "cn-hangzhou", "zone": "cn-beijing-a"}, wantErr: `zone "cn-beijing-a" is not a zone of region "cn-hangzhou"`},
		{name: "bad network", cfg: map[string]string{"region": "cn-hangzhou", "network": "internal"}, wantErr: `network "internal" is not valid; use one of: vpc, public`},
		{name: "retention not a number", cfg: map[string]string{"region": "cn-hangzhou", "snapshotRetentionDays": "a week"}, wantErr: "snapshotRetentionDays \"a week\" must be an integer from 0 to 65536"},
		{name: "retention too long", cfg: map[string]string{"region": "cn-hangzhou", "snapshotRetentionDays": "70000"}, wantErr: "must be an integer from 0 to 65536"},
		{name: "replica is home", cfg: map[string]string{"region": "cn-hangzhou", "replicaRegions": "cn-beijing,cn-hangzhou"}, wantErr: `replicaRegions lists "cn-hangzhou", which is the location's own region`},
		{name: "replica not a region", cfg: map[string]string{"region": "cn-hangzhou", "replicaRegions": "beijing"}, wantErr: `replicaRegions: "beijing" is not a region ID`},
		{name: "copiesAhead negative", cfg: map[string]string{"region": "cn-hangzhou", "copiesAhead": "-1"}, wantErr: "copiesAhead \"-1\" must be an integer from 0 to 100"},
		{name: "copiesAhead too many", cfg: map[string]string{"region": "cn-hangzhou", "copiesAhead": "500"}, wantErr: "must be an integer from 0 to 100"},
		{name: "waitForSnapshot not a bool", cfg: map[string]string{"region": "cn-hangzhou", "waitForSnapshot": "yes"}, wantErr: `waitForSnapshot "yes" must be true or false`},
		{name: "bad timeout", cfg: map[string]string{"region": "cn-hangzhou", "copyTimeout": "forever"}, wantErr: `copyTimeout "forever" must be a duration`},
		{name: "zero timeout", cfg: map[string]string{"region": "cn-hangzhou", "snapshotTimeout": "0s"}, wantErr: "snapshotTimeout must be greater than zero"},
		{name: "endpoint with path", cfg: map[string]string{"region": "cn-hangzhou", "endpoint": "https://ecs.aliyuncs.com/api"}, wantErr: "endpoint \"https://ecs.aliyuncs.com/api\" must be a host name"},
		{name: "endpoint ftp", cfg: map[string]string{"region": "cn-hangzhou", "endpoint": "ftp://ecs.aliyuncs.com"}, wantErr: `has scheme "ftp"`},
		{name: "regionEndpoints without '='", cfg: map[string]string{"region": "cn-hangzhou", "regionEndpoints": "ecs.cn-beijing.aliyuncs.com"}, wantErr: `regionEndpoints entry "ecs.cn-beijing.aliyuncs.com" must be <region>=<endpoint>`},
		{name: "regionEndpoints names home", cfg: map[string]string{"region": "cn-hangzhou", "regionEndpoints": "cn-hangzhou=ecs.cn-hangzhou.aliyuncs.com"}, wantErr: `regionEndpoints lists the location's own region "cn-hangzhou"; set endpoint for it instead`},
		{name: "regionEndpoints twice", cfg: map[string]string{"region": "cn-hangzhou", "regionEndpoints": "cn-beijing=a.example.com,cn-beijing=b.example.com"}, wantErr: `regionEndpoints lists region "cn-beijing" twice`},
		{name: "regionEndpoints empty endpoint", cfg: map[string]string{"region": "cn-hangzhou", "regionEndpoints": "cn-beijing="}, wantErr: `regionEndpoints entry "cn-beijing=" has no endpoint`},
		{name: "regionEndpoints bad scheme", cfg: map[string]string{"region": "cn-hangzhou", "regionEndpoints": "cn-beijing=ftp://x.example.com"}, wantErr: `regionEndpoints "ftp://x.example.com" has scheme "ftp"`},
		{name: "missing credentials file", cfg: map[string]string{"region": "cn-hangzhou", "credentialsFile": "/nonexistent/cloud"}, wantErr: "/nonexistent/cloud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewVolumeSnapshotter(logrus.New())
			cfg := map[string]string{}
			for k, val := range tt.cfg {
				cfg[k] = val
			}
			// Valid configs need some credentials; a file keeps the test
			// independent of the environment.
			if _, ok := cfg[keyCredentialsFile]; !ok && tt.wantErr == "" {
				e := newTestEnv(t, nil)
				cfg[keyCredentialsFile] = e.credFile
			}
			err := v.Init(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Init: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Init error = %v; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigDefaultsAndEndpoints(t *testing.T) {
	s, err := parseConfig(map[string]string{"region": "cn-beijing", "replicaRegions": "cn-shanghai,cn-shanghai"})
	if err != nil {
		t.Fatal(err)
	}
	if s.network != networkVPC || s.retentionDays != -1 || s.copyTimeout != 2*time.Hour || s.snapshotTimeout != time.Hour ||
		s.diskTimeout != 10*time.Minute || s.pollInterval != 5*time.Second || len(s.replicaRegions) != 1 || s.copiesAhead != 19 || s.waitForSnapshot {
		t.Errorf("defaults = %+v", s)
	}
	tests := []struct {
		cfg                map[string]string
		region             string
		wantHost, wantProt string
	}{
		// A VPC endpoint serves only its own region's network: other
		// regions are called at their public endpoints.
		{map[string]string{"region": "cn-beijing"}, "cn-beijing", "ecs-vpc.cn-beijing.aliyuncs.com", "HTTPS"},
		{map[string]string{"region": "cn-beijing"}, "cn-hangzhou", "ecs.cn-hangzhou.aliyuncs.com", "HTTPS"},
		{map[string]string{"region": "cn-beijing", "network": "public"}, "cn-beijing", "ecs.cn-beijing.aliyuncs.com", "HTTPS"},
		{map[string]string{"region": "cn-beijing", "endpoint": "http://127.0.0.1:8080"}, "cn-beijing", "127.0.0.1:8080", "HTTP"},
		// endpoint is the location region's only.
		{map[string]string{"region": "cn-beijing", "endpoint": "ecs-vpc.cn-beijing.aliyuncs.com"}, "cn-hangzhou", "ecs.cn-hangzhou.aliyuncs.com", "HTTPS"},
		{map[string]string{"region": "cn-beijing", "endpoint": "ecs.example.com"}, "cn-beijing", "ecs.example.com", "HTTPS"},
		{map[string]string{"region": "cn-beijing", "regionEndpoints": "cn-hangzhou=http://127.0.0.1:9090, cn-shanghai=ecs.sh.example.com"}, "cn-hangzhou", "127.0.0.1:9090", "HTTP"},
		{map[string]string{"region": "cn-beijing", "regionEndpoints": "cn-hangzhou=http://127.0.0.1:9090, cn-shanghai=ecs.sh.example.com"}, "cn-shanghai", "ecs.sh.example.com", "HTTPS"},
		{map[string]string{"region": "cn-beijing", "regionEndpoints": "cn-hangzhou=http://127.0.0.1:9090"}, "cn-beijing", "ecs-vpc.cn-beijing.aliyuncs.com", "HTTPS"},
	}
	for _, tt := range tests {
		s, err := parseConfig(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if e := s.ecsEndpoint(tt.region); e.host != tt.wantHost || e.protocol != tt.wantProt {
			t.Errorf("%v: endpoint for %s = %s %s, want %s %s", tt.cfg, tt.region, e.protocol, e.host, tt.wantProt, tt.wantHost)
		}
	}
}

func TestSnapshotIDs(t *testing.T) {
	tests := []struct {
		in      string
		want    snapshotRef
		wantErr bool
	}{
		{in: "cn-hangzhou/s-bp1abc", want: snapshotRef{region: "cn-hangzhou", id: "s-bp1abc"}},
		{in: "s-bp1abc", want: snapshotRef{id: "s-bp1abc"}},
		{in: "ap-southeast-1/s-t4abc", want: snapshotRef{region: "ap-southeast-1", id: "s-t4abc"}},
		{in: "", wantErr: true},
		{in: "snap-123", wantErr: true},
		{in: "cn-hangzhou/", wantErr: true},
		{in: "x/y/s-1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseSnapshotID(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSnapshotID(%q) = %+v, %v", tt.in, got, err)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("round trip of %q gave %q", tt.in, got.String())
		}
	}
}

// ConfigKeys lists exactly the keys parseConfig accepts: each one passes
// (an empty value is unset), and the unknown-key error lists the same.
func TestConfigKeys(t *testing.T) {
	testutil.CheckConfigKeys(t, ConfigKeys(), map[string]string{"region": "cn-hangzhou"}, func(cfg map[string]string) error {
		_, err := parseConfig(cfg)
		return err
	})
}
