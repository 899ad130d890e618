package backupactions

import (
	"testing"

	"github.com/sirupsen/logrus"
	biav2 "github.com/vmware-tanzu/velero/pkg/plugin/velero/backupitemaction/v2"
)

func TestInitializers(t *testing.T) {
	for name, init := range Initializers() {
		impl, err := init(logrus.New())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		a, ok := impl.(biav2.BackupItemAction)
		if !ok {
			t.Fatalf("%s: %T is not a v2 BackupItemAction", name, impl)
		}
		if a.Name() != name {
			t.Errorf("Name() = %s, want %s", a.Name(), name)
		}
		if _, err := a.Progress("op", nil); err == nil {
			t.Errorf("%s: Progress should report that async operations are not supported", name)
		}
	}
	for _, name := range []string{NameDiskTopology, NameVolumeRegion} {
		if _, ok := Initializers()[name]; !ok {
			t.Errorf("%s not registered", name)
		}
	}
}
