// Command copy-plugins is the plugin image's entrypoint. The init container
// that `velero plugin add` (or `velero install --plugins`) creates mounts the
// Velero server's plugin volume at /target and runs it; it copies every file
// of /plugins there, executable, and exits. Arguments override the two
// directories: copy-plugins [SOURCE TARGET].
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	src, dst := "/plugins", "/target"
	if len(os.Args) == 3 {
		src, dst = os.Args[1], os.Args[2]
	}
	entries, err := os.ReadDir(src)
	if err == nil && len(entries) == 0 {
		err = fmt.Errorf("no plugin in %s", src)
	}
	for _, e := range entries {
		if err = copyFile(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			break
		}
		fmt.Printf("copied %s to %s\n", e.Name(), dst)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "copy-plugins:", err)
		os.Exit(1)
	}
}

// copyFile writes beside the destination and renames, so the Velero server
// never finds a partial binary in its plugin directory.
func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(to), "."+filepath.Base(to)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Chmod(0o755)
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(out.Name(), to)
	}
	return err
}
