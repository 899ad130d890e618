// Command emulator runs the project's local Alibaba Cloud emulators over
// loopback HTTP for end-to-end tests and benchmarks:
//
//	go run ./test/emulator -oss-addr 127.0.0.1:0 -access-key-id ID -access-key-secret SECRET -data-dir DIR -bucket NAME
//
// For every service it starts it prints one line "<name> http://HOST:PORT"
// to stdout (e.g. "oss http://127.0.0.1:40123"), then serves until SIGTERM or
// SIGINT. Diagnostics go to stderr. See README.md for all flags.
//
// Adding a service (e.g. ECS) without touching this file: in a new file of
// package main, call register from an init function:
//
//	func init() {
//		var addr string
//		register(service{
//			Name:  "ecs",
//			Flags: func(fs *flag.FlagSet) { fs.StringVar(&addr, "ecs-addr", "", "...") },
//			Handler: func(c common) (string, http.Handler, error) {
//				if addr == "" {
//					return "", nil, nil // not requested
//				}
//				srv, err := ecs.New(ecs.Config{Auth: c.Auth, ...})
//				return addr, srv, err
//			},
//		})
//	}
//
// Flags are registered before parsing; Handler runs after parsing, in
// registration order, and a service whose Handler returns an empty address
// is not started.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/ram"
)

// common is what every service gets from the shared flags.
type common struct {
	// Auth holds the key given by -access-key-id/-access-key-secret
	// (with -security-token and -credential-expiration if set).
	Auth *auth.Store
	// DataDir is -data-dir (or a temporary directory removed at exit).
	DataDir string
	// FaultSeed is -fault-seed, for reproducible fault injection.
	FaultSeed int64
	// Policy is the RAM policy of -ram-policy (nil: everything allowed).
	Policy *ram.Policy
}

// service is one emulated cloud service the command can run.
type service struct {
	// Name is printed before the URL: "<Name> http://HOST:PORT".
	Name string
	// Flags registers the service's own flags; called before parsing.
	Flags func(fs *flag.FlagSet)
	// Handler builds the service after parsing and returns the address to
	// listen on; an empty address means the service was not requested.
	Handler func(c common) (addr string, h http.Handler, err error)
}

var services []service

// register adds a service; call it from an init function.
func register(s service) { services = append(services, s) }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "emulator:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	var (
		id, secret, token string
		policyFile        string
		expiration        time.Duration
		c                 common
	)
	fs.StringVar(&id, "access-key-id", "", "access key ID the emulators accept (required)")
	fs.StringVar(&secret, "access-key-secret", "", "secret of -access-key-id (required)")
	fs.StringVar(&token, "security-token", "", "STS token: when set, requests must carry it (x-oss-security-token / SecurityToken)")
	fs.DurationVar(&expiration, "credential-expiration", 0, "the key stops working this long after start (0 = never)")
	fs.StringVar(&c.DataDir, "data-dir", "", "directory for object data (default: a temporary directory removed at exit)")
	fs.Int64Var(&c.FaultSeed, "fault-seed", 0, "seed for fault injection decisions (0 = random)")
	fs.StringVar(&policyFile, "ram-policy", "", "RAM policy (JSON) the key is held to: refused calls get 403 AccessDenied (OSS) / Forbidden.RAM (ECS) (empty = allow everything)")
	for _, s := range services {
		s.Flags(fs)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if id == "" || secret == "" {
		return errors.New("-access-key-id and -access-key-secret are required")
	}
	cred := auth.Credential{AccessKeyID: id, AccessKeySecret: secret, SecurityToken: token}
	if expiration > 0 {
		cred.Expiration = time.Now().Add(expiration)
	}
	c.Auth = auth.NewStore(cred)
	if policyFile != "" {
		p, err := ram.Load(policyFile)
		if err != nil {
			return err
		}
		c.Policy = p
	}
	if c.DataDir == "" {
		dir, err := os.MkdirTemp("", "emulator-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.DataDir = dir
	}

	var servers []*http.Server
	errc := make(chan error, len(services))
	for _, s := range services {
		addr, h, err := s.Handler(c)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
		servers = append(servers, srv)
		fmt.Printf("%s http://%s\n", s.Name, ln.Addr())
		go func() { errc <- srv.Serve(ln) }()
	}
	if len(servers) == 0 {
		return errors.New("no service requested: set -oss-addr (or another service's address flag)")
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	var serveErr error
	select {
	case <-sig:
	case serveErr = <-errc:
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		_ = srv.Shutdown(ctx)
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}
