// Package metadata emulates the ECS instance metadata service
// (http://100.100.100.200) as far as credentials-go uses it for an ECS RAM
// role: the IMDSv2 token (PUT /latest/api/token), the attached role name and
// the role's temporary credentials. Issued credentials go into the shared
// auth.Store so the OSS and ECS emulators accept them.
//
// credentials-go has no override for the metadata host, but it honours an
// HTTP proxy for metadata requests; the handler therefore also serves
// requests in proxy form (absolute URL for 100.100.100.200), so a test points
// the provider's proxy at this server.
package metadata

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/fault"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/internal/emu"
)

// Host is the address of the real metadata service.
const Host = "100.100.100.200"

const credPath = "/latest/meta-data/ram/security-credentials/"

// Config configures the emulator.
type Config struct {
	Auth *auth.Store
	// RoleName is the RAM role attached to the emulated instance; "" = none.
	RoleName string
	// Lifetime of issued credentials; zero = 6 hours like ECS.
	Lifetime time.Duration
	// RequireToken refuses IMDSv1 (requests without a metadata token), like
	// an instance in IMDSv2-only mode.
	RequireToken bool
	Faults       *fault.Injector
	Now          func() time.Time
}

// Server is the metadata http.Handler.
type Server struct {
	cfg    Config
	mu     sync.Mutex
	calls  map[string]int // "token", "role", "credentials"
	tokens map[string]time.Time
	issued []auth.Credential
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = 6 * time.Hour
	}
	if cfg.Auth == nil {
		cfg.Auth = auth.NewStore()
	}
	return &Server{cfg: cfg, calls: map[string]int{}, tokens: map[string]time.Time{}}
}

// Calls returns how many requests of kind ("token", "role", "credentials")
// were served or refused.
func (s *Server) Calls(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[kind]
}

// Issued returns the credentials handed out, oldest first.
func (s *Server) Issued() []auth.Credential {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]auth.Credential(nil), s.issued...)
}

func (s *Server) count(kind string) {
	s.mu.Lock()
	s.calls[kind]++
	s.mu.Unlock()
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Proxy-form requests carry the metadata host in the URL.
	if r.URL.Host != "" && r.URL.Hostname() != Host {
		http.Error(w, "metadata emulator only serves "+Host, http.StatusBadGateway)
		return
	}
	switch d := s.cfg.Faults.Decide(); d.Kind {
	case fault.ServerError, fault.Throttle:
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	case fault.Reset:
		if emu.DropConnection(w, false) {
			return
		}
	case fault.Delay:
		time.Sleep(d.Delay)
	}
	path := r.URL.Path
	switch {
	case path == "/latest/api/token":
		s.count("token")
		s.serveToken(w, r)
	case path == credPath:
		s.count("role")
		if !s.authorized(w, r) {
			return
		}
		if s.cfg.RoleName == "" {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(s.cfg.RoleName))
	case strings.HasPrefix(path, credPath):
		s.count("credentials")
		if !s.authorized(w, r) {
			return
		}
		if strings.TrimPrefix(path, credPath) != s.cfg.RoleName || s.cfg.RoleName == "" {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		s.serveCredentials(w)
	default:
		http.Error(w, "Not Found", http.StatusNotFound)
	}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get("X-aliyun-ecs-metadata-token-ttl-seconds"))
	if err != nil || ttl < 1 || ttl > 21600 {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	tok := emu.Random(40, emu.Alnum)
	s.mu.Lock()
	s.tokens[tok] = s.cfg.Now().Add(time.Duration(ttl) * time.Second)
	s.mu.Unlock()
	_, _ = w.Write([]byte(tok))
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok := r.Header.Get("X-aliyun-ecs-metadata-token")
	if tok == "" {
		if s.cfg.RequireToken {
			http.Error(w, "Forbidden", http.StatusForbidden)
			return false
		}
		return true
	}
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	s.mu.Unlock()
	if !ok || !s.cfg.Now().Before(exp) {
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return false
	}
	return true
}

// serveCredentials issues a fresh credential on each request: the real
// service rotates credentials well before the SDK's 180 s refresh margin, so
// a client that asks is always owed a credential with a full lifetime.
func (s *Server) serveCredentials(w http.ResponseWriter) {
	now := s.cfg.Now().UTC()
	c := emu.STSCredential(now.Add(s.cfg.Lifetime).Truncate(time.Second))
	s.cfg.Auth.Add(c)
	s.mu.Lock()
	s.issued = append(s.issued, c)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	_ = json.NewEncoder(w).Encode(map[string]string{
		"AccessKeyId": c.AccessKeyID, "AccessKeySecret": c.AccessKeySecret, "SecurityToken": c.SecurityToken,
		"Expiration": c.Expiration.Format("2006-01-02T15:04:05Z"), "LastUpdated": now.Format("2006-01-02T15:04:05Z"),
		"Code": "Success",
	})
}
