package metadata

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/test/emulator/auth"
)

func TestMetadata(t *testing.T) {
	store := auth.NewStore()
	s := New(Config{Auth: store, RoleName: "Worker", RequireToken: true, Lifetime: time.Hour})
	do := func(method, path, token string, hdr map[string]string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, "http://"+Host+path, nil)
		if token != "" {
			r.Header.Set("X-aliyun-ecs-metadata-token", token)
		}
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w
	}
	if w := do("PUT", "/latest/api/token", "", nil); w.Code != http.StatusBadRequest {
		t.Errorf("token without TTL: %d", w.Code)
	}
	w := do("PUT", "/latest/api/token", "", map[string]string{"X-aliyun-ecs-metadata-token-ttl-seconds": "60"})
	if w.Code != 200 || w.Body.Len() == 0 {
		t.Fatalf("token: %d", w.Code)
	}
	tok := w.Body.String()
	if w := do("GET", credPath, "", nil); w.Code != http.StatusForbidden {
		t.Errorf("IMDSv1 request in token-only mode: %d", w.Code)
	}
	if w := do("GET", credPath, "bogus", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("bogus token: %d", w.Code)
	}
	if w := do("GET", credPath, tok, nil); w.Body.String() != "Worker" {
		t.Errorf("role name: %q", w.Body)
	}
	if w := do("GET", credPath+"Other", tok, nil); w.Code != 404 {
		t.Errorf("other role: %d", w.Code)
	}
	w = do("GET", credPath+"Worker", tok, nil)
	var c map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil || c["Code"] != "Success" {
		t.Fatalf("credentials: %d %s", w.Code, w.Body)
	}
	got, ok := store.Lookup(c["AccessKeyId"])
	if !ok || got.SecurityToken != c["SecurityToken"] {
		t.Error("not registered in the auth store")
	}
	exp, _ := time.Parse("2006-01-02T15:04:05Z", c["Expiration"])
	if d := time.Until(exp); d > time.Hour || d < time.Hour-3*time.Second {
		t.Errorf("expiration in %v", d)
	}
	if s.Calls("credentials") != 2 || s.Calls("token") != 2 || s.Calls("role") != 3 {
		t.Errorf("calls: %d %d %d", s.Calls("credentials"), s.Calls("token"), s.Calls("role"))
	}
	r := httptest.NewRequest("GET", "http://example.com"+credPath, nil)
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusBadGateway {
		t.Errorf("proxying to another host: %d", w.Code)
	}
}
