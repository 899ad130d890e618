package restoreactions

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/distribution/reference"
	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/velero"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ImageRegistryMappingAction rewrites container images by
// imageRegistryMapping, a YAML map of registry or repository prefixes, e.g.
//
//	docker.io/library/: registry.cn-beijing.aliyuncs.com/my-registry/
//
// References are parsed as Docker does ("nginx" is docker.io/library/nginx),
// prefixes match whole path components, the longest prefix wins, and tags
// and digests are kept.
type ImageRegistryMappingAction struct{ base }

// NewImageRegistryMappingAction is the initializer registered with Velero.
func NewImageRegistryMappingAction(log logrus.FieldLogger) (any, error) {
	return &ImageRegistryMappingAction{base{log: log, env: DefaultEnv()}}, nil
}

func (a *ImageRegistryMappingAction) Name() string { return NameImageRegistryMapping }

func (a *ImageRegistryMappingAction) AppliesTo() (velero.ResourceSelector, error) {
	return velero.ResourceSelector{
		IncludedResources: []string{
			"pods", "deployments.apps", "statefulsets.apps", "daemonsets.apps", "replicasets.apps",
			"replicationcontrollers", "jobs.batch", "cronjobs.batch",
		},
	}, nil
}

// podSpecPath is where each kind keeps its pod spec.
func podSpecPath(kind string) []string {
	switch kind {
	case "Pod":
		return []string{"spec"}
	case "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template", "spec"}
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job":
		return []string{"spec", "template", "spec"}
	}
	return nil
}

var containerLists = []string{"initContainers", "containers", "ephemeralContainers"}

func (a *ImageRegistryMappingAction) Execute(input *velero.RestoreItemActionExecuteInput) (*velero.RestoreItemActionExecuteOutput, error) {
	obj, ok := input.Item.(*unstructured.Unstructured)
	if !ok {
		return nil, fmt.Errorf("restore item has unexpected type %T", input.Item)
	}
	path := podSpecPath(obj.GetKind())
	if path == nil || !hasImages(obj, path) {
		return unchanged(input), nil
	}
	st, err := a.env.forRestore(input.Restore).lookup(context.TODO(), KeyImageRegistryMapping)
	if err != nil || !st.set {
		return unchanged(input), err
	}
	m, err := parseMapping(st.source, KeyImageRegistryMapping, st.value)
	if err != nil {
		return nil, err
	}
	mapper, err := newImageMapper(st.source, m)
	if err != nil {
		return nil, err
	}
	out := obj.DeepCopy()
	log := a.itemLog(a.Name(), obj)
	changed := false
	for _, list := range containerLists {
		c, err := mapContainers(out, append(append([]string{}, path...), list), mapper, log)
		if err != nil {
			return nil, fmt.Errorf("%s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
		}
		changed = changed || c
	}
	if !changed {
		return unchanged(input), nil
	}
	return velero.NewRestoreItemActionExecuteOutput(out), nil
}

func hasImages(obj *unstructured.Unstructured, path []string) bool {
	for _, list := range containerLists {
		items, _, _ := unstructured.NestedSlice(obj.Object, append(append([]string{}, path...), list)...)
		for _, item := range items {
			if c, ok := item.(map[string]any); ok {
				if img, _ := c["image"].(string); img != "" {
					return true
				}
			}
		}
	}
	return false
}

func mapContainers(obj *unstructured.Unstructured, path []string, m *imageMapper, log logrus.FieldLogger) (bool, error) {
	items, found, err := unstructured.NestedSlice(obj.Object, path...)
	if err != nil || !found {
		return false, err
	}
	changed := false
	for _, item := range items {
		c, ok := item.(map[string]any)
		if !ok {
			continue
		}
		img, _ := c["image"].(string)
		if img == "" {
			continue
		}
		newImg, err := m.Map(img)
		if err != nil {
			return false, fmt.Errorf("container %v: %w", c["name"], err)
		}
		if newImg != img {
			log.Infof("changing image of container %v from %s to %s", c["name"], img, newImg)
			c["image"] = newImg
			changed = true
		}
	}
	if !changed {
		return false, nil
	}
	return true, unstructured.SetNestedSlice(obj.Object, items, path...)
}

// imageMapper maps normalized repository-name prefixes to replacements.
type imageMapper struct {
	rules []imageRule // longest prefix first
}

type imageRule struct {
	from   string // as configured, for messages
	prefix string // normalized, e.g. docker.io/library
	to     string // replacement prefix, trailing slash removed
}

// newImageMapper validates the mapping. kind names the ConfigMap in messages.
func newImageMapper(kind string, m map[string]string) (*imageMapper, error) {
	byPrefix := map[string]string{}
	mapper := &imageMapper{}
	for from, to := range m {
		prefix, err := normalizePrefix(from)
		if err != nil {
			return nil, fmt.Errorf("%s config: %s key %q is not a registry or repository prefix (%v); write e.g. docker.io/library/ or nginx, without tag or digest",
				kind, KeyImageRegistryMapping, from, err)
		}
		if other, dup := byPrefix[prefix]; dup {
			a, b := sortedPair(other, from)
			return nil, fmt.Errorf("%s config: %s keys %q and %q both mean %s; keep one", kind, KeyImageRegistryMapping, a, b, prefix)
		}
		byPrefix[prefix] = from
		toTrim := strings.TrimSuffix(strings.TrimSpace(to), "/")
		if _, err := normalizePrefix(toTrim + "/"); err != nil {
			return nil, fmt.Errorf("%s config: %s value %q for %q is not a registry or repository prefix (%v); write e.g. registry.cn-beijing.aliyuncs.com/my-registry/",
				kind, KeyImageRegistryMapping, to, from, err)
		}
		mapper.rules = append(mapper.rules, imageRule{from: from, prefix: prefix, to: toTrim})
	}
	sort.Slice(mapper.rules, func(i, j int) bool {
		a, b := mapper.rules[i].prefix, mapper.rules[j].prefix
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return a < b
	})
	return mapper, nil
}

func sortedPair(a, b string) (string, string) {
	if a > b {
		return b, a
	}
	return a, b
}

// normalizePrefix turns a configured prefix into a fully qualified
// repository-name prefix. "docker.io/library/" and "library/" give
// docker.io/library; "nginx" gives docker.io/library/nginx;
// "registry.example.com/" gives registry.example.com. A trailing slash marks
// a registry or namespace; without one the prefix is a repository name (which
// also matches repositories below it).
func normalizePrefix(from string) (string, error) {
	from = strings.TrimSpace(from)
	if from == "" || from == "/" {
		return "", fmt.Errorf("empty")
	}
	if strings.HasSuffix(from, "/") {
		// Parse with a two-component sample below the prefix, so that the
		// first component of "docker.io/" or "registry.example.com/" is read
		// as a domain, as it is in real references.
		const sample = "x/y"
		named, err := reference.ParseNormalizedNamed(from + sample)
		if err != nil {
			return "", err
		}
		return strings.TrimSuffix(named.Name(), "/"+sample), nil
	}
	named, err := reference.ParseNormalizedNamed(from)
	if err != nil {
		return "", err
	}
	if !reference.IsNameOnly(named) {
		return "", fmt.Errorf("has a tag or digest")
	}
	return named.Name(), nil
}

// Map returns the mapped image, or image itself when no rule matches. An
// image that does not parse is left as it is: it cannot be mapped safely and
// Kubernetes reports it when pulling.
func (m *imageMapper) Map(image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image, nil
	}
	name := named.Name()
	for _, r := range m.rules {
		if name != r.prefix && !strings.HasPrefix(name, r.prefix+"/") {
			continue
		}
		out := r.to + name[len(r.prefix):]
		if t, ok := named.(reference.Tagged); ok {
			out += ":" + t.Tag()
		}
		if d, ok := named.(reference.Digested); ok {
			out += "@" + d.Digest().String()
		}
		if _, err := reference.ParseNormalizedNamed(out); err != nil {
			return "", fmt.Errorf("mapping image %s by %s rule %q gives %q, which is not a valid image reference: %v", image, KeyImageRegistryMapping, r.from, out, err)
		}
		return out, nil
	}
	return image, nil
}
