package retry

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alibabacloud/velero-plugin-for-alibabacloud/internal/testutil"
)

func TestDelayIsCappedWithFullJitter(t *testing.T) {
	p := Policy{Attempts: 10, Base: 100 * time.Millisecond, Max: time.Second}
	for n := 1; n <= 70; n++ {
		ceil := p.Max
		if n <= 4 {
			ceil = p.Base << (n - 1)
		}
		var lo, hi time.Duration = ceil, 0
		for range 200 {
			d := p.Delay(n)
			if d < 0 || d > ceil {
				t.Fatalf("Delay(%d) = %s; want within [0, %s]", n, d, ceil)
			}
			lo, hi = min(lo, d), max(hi, d)
		}
		// Full jitter: waits spread over the whole range, not its top half.
		if lo > ceil/2 || hi < ceil/2 {
			t.Errorf("Delay(%d) ranged over [%s, %s]; want spread over [0, %s]", n, lo, hi, ceil)
		}
	}
}

func TestDefaultRidesOutAboutAMinute(t *testing.T) {
	var worst time.Duration
	for n := 1; n < Default.Attempts; n++ {
		worst += min(Default.Base<<(n-1), Default.Max)
	}
	if worst < 30*time.Second || worst > 90*time.Second {
		t.Errorf("Default sleeps at most %s; want about a minute", worst)
	}
}

func TestDo(t *testing.T) {
	transient, permanent := errors.New("transient"), errors.New("permanent")
	p := Policy{Attempts: 4, Base: time.Millisecond, Max: 2 * time.Millisecond}
	tests := []struct {
		name  string
		errs  []error // fn's results, in order; nil after the end
		calls int
		want  error
		logs  int
	}{
		{"success", nil, 1, nil, 0},
		{"recovers", []error{transient, transient}, 3, nil, 2},
		{"permanent at once", []error{permanent}, 1, permanent, 0},
		{"permanent after a retry", []error{transient, permanent}, 2, permanent, 1},
		{"gives up", []error{transient, transient, transient, transient, transient}, 4, transient, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs testutil.Log
			calls := 0
			err := p.Do(Call{
				Service:   "TEST",
				Op:        "op",
				Log:       logs.Logger().WithField("bucket", "b"),
				Retryable: func(err error) bool { return err == transient },
				Code:      func(error) string { return "Throttling" },
				Describe:  func(err error) string { return "described " + err.Error() },
			}, func() error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			})
			if err != tt.want || calls != tt.calls {
				t.Errorf("Do = %v after %d calls; want %v after %d", err, calls, tt.want, tt.calls)
			}
			out := logs.String()
			if got := strings.Count(out, "transient TEST error, retrying"); got != tt.logs {
				t.Errorf("%d retry lines; want %d:\n%s", got, tt.logs, out)
			}
			if tt.logs > 0 {
				for _, w := range []string{"level=info", "operation=op", "attempt=1", "backoff=", "code=Throttling", "bucket=b", `error="described transient"`} {
					if !strings.Contains(out, w) {
						t.Errorf("log lacks %q:\n%s", w, out)
					}
				}
			}
		})
	}
}
