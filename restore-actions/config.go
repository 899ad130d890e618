package restoreactions

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/config"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/diskpv"
	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/kube"
)

// maxCachedRestores bounds the per-restore cache. Velero starts plugin
// processes per restore, so more than one entry is rare.
const maxCachedRestores = 8

// Env is what the actions share: the Kubernetes client of the Velero server,
// the Velero namespace and the per-restore cache of ConfigMaps, StorageClasses
// and node zones and regions. The client is made on first use, so an action
// with nothing to do never needs a cluster.
type Env struct {
	Namespace string
	client    func() (kubernetes.Interface, error) // made on first use; kube.Client caches it

	mu       sync.Mutex
	restores map[types.UID]*restoreState
	order    []types.UID
}

// NewEnv returns an Env over the given client (tests pass a fake clientset).
func NewEnv(client kubernetes.Interface, namespace string) *Env {
	return &Env{
		Namespace: namespace,
		client:    func() (kubernetes.Interface, error) { return client, nil },
		restores:  map[types.UID]*restoreState{},
	}
}

var (
	defaultEnvOnce sync.Once
	defaultEnv     *Env
)

// DefaultEnv returns the process-wide Env, over the process's shared client
// (internal/kube).
func DefaultEnv() *Env {
	defaultEnvOnce.Do(func() {
		defaultEnv = &Env{
			Namespace: kube.Namespace(),
			client:    kube.Client,
			restores:  map[types.UID]*restoreState{},
		}
	})
	return defaultEnv
}

// forRestore returns the cache of one restore, keyed by the Restore's UID.
func (e *Env) forRestore(r *velerov1.Restore) *restoreState {
	var uid types.UID
	var name, configName string
	if r != nil {
		uid, name, configName = r.UID, r.Name, r.Labels[LabelRestoreConfig]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.restores[uid]; ok {
		return s
	}
	if len(e.order) >= maxCachedRestores {
		delete(e.restores, e.order[0])
		e.order = e.order[1:]
	}
	s := &restoreState{env: e, restoreName: name, configName: configName}
	e.restores[uid] = s
	e.order = append(e.order, uid)
	return s
}

// restoreState caches what one restore reads from the cluster. Errors are not
// cached, so a transient API failure fails one item, not the whole restore.
type restoreState struct {
	env         *Env
	restoreName string
	configName  string // per-restore ConfigMap name, "" when none

	mu             sync.Mutex
	pluginConfigs  []corev1.ConfigMap // labelled velero.io/plugin-config
	pluginLoaded   bool
	perRestore     *corev1.ConfigMap
	perRestoreRead bool
	classes        map[string]*storagev1.StorageClass
	defaultClass   string
	zones          map[string]bool // nil until the nodes are listed
	regions        map[string]bool
}

// setting is one configured value and the ConfigMap it came from.
type setting struct {
	value  string
	source string // "ConfigMap <ns>/<name>", used as the kind in messages
	set    bool
}

// lookup returns the value of key: the per-restore ConfigMap's if it sets the
// key, else the cluster-wide ConfigMap of the key's owner action.
func (s *restoreState) lookup(ctx context.Context, key string) (setting, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadPerRestoreLocked(ctx); err != nil {
		return setting{}, err
	}
	if cm := s.perRestore; cm != nil {
		if v, ok := cm.Data[key]; ok {
			return setting{value: v, source: cmKind(cm), set: true}, nil
		}
	}
	cm, err := s.clusterWideLocked(ctx, keyOwner[key])
	if err != nil || cm == nil {
		return setting{}, err
	}
	v, ok := cm.Data[key]
	return setting{value: v, source: cmKind(cm), set: ok}, nil
}

func (s *restoreState) loadPerRestoreLocked(ctx context.Context) error {
	if s.perRestoreRead || s.configName == "" {
		return nil
	}
	c, err := s.env.client()
	if err != nil {
		return err
	}
	cm, err := c.CoreV1().ConfigMaps(s.env.Namespace).Get(ctx, s.configName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("restore %s: label %s names ConfigMap %s/%s, which does not exist; create it or remove the label",
			s.restoreName, LabelRestoreConfig, s.env.Namespace, s.configName)
	}
	if err != nil {
		return fmt.Errorf("reading per-restore ConfigMap %s/%s: %w", s.env.Namespace, s.configName, err)
	}
	if err := config.ValidateKeys(cmKind(cm), dataAndBinaryKeys(cm), allKeys()...); err != nil {
		return err
	}
	s.perRestore, s.perRestoreRead = cm, true
	return nil
}

// clusterWideLocked returns the ConfigMap labelled for action, or nil. Like
// Velero's GetPluginConfig, more than one match is an error. All plugin
// ConfigMaps are listed once per restore and shared by every action.
func (s *restoreState) clusterWideLocked(ctx context.Context, action string) (*corev1.ConfigMap, error) {
	if !s.pluginLoaded {
		c, err := s.env.client()
		if err != nil {
			return nil, err
		}
		list, err := c.CoreV1().ConfigMaps(s.env.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labelPluginConfig})
		if err != nil {
			return nil, fmt.Errorf("listing plugin ConfigMaps in namespace %s: %w", s.env.Namespace, err)
		}
		s.pluginConfigs, s.pluginLoaded = list.Items, true
	}
	var matches []*corev1.ConfigMap
	for i := range s.pluginConfigs {
		if s.pluginConfigs[i].Labels[action] == pluginKindRIA {
			matches = append(matches, &s.pluginConfigs[i])
		}
	}
	switch len(matches) {
	case 0:
		return nil, nil
	case 1:
	default:
		names := make([]string, len(matches))
		for i, m := range matches {
			names[i] = m.Name
		}
		sort.Strings(names)
		return nil, fmt.Errorf("found more than one ConfigMap in namespace %s labelled %s and %s=%s: %s; keep one",
			s.env.Namespace, labelPluginConfig, action, pluginKindRIA, strings.Join(names, ", "))
	}
	cm := matches[0]
	if err := config.ValidateKeys(cmKind(cm), dataAndBinaryKeys(cm), keysOf(action)...); err != nil {
		return nil, err
	}
	return cm, nil
}

// storageClass returns the named StorageClass of the target cluster, or nil
// when it does not exist. All classes are listed once per restore.
func (s *restoreState) storageClass(ctx context.Context, name string) (*storagev1.StorageClass, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadClassesLocked(ctx); err != nil {
		return nil, err
	}
	return s.classes[name], nil
}

// defaultStorageClass returns the target cluster's default class, or nil.
func (s *restoreState) defaultStorageClass(ctx context.Context) (*storagev1.StorageClass, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadClassesLocked(ctx); err != nil {
		return nil, err
	}
	return s.classes[s.defaultClass], nil
}

func (s *restoreState) loadClassesLocked(ctx context.Context) error {
	if s.classes != nil {
		return nil
	}
	c, err := s.env.client()
	if err != nil {
		return err
	}
	list, err := c.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing StorageClasses: %w", err)
	}
	classes := make(map[string]*storagev1.StorageClass, len(list.Items))
	var defaults []string
	for i := range list.Items {
		sc := &list.Items[i]
		classes[sc.Name] = sc
		if sc.Annotations[annDefaultStorageClass] == "true" || sc.Annotations[annBetaDefaultClass] == "true" {
			defaults = append(defaults, sc.Name)
		}
	}
	// Kubernetes picks the newest default when several are marked; the name
	// order keeps this deterministic when creation times tie.
	sort.Slice(defaults, func(i, j int) bool {
		a, b := classes[defaults[i]], classes[defaults[j]]
		if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
			return b.CreationTimestamp.Before(&a.CreationTimestamp)
		}
		return a.Name < b.Name
	})
	if len(defaults) > 0 {
		s.defaultClass = defaults[0]
	}
	s.classes = classes
	return nil
}

// nodeZones returns the zones of the target cluster's nodes, read once per
// restore.
func (s *restoreState) nodeZones(ctx context.Context) (map[string]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadNodesLocked(ctx); err != nil {
		return nil, err
	}
	return s.zones, nil
}

// nodeRegions returns the regions the target cluster's nodes are labelled
// with, read with nodeZones' listing; empty when no node says.
func (s *restoreState) nodeRegions(ctx context.Context) (map[string]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.loadNodesLocked(ctx); err != nil {
		return nil, err
	}
	return s.regions, nil
}

func (s *restoreState) loadNodesLocked(ctx context.Context) error {
	if s.zones != nil {
		return nil
	}
	c, err := s.env.client()
	if err != nil {
		return err
	}
	list, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing nodes: %w", err)
	}
	zones, regions := map[string]bool{}, map[string]bool{}
	for _, n := range list.Items {
		if z := diskpv.LabelZone(n.Labels); z != "" {
			zones[z] = true
		}
		if r := diskpv.LabelRegion(n.Labels); r != "" {
			regions[r] = true
		}
	}
	s.zones, s.regions = zones, regions
	return nil
}

func cmKind(cm *corev1.ConfigMap) string {
	return fmt.Sprintf("ConfigMap %s/%s", cm.Namespace, cm.Name)
}

// dataAndBinaryKeys lets ValidateKeys reject binaryData keys too: settings are
// only read from data.
func dataAndBinaryKeys(cm *corev1.ConfigMap) map[string]string {
	m := make(map[string]string, len(cm.Data)+len(cm.BinaryData))
	for k, v := range cm.Data {
		m[k] = v
	}
	for k := range cm.BinaryData {
		m["binaryData."+k] = ""
	}
	return m
}

func allKeys() []string {
	keys := make([]string, 0, len(keyOwner))
	for k := range keyOwner {
		keys = append(keys, k)
	}
	return keys
}

func keysOf(action string) []string {
	var keys []string
	for k, owner := range keyOwner {
		if owner == action {
			keys = append(keys, k)
		}
	}
	return keys
}

// Parsers. Each names the ConfigMap (kind) and key, and the expected form, in
// the format of internal/config.

// parseMapping parses a YAML map of strings, e.g.
//
//	docker.io/library/: registry.cn-beijing.aliyuncs.com/my-registry/
func parseMapping(kind, key, value string) (map[string]string, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var m map[string]string
	if err := yaml.UnmarshalStrict([]byte(value), &m); err != nil {
		return nil, fmt.Errorf("%s config: %s must be a YAML map of \"from: to\" strings, one per line (%v)", kind, key, yamlErr(err))
	}
	for from, to := range m {
		if strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
			return nil, fmt.Errorf("%s config: %s entry %q: %q has an empty side; write \"from: to\" with both set", kind, key, from, to)
		}
	}
	return m, nil
}

// yamlErr keeps YAML errors to one line.
func yamlErr(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", " ")
}

// parseSize parses a non-negative Kubernetes quantity such as 20Gi.
func parseSize(kind, key, value string) (resource.Quantity, error) {
	q, err := resource.ParseQuantity(strings.TrimSpace(value))
	if err != nil || q.Sign() < 0 {
		return resource.Quantity{}, fmt.Errorf("%s config: %s %q must be a size such as 20Gi (0 turns the minimum off)", kind, key, value)
	}
	return q, nil
}

// boolSetting reads a true/false key with a default.
func (s *restoreState) boolSetting(ctx context.Context, key string, def bool) (bool, error) {
	st, err := s.lookup(ctx, key)
	if err != nil || !st.set {
		return def, err
	}
	return config.Bool(st.source, map[string]string{key: st.value}, key, def)
}
