package main

import (
	"bufio"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"
)

func TestParseECSRegions(t *testing.T) {
	cases := []struct {
		in, want, err string
	}{
		{defaultECSRegions, "[{cn-hangzhou [cn-hangzhou-h cn-hangzhou-i]} {cn-beijing [cn-beijing-a]}]", ""},
		{" cn-shanghai : cn-shanghai-a ; ", "[{cn-shanghai [cn-shanghai-a]}]", ""},
		{"cn-hangzhou", "", "is not region:zone"},
		{"cn-hangzhou:", "", "has no zones"},
		{"", "", "no regions"},
	}
	for _, c := range cases {
		got, err := parseRegions(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("parseRegions(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != c.want {
			t.Errorf("parseRegions(%q) = %v, %v; want %s", c.in, got, err, c.want)
		}
	}
	if _, err := parseZoneCategories("cn-beijing-a"); err == nil {
		t.Error("parseZoneCategories accepted a zone without categories")
	}
	if m, err := parseZoneCategories("cn-beijing-a:cloud_essd,cloud_auto"); err != nil || fmt.Sprint(m) != "map[cn-beijing-a:[cloud_essd cloud_auto]]" {
		t.Errorf("parseZoneCategories = %v, %v", m, err)
	}
}

// TestECSCommandServesSDK builds the emulator command, starts it with ECS
// only, and drives it with the real ECS SDK at the printed address.
func TestECSCommandServesSDK(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "emulator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-access-key-id", "AK", "-access-key-secret", "SK", "-ecs-addr", "127.0.0.1:0",
		"-regions", "cn-shanghai:cn-shanghai-a,cn-shanghai-b", "-zone-categories", "cn-shanghai-b:cloud_essd",
		"-snapshot-duration", "0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "ecs ") {
				lines <- sc.Text()
			}
		}
	}()
	var url string
	select {
	case l := <-lines:
		url = strings.TrimPrefix(l, "ecs ")
	case <-time.After(30 * time.Second):
		t.Fatal("the command printed no \"ecs http://...\" line")
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("printed address %q", url)
	}
	cl, err := ecsclient.NewClient(&openapi.Config{
		AccessKeyId: tea.String("AK"), AccessKeySecret: tea.String("SK"), Protocol: tea.String("http"),
		Endpoint: tea.String(strings.TrimPrefix(url, "http://")), RegionId: tea.String("cn-shanghai"),
	})
	if err != nil {
		t.Fatal(err)
	}
	zones, err := cl.DescribeZones(&ecsclient.DescribeZonesRequest{RegionId: tea.String("cn-shanghai")})
	if err != nil {
		t.Fatalf("DescribeZones: %v", err)
	}
	got := map[string]int{}
	for _, z := range zones.Body.Zones.Zone {
		got[tea.StringValue(z.ZoneId)] = len(z.AvailableDiskCategories.DiskCategories)
	}
	if len(got) != 2 || got["cn-shanghai-b"] != 1 || got["cn-shanghai-a"] < 2 {
		t.Fatalf("zones served: %v", got)
	}
}
