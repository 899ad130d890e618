package volumesnapshotter

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	ecs "github.com/alibabacloud-go/ecs-20140526/v7/client"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/retry"
)

// ecsAPI is the part of the ECS API the VolumeSnapshotter uses. The real SDK
// client (*ecs.Client) implements it.
type ecsAPI interface {
	DescribeRegions(*ecs.DescribeRegionsRequest) (*ecs.DescribeRegionsResponse, error)
	DescribeZones(*ecs.DescribeZonesRequest) (*ecs.DescribeZonesResponse, error)
	DescribeAvailableResource(*ecs.DescribeAvailableResourceRequest) (*ecs.DescribeAvailableResourceResponse, error)
	DescribeDisks(*ecs.DescribeDisksRequest) (*ecs.DescribeDisksResponse, error)
	CreateDisk(*ecs.CreateDiskRequest) (*ecs.CreateDiskResponse, error)
	DescribeSnapshots(*ecs.DescribeSnapshotsRequest) (*ecs.DescribeSnapshotsResponse, error)
	CreateSnapshot(*ecs.CreateSnapshotRequest) (*ecs.CreateSnapshotResponse, error)
	CopySnapshot(*ecs.CopySnapshotRequest) (*ecs.CopySnapshotResponse, error)
	DeleteSnapshot(*ecs.DeleteSnapshotRequest) (*ecs.DeleteSnapshotResponse, error)
}

var _ ecsAPI = (*ecs.Client)(nil)

// SDK timeouts in milliseconds. ECS answers in well under a second; the
// read timeout only stops a hung connection from blocking a backup.
const (
	connectTimeoutMillis = 5000
	readTimeoutMillis    = 30000
)

// newSDKClient builds the ECS client for one region. The SDK's own retry is
// left off: with retries enabled it retries every error, 4xx included, so the
// plugin retries itself (retryable below) and keeps the SDK to one attempt.
func (v *VolumeSnapshotter) newSDKClient(region string) (ecsAPI, error) {
	ep := v.cfg.ecsEndpoint(region)
	c, err := ecs.NewClient(&openapi.Config{
		Credential:     v.creds.OpenAPI(),
		RegionId:       tea.String(region),
		Endpoint:       tea.String(ep.host),
		Protocol:       tea.String(ep.protocol),
		ConnectTimeout: tea.Int(connectTimeoutMillis),
		ReadTimeout:    tea.Int(readTimeoutMillis),
		UserAgent:      tea.String("velero-plugin-for-alibabacloud"),
		HttpClient:     v.httpClient(),
	})
	if err != nil {
		return nil, fmt.Errorf("creating ECS client for region %s (endpoint %s): %w", region, ep.host, err)
	}
	return c, nil
}

// sdkHTTPClient sends the SDK's requests through one http.Client of the
// plugin's. The SDK's shared default client rewrites its Timeout on every
// request while other goroutines send with it (a data race under concurrent
// restores); this one is configured once.
type sdkHTTPClient struct{ c *http.Client }

func (h sdkHTTPClient) Call(req *http.Request, _ *http.Transport) (*http.Response, error) {
	return h.c.Do(req)
}

func (v *VolumeSnapshotter) httpClient() sdkHTTPClient {
	v.httpOnce.Do(func() {
		t := v.transport
		if t == nil {
			t = http.DefaultTransport.(*http.Transport).Clone()
			t.DialContext = (&net.Dialer{Timeout: connectTimeoutMillis * time.Millisecond, KeepAlive: 30 * time.Second}).DialContext
		}
		t.MaxIdleConnsPerHost = 32
		v.http = &http.Client{Transport: t, Timeout: (connectTimeoutMillis + readTimeoutMillis) * time.Millisecond}
	})
	return sdkHTTPClient{v.http}
}

// acquire lends out an ECS client for region; release gives it back. The SDK
// client is not safe for concurrent use (every RPC call resets its debug
// headers), so each client serves one call at a time and concurrent restores
// get one each. Clients are kept for reuse.
func (v *VolumeSnapshotter) acquire(region string) (c ecsAPI, release func(), err error) {
	v.mu.Lock()
	if idle := v.idle[region]; len(idle) > 0 {
		c = idle[len(idle)-1]
		v.idle[region] = idle[:len(idle)-1]
	}
	v.mu.Unlock()
	if c == nil {
		if c, err = v.newSDKClient(region); err != nil {
			return nil, nil, err
		}
	}
	return c, func() {
		v.mu.Lock()
		v.idle[region] = append(v.idle[region], c)
		v.mu.Unlock()
	}, nil
}

// call runs one ECS action in region under the plugins' shared retry
// policy (v.retry, retry.Default outside tests), retrying throttling, server
// errors and broken connections (retryable). Every create call carries a
// ClientToken, so a retry after a lost response returns the resource the
// first attempt made.
func call[T any](v *VolumeSnapshotter, region, action string, fn func(ecsAPI) (T, error)) (T, error) {
	var out, zero T
	c, release, err := v.acquire(region)
	if err != nil {
		return zero, err
	}
	defer release()
	err = v.retry.Do(retry.Call{
		Service:   "ECS",
		Op:        action,
		Log:       v.log.WithField("region", region),
		Retryable: retryable,
		Code:      errorCode,
		Describe:  func(err error) string { return newAPIError(action, region, err).message },
	}, func() error {
		var err error
		out, err = fn(c)
		return err
	})
	if err != nil {
		return zero, newAPIError(action, region, err)
	}
	return out, nil
}

// randomToken is a ClientToken for one logical create: the same token is
// sent on every retry of that create, a new one for the next create.
func randomToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// derivedToken is a ClientToken that is the same for every request that must
// make the same resource, across retries and plugin processes (a second
// restore of the same backup asks for the same copy). ECS allows 64 ASCII
// characters.
func derivedToken(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return "velero-" + hex.EncodeToString(h[:20])
}
