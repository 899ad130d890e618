package ecs_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	ecsclient "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
)

const (
	shanghai = "cn-shanghai"
	zoneSA   = "cn-shanghai-a"
)

// withShanghai adds a third region, for copies to two destinations.
func withShanghai(c *ecs.Config) {
	c.Regions = append(c.Regions, ecs.Region{ID: shanghai, Zones: []string{zoneSA}})
}

// ownClient is a client with its own http.Client, for concurrent callers.
func (e *env) ownClient(t *testing.T, region string) *ecsclient.Client {
	cfg := e.config(region)
	cfg.HttpClient = sharedHTTP{c: &http.Client{Timeout: 10 * time.Second}}
	return e.clientWith(t, cfg)
}

func createDisk(cl *ecsclient.Client, region, zone, category string, size int32, snap, token string) (string, error) {
	r := &ecsclient.CreateDiskRequest{RegionId: tea.String(region), ZoneId: tea.String(zone), DiskCategory: tea.String(category)}
	if size > 0 {
		r.Size = tea.Int32(size)
	}
	if snap != "" {
		r.SnapshotId = tea.String(snap)
	}
	if token != "" {
		r.ClientToken = tea.String(token)
	}
	out, err := cl.CreateDisk(r)
	if err != nil {
		return "", err
	}
	return tea.StringValue(out.Body.DiskId), nil
}

func createSnapshot(cl *ecsclient.Client, disk, token string) (string, error) {
	r := &ecsclient.CreateSnapshotRequest{DiskId: tea.String(disk)}
	if token != "" {
		r.ClientToken = tea.String(token)
	}
	out, err := cl.CreateSnapshot(r)
	if err != nil {
		return "", err
	}
	return tea.StringValue(out.Body.SnapshotId), nil
}

func copySnapshot(cl *ecsclient.Client, region, snap, dest, token string) (string, error) {
	r := &ecsclient.CopySnapshotRequest{RegionId: tea.String(region), SnapshotId: tea.String(snap), DestinationRegionId: tea.String(dest)}
	if token != "" {
		r.ClientToken = tea.String(token)
	}
	out, err := cl.CopySnapshot(r)
	if err != nil {
		return "", err
	}
	return tea.StringValue(out.Body.SnapshotId), nil
}

func listSnapshots(t *testing.T, cl *ecsclient.Client, region string, ids ...string) []*ecsclient.DescribeSnapshotsResponseBodySnapshotsSnapshot {
	t.Helper()
	r := &ecsclient.DescribeSnapshotsRequest{RegionId: tea.String(region)}
	if len(ids) > 0 {
		r.SnapshotIds = tea.String(`["` + strings.Join(ids, `","`) + `"]`)
	}
	out, err := cl.DescribeSnapshots(r)
	if err != nil {
		t.Fatalf("DescribeSnapshots: %v", err)
	}
	return out.Body.Snapshots.Snapshot
}

func TestCreateDiskCategoryRefusals(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) {
		c.ZoneCategories = map[string][]string{zoneI: {"cloud_essd", "cloud_auto"}}
		c.SoldOut = map[string][]string{zoneI: {"cloud_auto"}}
	})
	cl := e.client(t, hangzhou)
	e.srv.SetSoldOut(zoneH, "cloud_ssd", true)
	cases := []struct {
		name, zone, category string
		code                 string
		status               int
	}{
		{"offered", zoneI, "cloud_essd", "", 200},
		{"not offered in the zone", zoneI, "cloud_ssd", "InvalidDataDiskCategory.NotSupported", 400},
		{"sold out (Config.SoldOut)", zoneI, "cloud_auto", "OperationDenied.NoStock", 403},
		{"sold out (SetSoldOut)", zoneH, "cloud_ssd", "OperationDenied.NoStock", 403},
		{"other zone still in stock", zoneH, "cloud_auto", "", 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := createDisk(cl, hangzhou, c.zone, c.category, 40, "", "")
			if c.code == "" {
				if err != nil {
					t.Fatalf("CreateDisk: %v", err)
				}
				return
			}
			wantAPIError(t, err, c.code, c.status)
		})
	}
	if got := e.srv.Responses("OperationDenied.NoStock"); got != 2 {
		t.Errorf("Responses(OperationDenied.NoStock) = %d, want 2", got)
	}
	// DescribeZones is not purchase-aware: sold-out categories stay listed.
	zones, err := cl.DescribeZones(&ecsclient.DescribeZonesRequest{RegionId: tea.String(hangzhou)})
	if err != nil {
		t.Fatalf("DescribeZones: %v", err)
	}
	for _, z := range zones.Body.Zones.Zone {
		cats := strings.Join(tea.StringSliceValue(z.AvailableDiskCategories.DiskCategories), ",")
		if want := map[string]string{zoneH: strings.Join(ecs.AllCategories, ","), zoneI: "cloud_essd,cloud_auto"}[tea.StringValue(z.ZoneId)]; cats != want {
			t.Errorf("DescribeZones %s lists %s, want %s", tea.StringValue(z.ZoneId), cats, want)
		}
	}
	// Back in stock.
	e.srv.SetSoldOut(zoneH, "cloud_ssd", false)
	if _, err := createDisk(cl, hangzhou, zoneH, "cloud_ssd", 40, "", ""); err != nil {
		t.Fatalf("CreateDisk after SetSoldOut(false): %v", err)
	}
}

func TestDescribeAvailableResource(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) {
		c.ZoneCategories = map[string][]string{zoneI: {"cloud_essd", "cloud_auto"}, zoneA: {"cloud_essd"}}
	})
	e.srv.SetSoldOut(zoneI, "cloud_auto", true)
	e.srv.SetSoldOut(zoneA, "cloud_essd", true)
	type supported struct {
		value, status, category string
		min, max                int32
	}
	query := func(t *testing.T, region, zone, category, scope string) map[string][]supported {
		t.Helper()
		// What the CSI driver sends (pkg/disk/utils.go GetAvailableDiskTypes).
		r := &ecsclient.DescribeAvailableResourceRequest{RegionId: tea.String(region), DestinationResource: tea.String("DataDisk"),
			ResourceType: tea.String("disk"), InstanceType: tea.String("ecs.g7.large")}
		if zone != "" {
			r.ZoneId = tea.String(zone)
		}
		if category != "" {
			r.DataDiskCategory = tea.String(category)
		}
		if scope != "" {
			r.Scope = tea.String(scope)
		}
		out, err := e.client(t, region).DescribeAvailableResource(r)
		if err != nil {
			t.Fatalf("DescribeAvailableResource: %v", err)
		}
		got := map[string][]supported{}
		for _, z := range out.Body.AvailableZones.AvailableZone {
			if tea.StringValue(z.RegionId) != region {
				t.Errorf("zone %s has RegionId %q", tea.StringValue(z.ZoneId), tea.StringValue(z.RegionId))
			}
			key := tea.StringValue(z.ZoneId) + "/" + tea.StringValue(z.Status) + "/" + tea.StringValue(z.StatusCategory)
			got[key] = []supported{}
			for _, res := range z.AvailableResources.AvailableResource {
				if tea.StringValue(res.Type) != "DataDisk" {
					t.Errorf("resource type %q", tea.StringValue(res.Type))
				}
				for _, s := range res.SupportedResources.SupportedResource {
					if tea.StringValue(s.Unit) != "GiB" {
						t.Errorf("unit %q", tea.StringValue(s.Unit))
					}
					got[key] = append(got[key], supported{tea.StringValue(s.Value), tea.StringValue(s.Status),
						tea.StringValue(s.StatusCategory), tea.Int32Value(s.Min), tea.Int32Value(s.Max)})
				}
			}
		}
		return got
	}
	cases := []struct {
		name, region, zone, category, scope string
		want                                string
	}{
		{"one zone", hangzhou, zoneI, "", "",
			"map[cn-hangzhou-i/Available/WithStock:[{cloud_essd Available WithStock 20 65536} {cloud_auto SoldOut WithoutStock 1 65536}]]"},
		{"one category in every zone", hangzhou, "", "cloud_essd", "",
			"map[cn-hangzhou-h/Available/WithStock:[{cloud_essd Available WithStock 20 65536}] cn-hangzhou-i/Available/WithStock:[{cloud_essd Available WithStock 20 65536}]]"},
		{"category the zone lacks", hangzhou, zoneI, "cloud_ssd", "", "map[]"},
		{"zone with everything sold out", beijing, zoneA, "", "",
			"map[cn-beijing-a/SoldOut/WithoutStock:[{cloud_essd SoldOut WithoutStock 20 65536}]]"},
		{"regional scope (no regional disks modelled)", hangzhou, "", "", "region", "map[]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := fmt.Sprint(query(t, c.region, c.zone, c.category, c.scope)); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	all := query(t, hangzhou, zoneH, "", "")["cn-hangzhou-h/Available/WithStock"]
	if len(all) != len(ecs.AllCategories) {
		t.Fatalf("zone with every category lists %v", all)
	}
	_, err := e.client(t, hangzhou).DescribeAvailableResource(&ecsclient.DescribeAvailableResourceRequest{RegionId: tea.String(hangzhou)})
	wantAPIError(t, err, "MissingParameter", 400)
	_, err = e.client(t, hangzhou).DescribeAvailableResource(&ecsclient.DescribeAvailableResourceRequest{
		RegionId: tea.String("cn-nowhere"), DestinationResource: tea.String("DataDisk")})
	wantAPIError(t, err, "InvalidRegionId.NotFound", 404)
}

// TestNetworkEndpoints drives the SDK against the real endpoint names over
// TLS, from a caller in cn-hangzhou.
func TestNetworkEndpoints(t *testing.T) {
	e := newEnv(t, nil)
	n, err := ecs.NewNetwork(e.srv, hangzhou)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	client := func(t *testing.T, endpoint, region string) *ecsclient.Client {
		cfg := e.config(region)
		cfg.Endpoint, cfg.Protocol = tea.String(endpoint), tea.String("https")
		cfg.HttpClient = sharedHTTP{c: &http.Client{Transport: n.Transport(), Timeout: 10 * time.Second}}
		return e.clientWith(t, cfg)
	}
	hzDisk, hzSnap := seedSnapshot(t, e, hangzhou, zoneH, 20)
	bjDisk, bjSnap := seedSnapshot(t, e, beijing, zoneA, 20)

	t.Run("reachable endpoints", func(t *testing.T) {
		for _, ep := range []string{"ecs.aliyuncs.com", "ecs.cn-hangzhou.aliyuncs.com", "ecs-cn-hangzhou.aliyuncs.com",
			"ecs-vpc.cn-hangzhou.aliyuncs.com", "ecs.cn-beijing.aliyuncs.com"} {
			if _, err := client(t, ep, hangzhou).DescribeRegions(&ecsclient.DescribeRegionsRequest{}); err != nil {
				t.Errorf("%s: %v", ep, err)
			}
		}
		calls := e.srv.EndpointCalls()
		if calls["ecs-vpc.cn-hangzhou.aliyuncs.com"] != 1 || calls["ecs.aliyuncs.com"] != 1 || calls["ecs.cn-beijing.aliyuncs.com"] != 1 {
			t.Errorf("EndpointCalls = %v", calls)
		}
	})
	t.Run("VPC endpoint of another region is refused", func(t *testing.T) {
		_, err := client(t, "ecs-vpc.cn-beijing.aliyuncs.com", beijing).DescribeRegions(&ecsclient.DescribeRegionsRequest{})
		if err == nil || !errors.Is(err, syscall.ECONNREFUSED) && !strings.Contains(err.Error(), "connection refused") {
			t.Fatalf("SDK call at a foreign VPC endpoint: %v, want connection refused", err)
		}
		_, err = n.Transport().DialContext(context.Background(), "tcp", "ecs-vpc.cn-beijing.aliyuncs.com:443")
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial error %#v, want a dial *net.OpError wrapping ECONNREFUSED", err)
		}
		if got := n.Refused()["ecs-vpc.cn-beijing.aliyuncs.com"]; got != 2 {
			t.Fatalf("Refused = %v, want 2 for the Beijing VPC endpoint", n.Refused())
		}
	})
	t.Run("unknown host fails like DNS", func(t *testing.T) {
		_, err := n.Transport().DialContext(context.Background(), "tcp", "ecs.cn-nowhere.aliyuncs.com:443")
		var dns *net.DNSError
		if !errors.As(err, &dns) || !dns.IsNotFound {
			t.Fatalf("dial error %v, want a *net.DNSError IsNotFound", err)
		}
	})
	t.Run("calls without RegionId are served in the endpoint's region", func(t *testing.T) {
		hz := client(t, "ecs-vpc.cn-hangzhou.aliyuncs.com", hangzhou)
		// A Beijing resource does not exist at the Hangzhou endpoint.
		_, err := hz.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(bjDisk)})
		wantAPIError(t, err, "InvalidDiskId.NotFound", 404)
		_, err = hz.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(bjSnap)})
		wantAPIError(t, err, "InvalidSnapshotId.NotFound", 404)
		_, err = hz.DeleteDisk(&ecsclient.DeleteDiskRequest{DiskId: tea.String(bjDisk)})
		wantAPIError(t, err, "InvalidDiskId.NotFound", 404)
		// Calls with a RegionId are routed by it (assumption).
		if _, err := hz.DescribeDisks(&ecsclient.DescribeDisksRequest{RegionId: tea.String(beijing)}); err != nil {
			t.Fatalf("DescribeDisks RegionId=cn-beijing at the Hangzhou endpoint: %v", err)
		}
		// The right regional endpoint, and the central one, find them.
		bj := client(t, "ecs.cn-beijing.aliyuncs.com", beijing)
		if _, err := bj.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(bjSnap)}); err != nil {
			t.Fatalf("DeleteSnapshot at the Beijing endpoint: %v", err)
		}
		if _, err := hz.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(hzSnap)}); err != nil {
			t.Fatalf("DeleteSnapshot at the Hangzhou endpoint: %v", err)
		}
		if _, err := client(t, "ecs.aliyuncs.com", hangzhou).DeleteDisk(&ecsclient.DeleteDiskRequest{DiskId: tea.String(bjDisk)}); err != nil {
			t.Fatalf("DeleteDisk at the central endpoint: %v", err)
		}
		if _, ok := e.srv.Disk(hzDisk); !ok {
			t.Fatal("the Hangzhou disk is gone")
		}
	})
	t.Run("foreign VPC host reaching the server is dropped", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, e.url+"/?Action=DescribeRegions", nil)
		req.Host = "ecs-vpc.cn-beijing.aliyuncs.com"
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got %s, want the connection dropped", resp.Status)
		}
		if got := e.srv.EndpointCalls()["ecs-vpc.cn-beijing.aliyuncs.com"]; got != 1 {
			t.Fatalf("EndpointCalls for the foreign VPC host = %d, want 1", got)
		}
	})
}

func TestUnfinishedCrossRegionCopy(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) {
		withShanghai(c)
		c.CopyDuration = 10 * time.Second
	})
	hz := e.client(t, hangzhou)
	disk1, s1 := seedSnapshot(t, e, hangzhou, zoneH, 20)
	s1b := mustSnapshot(t, hz, disk1) // a second snapshot of the same disk
	_, s2 := seedSnapshot(t, e, hangzhou, zoneH, 20)
	pending, err := copySnapshot(hz, hangzhou, s1, beijing, "copy-1")
	if err != nil {
		t.Fatalf("first copy: %v", err)
	}
	cases := []struct {
		name, snap, dest, token string
		code                    string
	}{
		{"same disk, same destination", s1b, beijing, "", "InvalidOperation.UnfinishedCrossRegionCopy"},
		{"same snapshot again, new token", s1, beijing, "copy-2", "InvalidOperation.UnfinishedCrossRegionCopy"},
		{"replay of the pending copy", s1, beijing, "copy-1", ""},
		{"same disk, other destination", s1b, shanghai, "", ""},
		{"other disk, same destination", s2, beijing, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := copySnapshot(hz, hangzhou, c.snap, c.dest, c.token)
			if c.code != "" {
				wantAPIError(t, err, c.code, 403)
				return
			}
			if err != nil {
				t.Fatalf("CopySnapshot: %v", err)
			}
			if c.token == "copy-1" && id != pending {
				t.Fatalf("replay returned %s, want the pending copy %s", id, pending)
			}
		})
	}
	e.clock.Advance(10 * time.Second)
	if _, err := copySnapshot(hz, hangzhou, s1b, beijing, ""); err != nil {
		t.Fatalf("copy after the first finished: %v", err)
	}
	// The encrypted variant: the unfinished copy is encrypted.
	disk3 := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	s3, s3b := mustSnapshot(t, hz, disk3), ""
	if s3b, err = createSnapshotAfter(e, hz, disk3); err != nil {
		t.Fatal(err)
	}
	if _, err := hz.CopySnapshot(&ecsclient.CopySnapshotRequest{RegionId: tea.String(hangzhou), SnapshotId: tea.String(s3),
		DestinationRegionId: tea.String(beijing), Encrypted: tea.Bool(true)}); err != nil {
		t.Fatalf("encrypted copy: %v", err)
	}
	_, err = copySnapshot(hz, hangzhou, s3b, beijing, "")
	wantAPIError(t, err, "InvalidOperation.UnfinishedEncryptedSnapshotCopy", 403)
}

// createSnapshotAfter takes another snapshot of disk once the clock passed
// the previous one (SnapshotDuration is 0 in these tests).
func createSnapshotAfter(e *env, cl *ecsclient.Client, disk string) (string, error) {
	e.clock.Advance(time.Millisecond)
	return createSnapshot(cl, disk, "")
}

func TestIdempotentProcessing(t *testing.T) {
	const delay = 300 * time.Millisecond
	e := newEnv(t, func(c *ecs.Config) { c.ProcessingDelay = delay })
	diskID, src := seedSnapshot(t, e, hangzhou, zoneH, 20)
	cases := []struct {
		action string
		call   func(cl *ecsclient.Client, token string) (string, error)
		code   string
	}{
		{"CreateDisk", func(cl *ecsclient.Client, token string) (string, error) {
			return createDisk(cl, hangzhou, zoneH, "cloud_essd", 20, "", token)
		}, "LastTokenProcessing"},
		{"CreateSnapshot", func(cl *ecsclient.Client, token string) (string, error) {
			return createSnapshot(cl, diskID, token)
		}, "IdempotentProcessing"},
		{"CopySnapshot", func(cl *ecsclient.Client, token string) (string, error) {
			return copySnapshot(cl, hangzhou, src, beijing, token)
		}, "IdempotentProcessing"},
	}
	for _, c := range cases {
		t.Run(c.action, func(t *testing.T) {
			token := "tok-" + c.action
			before := e.srv.Calls(c.action)
			type result struct {
				id  string
				err error
			}
			first := make(chan result, 1)
			start := time.Now()
			go func() {
				id, err := c.call(e.ownClient(t, hangzhou), token)
				first <- result{id, err}
			}()
			for e.srv.Calls(c.action) == before {
				time.Sleep(5 * time.Millisecond)
			}
			_, err := c.call(e.ownClient(t, hangzhou), token)
			wantAPIError(t, err, c.code, 403)
			r := <-first
			if r.err != nil || time.Since(start) < delay {
				t.Fatalf("first call: %v after %v", r.err, time.Since(start))
			}
			again, err := c.call(e.ownClient(t, hangzhou), token)
			if err != nil || again != r.id {
				t.Fatalf("replay after processing: %q, %v; want %q", again, err, r.id)
			}
			if got := e.srv.Responses(c.code); got < 1 {
				t.Fatalf("Responses(%s) = %d", c.code, got)
			}
		})
	}
	// Calls without a ClientToken are not delayed.
	start := time.Now()
	if _, err := createDisk(e.client(t, hangzhou), hangzhou, zoneH, "cloud_essd", 20, "", ""); err != nil || time.Since(start) >= delay {
		t.Fatalf("CreateDisk without token: %v after %v", err, time.Since(start))
	}
}

func TestLoseResponse(t *testing.T) {
	const delay = 200 * time.Millisecond
	e := newEnv(t, func(c *ecs.Config) { c.ProcessingDelay = delay })
	cl := e.client(t, hangzhou)
	diskID := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	e.faults.Enqueue(fault.Decision{Kind: fault.LoseResponse})
	if _, err := createSnapshot(cl, diskID, "lost"); err == nil {
		t.Fatal("a lost response was answered")
	}
	// The request is being processed: a retry at once finds it in flight.
	_, err := createSnapshot(cl, diskID, "lost")
	wantAPIError(t, err, "IdempotentProcessing", 403)
	time.Sleep(delay + 100*time.Millisecond)
	id, err := createSnapshot(cl, diskID, "lost")
	if err != nil {
		t.Fatalf("retry after processing: %v", err)
	}
	if snaps := e.srv.Snapshots(hangzhou); len(snaps) != 1 || snaps[0].SnapshotID != id {
		t.Fatalf("snapshots %v, want only %s", snaps, id)
	}
	if e.faults.Count(fault.LoseResponse) != 1 || e.srv.Responses("IdempotentProcessing") != 1 {
		t.Fatalf("LoseResponse decisions %d, IdempotentProcessing answers %d", e.faults.Count(fault.LoseResponse),
			e.srv.Responses("IdempotentProcessing"))
	}
	// Without a delay the lost call takes effect before the connection goes.
	e2 := newEnv(t, nil)
	d2 := e2.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
	e2.faults.Enqueue(fault.Decision{Kind: fault.LoseResponse})
	if _, err := createSnapshot(e2.client(t, hangzhou), d2, ""); err == nil {
		t.Fatal("a lost response was answered")
	}
	if n := len(e2.srv.Snapshots(hangzhou)); n != 1 {
		t.Fatalf("%d snapshots after a lost CreateSnapshot, want 1", n)
	}
}

func TestInstantAccess(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) {
		c.SnapshotDuration = time.Minute
		c.InstantAccessDelay = 10 * time.Second
	})
	cl := e.client(t, hangzhou)
	cases := []struct {
		category string
		instant  bool
	}{
		{"cloud_essd", true}, {"cloud_auto", true}, {"cloud_essd_entry", true},
		{"cloud_ssd", false}, {"cloud_efficiency", false}, {"cloud", false},
	}
	ids := map[string]string{}
	for _, c := range cases {
		ids[c.category] = mustSnapshot(t, cl, e.srv.SeedDisk(hangzhou, zoneH, c.category, 20, nil))
	}
	check := func(t *testing.T, step string, want func(instant bool) bool) {
		for _, c := range cases {
			sn := listSnapshots(t, cl, hangzhou, ids[c.category])[0]
			if tea.BoolValue(sn.Available) != want(c.instant) || tea.BoolValue(sn.InstantAccess) != c.instant {
				t.Errorf("%s %s: Available %v InstantAccess %v status %s", step, c.category,
					tea.BoolValue(sn.Available), tea.BoolValue(sn.InstantAccess), tea.StringValue(sn.Status))
			}
		}
	}
	check(t, "at creation", func(bool) bool { return false })
	e.clock.Advance(10 * time.Second)
	check(t, "after InstantAccessDelay", func(instant bool) bool { return instant })
	// Usable for a disk in its region while progressing; not for a copy.
	if _, err := createDisk(cl, hangzhou, zoneH, "cloud_essd", 20, ids["cloud_essd"], ""); err != nil {
		t.Fatalf("CreateDisk from an available progressing snapshot: %v", err)
	}
	_, err := createDisk(cl, hangzhou, zoneH, "cloud_essd", 20, ids["cloud_ssd"], "")
	wantAPIError(t, err, "InvalidSnapshotId.NotReady", 403)
	_, err = copySnapshot(cl, hangzhou, ids["cloud_essd"], beijing, "")
	wantAPIError(t, err, "InvalidSnapshotId.NotReady", 403)
	e.clock.Advance(time.Minute)
	check(t, "accomplished", func(bool) bool { return true })
	if _, err := copySnapshot(cl, hangzhou, ids["cloud_essd"], beijing, ""); err != nil {
		t.Fatalf("copy once accomplished: %v", err)
	}
	// A snapshot that fails is never available, instant access or not.
	e.srv.FailNextSnapshots(1)
	failing := mustSnapshot(t, cl, e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil))
	e.clock.Advance(15 * time.Second)
	if sn := listSnapshots(t, cl, hangzhou, failing)[0]; tea.BoolValue(sn.Available) {
		t.Fatalf("a failing snapshot is Available (status %s)", tea.StringValue(sn.Status))
	}
}

func TestDisksThatCannotBeSnapshotted(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) {
		c.DiskCreateDuration = time.Second
		c.DiskInitDuration = time.Minute
	})
	cl := e.client(t, hangzhou)
	fresh, err := createDisk(cl, hangzhou, zoneH, "cloud_essd", 20, "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, src := seedSnapshot(t, e, hangzhou, zoneH, 20)
	restored, err := createDisk(cl, hangzhou, zoneH, "cloud_essd", 20, src, "")
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Second) // both Available
	steps := []struct {
		name   string
		before func()
		disk   string
		code   string
	}{
		{"never attached", nil, fresh, "IncorrectDiskStatus.NeverAttached"},
		{"attached", func() { e.srv.AttachDisk(fresh) }, fresh, ""},
		{"restored, never attached", nil, restored, "IncorrectDiskStatus.NeverAttached"},
		{"restored, attached, still initializing", func() { e.srv.AttachDisk(restored) }, restored, "IncorrectDiskStatus.Initializing"},
		{"restored, initialized", func() { e.clock.Advance(time.Minute) }, restored, ""},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before()
			}
			_, err := createSnapshot(cl, st.disk, "")
			if st.code == "" {
				if err != nil {
					t.Fatalf("CreateSnapshot: %v", err)
				}
				return
			}
			wantAPIError(t, err, st.code, 403)
		})
	}
	// DeleteDisk of an initializing disk is refused too (the CSI driver and
	// Terraform retry on it).
	other, _ := createDisk(cl, hangzhou, zoneH, "cloud_essd", 20, src, "")
	e.clock.Advance(time.Second)
	_, err = cl.DeleteDisk(&ecsclient.DeleteDiskRequest{DiskId: tea.String(other)})
	wantAPIError(t, err, "IncorrectDiskStatus.Initializing", 403)
	if d, _ := e.srv.Disk(other); !d.Initializing || d.Attached || d.Status != ecs.DiskAvailable {
		t.Fatalf("inspection view %+v", d)
	}
	e.clock.Advance(time.Minute)
	if _, err := cl.DeleteDisk(&ecsclient.DeleteDiskRequest{DiskId: tea.String(other)}); err != nil {
		t.Fatalf("DeleteDisk once initialized: %v", err)
	}
}

func TestTagRulesPerCall(t *testing.T) {
	e := newEnv(t, nil)
	cl := e.client(t, hangzhou)
	diskID, src := seedSnapshot(t, e, hangzhou, zoneH, 20)
	calls := map[string]func(k, v string) error{
		"CreateDisk": func(k, v string) error {
			_, err := cl.CreateDisk(&ecsclient.CreateDiskRequest{RegionId: tea.String(hangzhou), ZoneId: tea.String(zoneH),
				DiskCategory: tea.String("cloud_essd"), Size: tea.Int32(20),
				Tag: []*ecsclient.CreateDiskRequestTag{{Key: tea.String(k), Value: tea.String(v)}}})
			return err
		},
		"CreateSnapshot": func(k, v string) error {
			e.clock.Advance(time.Millisecond)
			_, err := cl.CreateSnapshot(&ecsclient.CreateSnapshotRequest{DiskId: tea.String(diskID),
				Tag: []*ecsclient.CreateSnapshotRequestTag{{Key: tea.String(k), Value: tea.String(v)}}})
			return err
		},
		"CopySnapshot": func(k, v string) error {
			_, err := cl.CopySnapshot(&ecsclient.CopySnapshotRequest{RegionId: tea.String(hangzhou), SnapshotId: tea.String(src),
				DestinationRegionId: tea.String(beijing),
				Tag:                 []*ecsclient.CopySnapshotRequestTag{{Key: tea.String(k), Value: tea.String(v)}}})
			return err
		},
		"TagResources": func(k, v string) error {
			_, err := cl.TagResources(&ecsclient.TagResourcesRequest{RegionId: tea.String(hangzhou), ResourceType: tea.String("disk"),
				ResourceId: []*string{tea.String(diskID)},
				Tag:        []*ecsclient.TagResourcesRequestTag{{Key: tea.String(k), Value: tea.String(v)}}})
			return err
		},
	}
	const key, value = "InvalidTagKey.Malformed", "InvalidTagValue.Malformed"
	cases := []struct {
		name, key, value string
		want             map[string]string // by call; missing = accepted
	}{
		{"plain", "team", "db", nil},
		{"key acs:", "acs:ecs:x", "v", map[string]string{"CreateDisk": key, "CreateSnapshot": key, "CopySnapshot": key, "TagResources": key}},
		{"key aliyun", "aliyun-x", "v", map[string]string{"CreateDisk": key, "CreateSnapshot": key, "CopySnapshot": key, "TagResources": key}},
		{"key with https://", "see-https://x", "v", map[string]string{"CreateDisk": key, "CreateSnapshot": key, "CopySnapshot": key, "TagResources": key}},
		{"value with http://", "k", "http://x", map[string]string{"CreateDisk": value, "CreateSnapshot": value, "CopySnapshot": value, "TagResources": value}},
		{"value acs:", "k", "acs:x", map[string]string{"CopySnapshot": value, "TagResources": value}},
		{"value aliyun", "k", "aliyun-x", map[string]string{"CopySnapshot": value}},
	}
	for _, c := range cases {
		for _, call := range []string{"CreateDisk", "CreateSnapshot", "CopySnapshot", "TagResources"} {
			t.Run(c.name+"/"+call, func(t *testing.T) {
				err := calls[call](c.key, c.value)
				if code := c.want[call]; code != "" {
					wantAPIError(t, err, code, 400)
				} else if err != nil {
					t.Fatalf("refused: %v", err)
				}
			})
		}
	}
	_, err := cl.TagResources(&ecsclient.TagResourcesRequest{RegionId: tea.String(hangzhou), ResourceType: tea.String("disk"),
		ResourceId: []*string{tea.String(diskID)}, Tag: []*ecsclient.TagResourcesRequestTag{
			{Key: tea.String("k"), Value: tea.String("1")}, {Key: tea.String("k"), Value: tea.String("2")}}})
	wantAPIError(t, err, "Duplicate.TagKey", 400)
}

func TestSnapshotQuota(t *testing.T) {
	t.Run("configured", func(t *testing.T) {
		e := newEnv(t, func(c *ecs.Config) { c.SnapshotQuota = 2 })
		cl := e.client(t, hangzhou)
		diskID := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
		first := mustSnapshot(t, cl, diskID)
		if _, err := createSnapshotAfter(e, cl, diskID); err != nil {
			t.Fatal(err)
		}
		_, err := createSnapshotAfter(e, cl, diskID)
		wantAPIError(t, err, "QuotaExceed.Snapshot", 403)
		// Copies in another region do not count; deleting one frees a slot.
		if _, err := copySnapshot(cl, hangzhou, first, beijing, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(first)}); err != nil {
			t.Fatal(err)
		}
		if _, err := createSnapshotAfter(e, cl, diskID); err != nil {
			t.Fatalf("CreateSnapshot after deleting one: %v", err)
		}
		// Another disk has its own quota.
		mustSnapshot(t, cl, e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil))
	})
	t.Run("default 256", func(t *testing.T) {
		e := newEnv(t, nil)
		cl := e.client(t, hangzhou)
		diskID := e.srv.SeedDisk(hangzhou, zoneH, "cloud_essd", 20, nil)
		for i := 0; i < 256; i++ {
			if _, err := createSnapshotAfter(e, cl, diskID); err != nil {
				t.Fatalf("snapshot %d: %v", i+1, err)
			}
		}
		_, err := createSnapshotAfter(e, cl, diskID)
		wantAPIError(t, err, "QuotaExceed.Snapshot", 403)
	})
}

func TestCopyListDelay(t *testing.T) {
	e := newEnv(t, func(c *ecs.Config) { c.CopyListDelay = 5 * time.Second })
	hz, bj := e.client(t, hangzhou), e.client(t, beijing)
	_, src := seedSnapshot(t, e, hangzhou, zoneH, 20)
	_, src2 := seedSnapshot(t, e, hangzhou, zoneI, 20)
	listed, err := copySnapshot(hz, hangzhou, src, beijing, "")
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := copySnapshot(hz, hangzhou, src2, beijing, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := listSnapshots(t, bj, beijing); len(got) != 0 {
		t.Fatalf("new copies listed at once: %d", len(got))
	}
	if got := listSnapshots(t, bj, beijing, listed); len(got) != 0 {
		t.Fatalf("new copy listed by ID at once")
	}
	if _, ok := e.srv.Snapshot(listed); !ok {
		t.Fatal("the copy does not exist")
	}
	// It exists: DeleteSnapshot of the unlisted copy works.
	if _, err := bj.DeleteSnapshot(&ecsclient.DeleteSnapshotRequest{SnapshotId: tea.String(deleted)}); err != nil {
		t.Fatalf("DeleteSnapshot of an unlisted copy: %v", err)
	}
	e.clock.Advance(5 * time.Second)
	if got := listSnapshots(t, bj, beijing); len(got) != 1 || tea.StringValue(got[0].SnapshotId) != listed {
		t.Fatalf("after CopyListDelay: %v", got)
	}
}

func TestClientTokenFormat(t *testing.T) {
	e := newEnv(t, nil)
	_, err := createDisk(e.client(t, hangzhou), hangzhou, zoneH, "cloud_essd", 20, "", strings.Repeat("x", 65))
	wantAPIError(t, err, "InvalidClientToken.Malformed", 403)
}
