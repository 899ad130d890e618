package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
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

// ecsServer builds the ECS service from command-line flags, as run does.
func ecsServer(t *testing.T, args ...string) (*ecs.Server, error) {
	t.Helper()
	var svc *service
	for i := range services {
		if services[i].Name == "ecs" {
			svc = &services[i]
		}
	}
	if svc == nil {
		t.Fatal("no ecs service registered")
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	svc.Flags(fs)
	if err := fs.Parse(append([]string{"-ecs-addr", "127.0.0.1:0"}, args...)); err != nil {
		return nil, err
	}
	_, h, err := svc.Handler(common{Auth: auth.NewStore(auth.Credential{AccessKeyID: "AK", AccessKeySecret: "SK"})})
	if err != nil {
		return nil, err
	}
	return h.(*ecs.Server), nil
}

func TestECSBehaviourFlags(t *testing.T) {
	srv, err := ecsServer(t, "-regions", "cn-shanghai:cn-shanghai-a,cn-shanghai-b;cn-beijing:cn-beijing-a",
		"-sold-out", "cn-shanghai-a:cloud_essd,cloud_auto;cn-beijing-a:cloud_ssd", "-snapshot-quota", "1",
		"-snapshot-duration", "0", "-copy-duration", "0", "-disk-create-duration", "0",
		"-copy-list-delay", "1h", "-processing-delay", "1ms", "-instant-access-delay", "1m", "-disk-init-duration", "1h")
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	cl, err := ecsclient.NewClient(&openapi.Config{
		AccessKeyId: tea.String("AK"), AccessKeySecret: tea.String("SK"), Protocol: tea.String("http"),
		Endpoint: tea.String(strings.TrimPrefix(ts.URL, "http://")), RegionId: tea.String("cn-shanghai"),
	})
	if err != nil {
		t.Fatal(err)
	}
	code := func(err error) string {
		var se *tea.SDKError
		if errors.As(err, &se) {
			return tea.StringValue(se.Code)
		}
		return fmt.Sprint(err)
	}
	disk := func(zone, category, snap string) (string, error) {
		r := &ecsclient.CreateDiskRequest{RegionId: tea.String("cn-shanghai"), ZoneId: tea.String(zone),
			DiskCategory: tea.String(category), Size: tea.Int32(40), ClientToken: tea.String(zone + category + snap)}
		if snap != "" {
			r.SnapshotId = tea.String(snap)
		}
		out, err := cl.CreateDisk(r)
		if err != nil {
			return "", err
		}
		return tea.StringValue(out.Body.DiskId), nil
	}
	// -sold-out
	if _, err := disk("cn-shanghai-a", "cloud_auto", ""); code(err) != "OperationDenied.NoStock" {
		t.Errorf("-sold-out: CreateDisk cloud_auto in cn-shanghai-a: %v", err)
	}
	if _, err := disk("cn-shanghai-b", "cloud_auto", ""); err != nil {
		t.Errorf("-sold-out: CreateDisk cloud_auto in cn-shanghai-b: %v", err)
	}
	// -snapshot-quota 1 (and -processing-delay: tokens still work)
	src := srv.SeedDisk("cn-shanghai", "cn-shanghai-b", "cloud_ssd", 40, nil)
	snap, err := cl.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(src), ClientToken: tea.String("s1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(src)}); code(err) != "QuotaExceed.Snapshot" {
		t.Errorf("-snapshot-quota 1: second snapshot: %v", err)
	}
	snapID := tea.StringValue(snap.Body.SnapshotId)
	// -disk-init-duration 1h: a disk from the snapshot is initializing.
	restored, err := disk("cn-shanghai-b", "cloud_ssd", snapID)
	if err != nil {
		t.Fatal(err)
	}
	srv.AttachDisk(restored)
	if _, err := cl.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(restored)}); code(err) != "IncorrectDiskStatus.Initializing" {
		t.Errorf("-disk-init-duration: CreateSnapshot of a restored disk: %v", err)
	}
	// -copy-list-delay 1h: the copy is not listed in Beijing.
	cp, err := cl.CopySnapshot(&ecsclient.CopySnapshotRequest{RegionId: tea.String("cn-shanghai"), SnapshotId: tea.String(snapID),
		DestinationRegionId: tea.String("cn-beijing")})
	if err != nil {
		t.Fatal(err)
	}
	list, err := cl.DescribeSnapshots(&ecsclient.DescribeSnapshotsRequest{RegionId: tea.String("cn-beijing")})
	if err != nil || len(list.Body.Snapshots.Snapshot) != 0 {
		t.Errorf("-copy-list-delay: copy %s listed: %v, %v", tea.StringValue(cp.Body.SnapshotId), list, err)
	}

	// -instant-access-delay 1m: an ESSD snapshot becomes Available a
	// minute after creation, while still progressing.
	slow, err := ecsServer(t, "-regions", "cn-shanghai:cn-shanghai-a", "-snapshot-duration", "1h", "-instant-access-delay", "1m")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	slow.SetNow(func() time.Time { return now })
	ts2 := httptest.NewServer(slow)
	t.Cleanup(ts2.Close)
	cl2, err := ecsclient.NewClient(&openapi.Config{
		AccessKeyId: tea.String("AK"), AccessKeySecret: tea.String("SK"), Protocol: tea.String("http"),
		Endpoint: tea.String(strings.TrimPrefix(ts2.URL, "http://")), RegionId: tea.String("cn-shanghai"),
	})
	if err != nil {
		t.Fatal(err)
	}
	es, err := cl2.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(slow.SeedDisk("cn-shanghai", "cn-shanghai-a", "cloud_essd", 40, nil))})
	if err != nil {
		t.Fatal(err)
	}
	esID := tea.StringValue(es.Body.SnapshotId)
	if v, _ := slow.Snapshot(esID); v.Available || !v.InstantAccess {
		t.Errorf("-instant-access-delay: at creation %+v", v)
	}
	slow.SetNow(func() time.Time { return now.Add(time.Minute) })
	if v, _ := slow.Snapshot(esID); !v.Available || v.Status != ecs.SnapshotProgressing {
		t.Errorf("-instant-access-delay: a minute later %+v", v)
	}

	for _, bad := range [][]string{
		{"-sold-out", "cn-nowhere-a:cloud_essd"},
		{"-sold-out", "cn-hangzhou-h"},
		{"-sold-out", "cn-hangzhou-h:cloud_floppy"},
		{"-snapshot-quota", "-1"},
		{"-processing-delay", "-1s"},
	} {
		if _, err := ecsServer(t, bad...); err == nil {
			t.Errorf("flags %q accepted", bad)
		}
	}
}
