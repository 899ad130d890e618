//go:build containertest && linux

// Package container checks the plugin image that `make container` leaves as
// an OCI archive: `make container-test` (as root: it runs the entrypoint
// under chroot) builds the archive and runs this test. The image is read
// from the archive itself, so the check does not depend on the tool that
// built it.
package container

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/vmware-tanzu/velero/pkg/plugin/clientmgmt/process"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework/common"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/plugintest"
)

const (
	bin     = plugintest.BinaryName
	user    = "65532:65532"
	maxFile = 10
)

var platforms = []string{"linux/amd64", "linux/arm64"}

// Velero runs os.Args[0] with run-plugins when it discovers plugins.
func TestMain(m *testing.M) { plugintest.Main(m) }

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
	} `json:"platform"`
}

type manifest struct {
	MediaType string       `json:"mediaType"`
	Manifests []descriptor `json:"manifests"` // an index
	Config    descriptor   `json:"config"`    // an image
	Layers    []descriptor `json:"layers"`
}

type config struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       struct {
		User       string            `json:"User"`
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
}

// image is one platform's image: its config and its files by path.
type image struct {
	config config
	files  map[string]*tar.Header
	data   map[string][]byte
	packed int64 // compressed layer bytes
}

func TestImage(t *testing.T) {
	archive := os.Getenv("CONTAINER_ARCHIVE")
	if archive == "" {
		archive = filepath.Join(root(), "_output", "container", bin+".oci.tar")
	}
	blobs := readArchive(t, archive)

	// Every platform of the index, nested indexes followed.
	images := map[string]*image{}
	var walk func(d descriptor)
	walk = func(d descriptor) {
		var m manifest
		decode(t, blobs, d.Digest, &m)
		if m.Manifests != nil {
			for _, d := range m.Manifests {
				walk(d)
			}
			return
		}
		if d.Platform == nil {
			t.Fatalf("manifest %s in the index has no platform", d.Digest)
		}
		img := &image{files: map[string]*tar.Header{}, data: map[string][]byte{}}
		decode(t, blobs, m.Config.Digest, &img.config)
		for _, l := range m.Layers {
			img.packed += l.Size
			unpackLayer(t, l, blob(t, blobs, l.Digest), img)
		}
		images[d.Platform.OS+"/"+d.Platform.Architecture] = img
	}
	var index manifest
	decode(t, blobs, "index.json", &index)
	for _, d := range index.Manifests {
		walk(d)
	}
	var got []string
	for p := range images {
		got = append(got, p)
	}
	slices.Sort(got)
	if !slices.Equal(got, platforms) {
		t.Fatalf("platforms in %s: %v, want %v", archive, got, platforms)
	}

	for _, p := range platforms {
		img := images[p]
		c := img.config
		if c.OS+"/"+c.Architecture != p {
			t.Errorf("%s: config says %s/%s", p, c.OS, c.Architecture)
		}
		if c.Config.User != user {
			t.Errorf("%s: user %q, want %q", p, c.Config.User, user)
		}
		for _, l := range []string{"source", "version", "title"} {
			if c.Config.Labels["org.opencontainers.image."+l] == "" {
				t.Errorf("%s: no label org.opencontainers.image.%s", p, l)
			}
		}
		if len(c.Config.Entrypoint) == 0 {
			t.Fatalf("%s: no entrypoint", p)
		}
		if len(img.data) >= maxFile {
			t.Errorf("%s: %d files in the image, want fewer than %d", p, len(img.data), maxFile)
		}
		var size int64
		for name, data := range img.data {
			size += int64(len(data))
			checkStaticELF(t, p, name, data)
		}
		if _, ok := img.data["plugins/"+bin]; !ok {
			t.Errorf("%s: no /plugins/%s in the image", p, bin)
		}
		if _, ok := img.data[strings.TrimPrefix(c.Config.Entrypoint[0], "/")]; !ok {
			t.Errorf("%s: entrypoint %s is not in the image", p, c.Config.Entrypoint[0])
		}
		t.Logf("%s: %d files, %.1f MiB in layers (%.1f MiB unpacked), entrypoint %v, user %s",
			p, len(img.data), mib(img.packed), mib(size), c.Config.Entrypoint, c.Config.User)
	}
	if t.Failed() {
		t.FailNow()
	}

	// The init container of `velero plugin add`: the entrypoint, as uid
	// 65532, with the plugin volume (an emptyDir: mode 0777) at /target.
	if runtime.GOARCH != "amd64" {
		t.Fatalf("the entrypoint check runs the linux/amd64 image; this is %s", runtime.GOARCH)
	}
	if os.Geteuid() != 0 {
		t.Fatal("the entrypoint check runs the image under chroot: run as root")
	}
	img := images["linux/amd64"]
	rootfs := t.TempDir()
	if err := os.Chmod(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	writeRootfs(t, rootfs, img)
	target := filepath.Join(rootfs, "target")
	if err := os.Mkdir(target, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o777); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--userspec=" + user, rootfs}, img.config.Config.Entrypoint...)
	cmd := exec.Command("chroot", append(args, img.config.Config.Cmd...)...)
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	t.Logf("chroot %s: %s", strings.Join(args, " "), bytes.TrimSpace(out))
	if err != nil {
		t.Fatalf("the entrypoint failed: %v", err)
	}
	entries, err := os.ReadDir(target)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != bin {
		t.Fatalf("/target after the entrypoint: %v, want only %s", entries, bin)
	}
	copied := filepath.Join(target, bin)
	data, err := os.ReadFile(copied)
	if err != nil {
		t.Fatal(err)
	}
	built, err := os.ReadFile(filepath.Join(root(), "_output", "linux", "amd64", bin))
	if err != nil {
		t.Fatal(err)
	}
	if sum(data) != sum(img.data["plugins/"+bin]) || sum(data) != sum(built) {
		t.Fatalf("copied plugin sha256 %s, image's %s, make build's %s",
			sum(data), sum(img.data["plugins/"+bin]), sum(built))
	}
	fi, err := os.Stat(copied)
	if err != nil {
		t.Fatal(err)
	}
	if uid := fileUID(fi); uid != 65532 || fi.Mode().Perm()&0o111 != 0o111 {
		t.Fatalf("copied plugin: owner uid %d, mode %v; want uid 65532, executable", uid, fi.Mode())
	}
	t.Logf("copied %s to /target as uid 65532: sha256 %s, same as the image's and make build's", bin, sum(data))

	// The copy is a Velero plugin: started by hand it says so and exits
	// non-zero...
	out, err = exec.Command("chroot", "--userspec="+user, rootfs, "/target/"+bin).CombinedOutput()
	const msg = "This binary is a plugin"
	if err == nil || !bytes.Contains(out, []byte(msg)) {
		t.Fatalf("the copied plugin run by hand: %v, output %q; want a non-zero exit and %q", err, out, msg)
	}
	t.Logf("the copied plugin run by hand: %v, %q", err, firstLine(out))

	// ...and Velero's plugin registry, pointed at /target, finds its plugins.
	logger := logrus.New()
	logger.SetLevel(logrus.WarnLevel)
	registry := process.NewRegistry(target, logger, logrus.WarnLevel)
	if err := registry.DiscoverPlugins(); err != nil {
		t.Fatalf("Velero's registry on /target: %v", err)
	}
	for _, kind := range []common.PluginKind{common.PluginKindObjectStore, common.PluginKindVolumeSnapshotter} {
		id, err := registry.Get(kind, "velero.io/alibabacloud")
		if err != nil || id.Command != copied {
			t.Fatalf("Velero's registry, %s velero.io/alibabacloud: %+v, %v; want it from %s", kind, id, err, copied)
		}
	}
	t.Logf("Velero's registry finds in /target: %d restore item actions, %d backup item actions, ObjectStore and VolumeSnapshotter velero.io/alibabacloud",
		len(registry.List(common.PluginKindRestoreItemActionV2)), len(registry.List(common.PluginKindBackupItemActionV2)))
}

// readArchive returns the files of an OCI archive by path (blobs/sha256/<hex>, index.json).
func readArchive(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v: run make container", err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		if h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimPrefix(h.Name, "./")] = data
		}
	}
	var layout struct {
		Version string `json:"imageLayoutVersion"`
	}
	if err := json.Unmarshal(files["oci-layout"], &layout); err != nil || layout.Version == "" {
		t.Fatalf("%s is not an OCI image layout: oci-layout %q", path, files["oci-layout"])
	}
	return files
}

// blob returns a blob by digest, verified.
func blob(t *testing.T, blobs map[string][]byte, digest string) []byte {
	t.Helper()
	hexsum, ok := strings.CutPrefix(digest, "sha256:")
	data, found := blobs["blobs/sha256/"+hexsum]
	if !ok || !found || sum(data) != hexsum {
		t.Fatalf("blob %s: missing or corrupt", digest)
	}
	return data
}

func decode(t *testing.T, blobs map[string][]byte, digest string, v any) {
	t.Helper()
	data := blobs[digest]
	if digest != "index.json" {
		data = blob(t, blobs, digest)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", digest, err)
	}
}

func unpackLayer(t *testing.T, l descriptor, data []byte, img *image) {
	t.Helper()
	var r io.Reader = bytes.NewReader(data)
	switch {
	case strings.HasSuffix(l.MediaType, "+gzip"):
		gz, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("layer %s: %v", l.Digest, err)
		}
		r = gz
	case strings.HasSuffix(l.MediaType, "tar"):
	default:
		t.Fatalf("layer %s: media type %s", l.Digest, l.MediaType)
	}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("layer %s: %v", l.Digest, err)
		}
		name := strings.Trim(filepath.Clean("/"+h.Name), "/")
		if name == "" || strings.HasPrefix(filepath.Base(name), ".wh.") {
			continue
		}
		img.files[name] = h
		switch h.Typeflag {
		case tar.TypeDir:
		case tar.TypeReg:
			if img.data[name], err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("layer %s: %s is neither a file nor a directory (type %c)", l.Digest, name, h.Typeflag)
		}
	}
}

// writeRootfs lays an image's files out under dir with their modes.
func writeRootfs(t *testing.T, dir string, img *image) {
	t.Helper()
	names := make([]string, 0, len(img.files))
	for name := range img.files {
		names = append(names, name)
	}
	slices.Sort(names) // parents first
	for _, name := range names {
		h, path := img.files[name], filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if h.Typeflag == tar.TypeDir {
			err = os.MkdirAll(path, 0o755)
		} else {
			err = os.WriteFile(path, img.data[name], 0o600)
		}
		if err == nil {
			err = os.Chmod(path, os.FileMode(h.Mode).Perm())
		}
		if err == nil {
			err = os.Lchown(path, h.Uid, h.Gid)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// checkStaticELF: each file is a static executable for the platform (no
// loader to find in a scratch image).
func checkStaticELF(t *testing.T, platform, name string, data []byte) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: /%s is not an ELF executable: %v", platform, name, err)
		return
	}
	want := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}[platform]
	if f.Machine != want {
		t.Errorf("%s: /%s is built for %v", platform, name, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: /%s is dynamically linked", platform, name)
		}
	}
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func fileUID(fi os.FileInfo) int { return int(fi.Sys().(*syscall.Stat_t).Uid) }

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}

// root is the repository root, two directories above this file.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
