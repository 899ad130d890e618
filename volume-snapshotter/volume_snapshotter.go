// Package volumesnapshotter is Velero's VolumeSnapshotter for Alibaba Cloud ECS
// disks: it snapshots disk PVs, restores them as new disks — in another region
// too, copying the snapshot there first — and deletes the snapshots with the
// backup.
package volumesnapshotter

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	vsv1 "github.com/vmware-tanzu/velero/pkg/plugin/velero/volumesnapshotter/v1"
	"golang.org/x/sync/singleflight"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/credentials"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/retry"
)

// VolumeSnapshotter implements velero.VolumeSnapshotter for ECS disks. Its
// methods are safe for concurrent use.
type VolumeSnapshotter struct {
	log   logrus.FieldLogger
	cfg   *settings
	creds *credentials.Provider

	// retry is the policy of ECS calls; tests shorten it.
	retry retry.Policy

	// transport carries the ECS calls; nil is a clone of Go's default.
	// Tests set it to reach the emulator under the real endpoint names.
	transport *http.Transport
	httpOnce  sync.Once
	http      *http.Client

	mu sync.Mutex
	// idle holds the ECS clients not in use, by region (see acquire).
	idle    map[string][]ecsAPI
	cluster *kubeCluster
	// restored remembers the disks CreateVolumeFromSnapshot made, for the
	// SetVolumeID call Velero makes next, so it needs no DescribeDisks.
	restored map[string]diskInfo
	// retention caches the RetentionDays derived from each Backup's TTL.
	retention map[string]*int32

	// copies lets concurrent restores of one snapshot share one copy;
	// restoring holds the keys ("<target>/<snapshot ID>") in copies now.
	copies    singleflight.Group
	restoring map[string]bool
	// copyingAhead marks the backups (by target and source region) whose
	// snapshots a restore is copying ahead (copy_ahead.go).
	copyingAhead map[string]bool
}

var _ vsv1.VolumeSnapshotter = (*VolumeSnapshotter)(nil)

// NewVolumeSnapshotter returns a VolumeSnapshotter; Velero calls Init next.
func NewVolumeSnapshotter(log logrus.FieldLogger) *VolumeSnapshotter {
	v := &VolumeSnapshotter{
		log:          log,
		retry:        retry.Default,
		idle:         map[string][]ecsAPI{},
		restored:     map[string]diskInfo{},
		retention:    map[string]*int32{},
		copyingAhead: map[string]bool{},
		restoring:    map[string]bool{},
	}
	return v
}

// Init validates the VolumeSnapshotLocation config (README.md lists the
// keys) and sets up credentials. It makes no network call.
func (v *VolumeSnapshotter) Init(cfg map[string]string) error {
	s, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	creds, err := credentials.New(credentials.Options{
		Kind:            kind,
		CredentialsFile: s.credentialsFile,
		Logger:          v.log,
	})
	if err != nil {
		return fmt.Errorf("%s credentials: %w", kind, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cfg = s
	v.creds = creds
	v.idle = map[string][]ecsAPI{}
	v.log = v.log.WithField("vslRegion", s.region)
	return nil
}

// kube returns the cluster client, made on first use: backups and restores
// that need neither the TTL nor node zones never touch the cluster API.
func (v *VolumeSnapshotter) kube() (*kubeCluster, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cluster != nil {
		return v.cluster, nil
	}
	k, err := newKubeCluster()
	if err != nil {
		return nil, err
	}
	v.cluster = k
	return k, nil
}

// initialized guards the Velero methods against a call before Init.
func (v *VolumeSnapshotter) initialized() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.cfg == nil {
		return errors.New("volume snapshotter is not initialized: Velero must call Init with the VolumeSnapshotLocation config first")
	}
	return nil
}

// wait calls check every pollInterval until it reports done, fails, or the
// timeout passes (errTimeout). check's progress string is returned for
// messages.
func (v *VolumeSnapshotter) wait(timeout time.Duration, check func() (done bool, progress string, err error)) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		done, progress, err := check()
		if err != nil || done {
			return progress, err
		}
		if !time.Now().Before(deadline) {
			return progress, errTimeout
		}
		time.Sleep(v.cfg.pollInterval)
	}
}

var errTimeout = errors.New("timed out")
