package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ecs"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/oss"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/policy"
)

// Emulator is the project's OSS and ECS emulator, served in-process on
// loopback so tests can inspect its state (objects, snapshots, disks) and
// switch fault injection on and off while Velero talks to it over HTTP.
type Emulator struct {
	OSS    *oss.Server
	ECS    *ecs.Server
	OSSURL string // http://127.0.0.1:PORT
	ECSURL string

	servers []*http.Server
}

// startEmulator serves OSS (one bucket) and ECS (the configured regions).
// Both hold the key to the bundle's RAM policy, examples/ram-policy.json,
// with its placeholder bucket (velero-backups) replaced by Bucket: every
// scenario runs under exactly the permissions the README tells users to
// grant, so a call the policy lacks fails the e2e with the services' RAM
// refusal (AccessDenied / Forbidden.RAM).
func (s *Stack) startEmulator(context.Context) error {
	s.Auth = auth.NewStore(auth.Credential{AccessKeyID: AccessKeyID, AccessKeySecret: AccessKeySecret})
	pol, err := policy.Load(s.opts.RepoRoot, Bucket)
	if err != nil {
		return fmt.Errorf("ram policy: %w", err)
	}
	s.Policy = pol
	s.OSSFaults = fault.New(fault.Config{Seed: 1})
	s.ECSFaults = fault.New(fault.Config{Seed: 2})
	ossSrv, err := oss.New(oss.Config{
		Auth:    s.Auth,
		DataDir: filepath.Join(s.Dir, "emulator"),
		Buckets: []string{Bucket},
		Region:  OSSRegion,
		Faults:  s.OSSFaults,
		Policy:  pol,
	})
	if err != nil {
		return fmt.Errorf("oss emulator: %w", err)
	}
	var regions []ecs.Region
	for _, r := range s.opts.Regions {
		regions = append(regions, ecs.Region{ID: r.ID, Zones: r.Zones})
	}
	ecsSrv, err := ecs.New(ecs.Config{
		Auth:    s.Auth,
		Regions: regions,
		// Snapshots and copies take a moment, so Velero sees them in progress.
		SnapshotDuration:   2 * time.Second,
		CopyDuration:       2 * time.Second,
		DiskCreateDuration: time.Second,
		Faults:             s.ECSFaults,
		Policy:             pol,
	})
	if err != nil {
		return fmt.Errorf("ecs emulator: %w", err)
	}
	e := &Emulator{OSS: ossSrv, ECS: ecsSrv}
	s.Emulator = e
	if e.OSSURL, err = e.serve(ossSrv); err != nil {
		return err
	}
	if e.ECSURL, err = e.serve(ecsSrv); err != nil {
		return err
	}
	s.logf("stack: oss %s, ecs %s", e.OSSURL, e.ECSURL)
	return nil
}

func (e *Emulator) serve(h http.Handler) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	e.servers = append(e.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(fmt.Sprintf("emulator listener %s: %v", l.Addr(), err))
		}
	}()
	return "http://" + l.Addr().String(), nil
}

// Close stops the listeners.
func (e *Emulator) Close() {
	for _, srv := range e.servers {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
		_ = srv.Close()
	}
}
