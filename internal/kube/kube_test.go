package kube

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestNamespace(t *testing.T) {
	for _, tc := range []struct{ env, want string }{
		{"", "velero"},
		{"backup-system", "backup-system"},
	} {
		t.Setenv("VELERO_NAMESPACE", tc.env)
		if got := Namespace(); got != tc.want {
			t.Errorf("VELERO_NAMESPACE=%q: Namespace() = %q, want %q", tc.env, got, tc.want)
		}
	}
}

// apiServer answers every request with an empty list and records the
// User-Agent and path of each request.
type apiServer struct {
	mu         sync.Mutex
	paths, uas []string
}

func (a *apiServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.paths = append(a.paths, r.URL.Path)
	a.uas = append(a.uas, r.UserAgent())
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"kind":"List","apiVersion":"v1","metadata":{},"items":[]}`))
}

func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	content := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: " + server + "}\n" +
		"users:\n- name: u\n  user: {token: kube-test}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// reset forgets the process's clients, so each test starts from none.
func reset(t *testing.T) {
	t.Helper()
	forget := func() {
		core.mu.Lock()
		core.made = false
		core.mu.Unlock()
		dyn.mu.Lock()
		dyn.made = false
		dyn.mu.Unlock()
	}
	forget()
	t.Cleanup(forget)
}

func TestClientsFromKubeconfig(t *testing.T) {
	reset(t)
	api := &apiServer{}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)

	// No config anywhere: an error that says so, and nothing kept.
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	if _, err := Client(); err == nil || !strings.HasPrefix(err.Error(), "creating the Kubernetes client: ") {
		t.Fatalf("Client() without a config: err = %v, want one starting %q", err, "creating the Kubernetes client: ")
	}
	if _, err := Dynamic(); err == nil || !strings.HasPrefix(err.Error(), "creating the Kubernetes client: ") {
		t.Fatalf("Dynamic() without a config: err = %v, want one starting %q", err, "creating the Kubernetes client: ")
	}

	t.Setenv("KUBECONFIG", writeKubeconfig(t, srv.URL))
	kc, err := Client()
	if err != nil {
		t.Fatalf("Client(): %v", err)
	}
	if again, _ := Client(); again != kc {
		t.Errorf("Client() made a second clientset; want one per process")
	}
	dc, err := Dynamic()
	if err != nil {
		t.Fatalf("Dynamic(): %v", err)
	}
	if again, _ := Dynamic(); again != dc {
		t.Errorf("Dynamic() made a second client; want one per process")
	}

	ctx := context.Background()
	if _, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("listing nodes: %v", err)
	}
	backups := schema.GroupVersionResource{Group: "velero.io", Version: "v1", Resource: "backups"}
	if _, err := dc.Resource(backups).Namespace("velero").List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatalf("listing backups: %v", err)
	}

	api.mu.Lock()
	defer api.mu.Unlock()
	wantPaths := []string{"/api/v1/nodes", "/apis/velero.io/v1/namespaces/velero/backups"}
	if strings.Join(api.paths, " ") != strings.Join(wantPaths, " ") {
		t.Errorf("requests %v, want %v", api.paths, wantPaths)
	}
	for _, ua := range api.uas {
		if !strings.HasPrefix(ua, "velero-plugin-for-alibabacloud/") {
			t.Errorf("User-Agent %q, want it to start %q", ua, "velero-plugin-for-alibabacloud/")
		}
	}
}
