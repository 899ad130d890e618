package stack

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// startEtcd runs a single-member etcd on two free loopback ports.
func (s *Stack) startEtcd(ctx context.Context) error {
	clientPort, err := freePort()
	if err != nil {
		return err
	}
	peerPort, err := freePort()
	if err != nil {
		return err
	}
	clientURL := "http://" + hostPort(clientPort)
	peerURL := "http://" + hostPort(peerPort)
	p, err := startProcess("etcd", filepath.Join(s.Dir, "etcd.log"), s.baseEnv(), s.opts.Tools.Etcd,
		"--name", "e2e",
		"--data-dir", filepath.Join(s.Dir, "etcd"),
		"--listen-client-urls", clientURL,
		"--advertise-client-urls", clientURL,
		"--listen-peer-urls", peerURL,
		"--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "e2e="+peerURL,
		"--unsafe-no-fsync", // test data: durability is not wanted, speed is
		"--log-level", "warn",
	)
	if err != nil {
		return err
	}
	s.addProcess(p)
	s.etcdURL = clientURL
	return waitHTTP(ctx, p, clientURL+"/health", nil, 30*time.Second)
}

// startAPIServer runs kube-apiserver on a free loopback port with a
// self-signed serving certificate, token authentication (one admin token in
// system:masters) and RBAC. No controller-manager or kubelet runs: pods never
// start and namespaces are finalized by the tests themselves.
func (s *Stack) startAPIServer(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	s.apiPort = port
	s.adminToken = randomHex(24)
	certDir := filepath.Join(s.Dir, "certs")
	tokenFile := filepath.Join(certDir, "tokens.csv")
	if err := os.WriteFile(tokenFile, []byte(s.adminToken+`,e2e-admin,e2e-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return err
	}
	saKey := filepath.Join(certDir, "sa.key")
	if err := writeRSAKey(saKey); err != nil {
		return err
	}
	p, err := startProcess("kube-apiserver", filepath.Join(s.Dir, "kube-apiserver.log"), s.baseEnv(), s.opts.Tools.KubeAPIServer,
		"--etcd-servers", s.etcdURL,
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(port),
		"--cert-dir", certDir,
		"--token-auth-file", tokenFile,
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", saKey,
		"--service-account-signing-key-file", saKey,
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--disable-admission-plugins", "ServiceAccount",
		"--allow-privileged",
		"--v", "1",
	)
	if err != nil {
		return err
	}
	s.addProcess(p)
	base := "https://" + hostPort(port)
	insecure := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if err := waitHTTP(ctx, p, base+"/readyz", func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+s.adminToken)
	}, 90*time.Second, insecure); err != nil {
		return err
	}
	return s.writeKubeconfig(base, filepath.Join(certDir, "apiserver.crt"))
}

// writeKubeconfig writes the admin kubeconfig, trusting the apiserver's
// self-signed certificate (the file holds the certificate and its CA).
func (s *Stack) writeKubeconfig(server, caFile string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("reading the apiserver's self-signed certificate: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["e2e"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: ca}
	cfg.AuthInfos["e2e-admin"] = &clientcmdapi.AuthInfo{Token: s.adminToken}
	cfg.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: "e2e-admin", Namespace: "default"}
	cfg.CurrentContext = "e2e"
	s.Kubeconfig = filepath.Join(s.Dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, s.Kubeconfig); err != nil {
		return err
	}
	if s.Config, err = clientcmd.BuildConfigFromFlags("", s.Kubeconfig); err != nil {
		return err
	}
	s.Config.QPS, s.Config.Burst = 100, 200
	s.Config.WarningHandler = rest.NoWarnings{} // deprecation notices from discovery-driven deletes
	if s.Kube, err = kubernetes.NewForConfig(s.Config); err != nil {
		return err
	}
	if s.Dynamic, err = dynamic.NewForConfig(s.Config); err != nil {
		return err
	}
	// Prove the kubeconfig (CA and token) works before anything relies on it.
	_, err = s.Kube.Discovery().ServerVersion()
	return err
}

// waitHTTP polls url until it answers 200, failing early if p exits.
func waitHTTP(ctx context.Context, p *process, url string, prepare func(*http.Request), timeout time.Duration, clients ...*http.Client) error {
	client := http.DefaultClient
	if len(clients) > 0 {
		client = clients[0]
	}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		if e := p.exitError(); e != nil {
			return fmt.Errorf("%s %s before it was ready; log tail:\n%s", p.name, e, p.logTail(4000))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if prepare != nil {
			prepare(req)
		}
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, body)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s after %s (last answer: %s); log tail:\n%s", p.name, url, timeout, last, p.logTail(4000))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
