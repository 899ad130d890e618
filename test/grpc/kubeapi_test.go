package grpc_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// kubeAPI serves the few read-only Kubernetes API paths the item actions use
// (ConfigMaps of the Velero namespace, StorageClasses, Nodes), so the plugin
// process's client-go talks HTTP to something. The full API server runs in
// the end-to-end suite (test/e2e); here the subject is the gRPC path.
type kubeAPI struct {
	configMaps, storageClasses, nodes []map[string]any
}

// start serves the API and points the plugin processes at it through
// KUBECONFIG, which the plugin inherits like it inherits the Velero server's.
func (k *kubeAPI) start(t *testing.T) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(k.serve))
	t.Cleanup(srv.Close)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	content := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: " + srv.URL + "}\n" +
		"users:\n- name: u\n  user: {token: grpc-test}\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n"
	if err := os.WriteFile(kubeconfig, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)
	t.Setenv("VELERO_NAMESPACE", "velero")
}

func (k *kubeAPI) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case path == "/api/v1/namespaces/velero/configmaps":
		k.list(w, r, "ConfigMapList", "v1", k.configMaps)
	case strings.HasPrefix(path, "/api/v1/namespaces/velero/configmaps/"):
		name := strings.TrimPrefix(path, "/api/v1/namespaces/velero/configmaps/")
		for _, cm := range k.configMaps {
			if cm["metadata"].(map[string]any)["name"] == name {
				writeJSON(w, http.StatusOK, cm)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure",
			"reason": "NotFound", "code": 404, "message": `configmaps "` + name + `" not found`})
	case path == "/apis/storage.k8s.io/v1/storageclasses":
		k.list(w, r, "StorageClassList", "storage.k8s.io/v1", k.storageClasses)
	case path == "/api/v1/nodes":
		k.list(w, r, "NodeList", "v1", k.nodes)
	default:
		writeJSON(w, http.StatusNotFound, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure",
			"reason": "NotFound", "code": 404, "message": "no such path in this test API: " + path})
	}
}

// list answers a list request, honouring its label selector.
func (k *kubeAPI) list(w http.ResponseWriter, r *http.Request, kind, apiVersion string, items []map[string]any) {
	selector, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, field.Invalid(field.NewPath("labelSelector"), "", err.Error()))
		return
	}
	matched := []map[string]any{}
	for _, item := range items {
		set := labels.Set{}
		if l, ok := item["metadata"].(map[string]any)["labels"].(map[string]any); ok {
			for key, v := range l {
				set[key] = v.(string)
			}
		}
		if selector.Matches(set) {
			matched = append(matched, item)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"kind": kind, "apiVersion": apiVersion,
		"metadata": map[string]any{"resourceVersion": "1"}, "items": matched})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
