package fault

import (
	"testing"
	"time"
)

func TestDecideRates(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		want map[Kind]float64 // expected share
	}{
		{"none", Config{Seed: 1}, map[Kind]float64{None: 1}},
		{"errors only", Config{ErrorRate: 1, Seed: 1}, map[Kind]float64{ServerError: 1}},
		{"mixed", Config{ErrorRate: 0.1, ThrottleRate: 0.2, ResetRate: 0.3, DelayRate: 0.2, Delay: time.Millisecond, Seed: 7},
			map[Kind]float64{ServerError: 0.1, Throttle: 0.2, Reset: 0.3, Delay: 0.2, None: 0.2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			i := New(c.cfg)
			const n = 20000
			got := map[Kind]int{}
			for range n {
				d := i.Decide()
				got[d.Kind]++
				if d.Kind == Delay && d.Delay != c.cfg.Delay {
					t.Fatalf("delay decision with %v, want %v", d.Delay, c.cfg.Delay)
				}
			}
			for _, k := range []Kind{None, ServerError, Throttle, Reset, Delay} {
				share := float64(got[k]) / n
				if d := share - c.want[k]; d > 0.02 || d < -0.02 {
					t.Errorf("%v share %.3f, want %.2f", k, share, c.want[k])
				}
				if i.Count(k) != int64(got[k]) {
					t.Errorf("Count(%v) = %d, want %d", k, i.Count(k), got[k])
				}
			}
		})
	}
}

func TestSeedReproducible(t *testing.T) {
	cfg := Config{ErrorRate: 0.5, ResetRate: 0.25, Seed: 99}
	a, b := New(cfg), New(cfg)
	for n := range 1000 {
		if x, y := a.Decide(), b.Decide(); x != y {
			t.Fatalf("decision %d differs: %v vs %v", n, x, y)
		}
	}
}

func TestEnqueueAndNil(t *testing.T) {
	i := New(Config{Seed: 1})
	i.Enqueue(Decision{Kind: Reset}, Decision{Kind: Delay, Delay: time.Second})
	want := []Decision{{Kind: Reset}, {Kind: Delay, Delay: time.Second}, {Kind: None}}
	for n, w := range want {
		if got := i.Decide(); got != w {
			t.Fatalf("decision %d = %v, want %v", n, got, w)
		}
	}
	var nilInj *Injector
	if d := nilInj.Decide(); d.Kind != None || nilInj.Count(None) != 0 {
		t.Fatalf("nil injector decided %v", d)
	}
}
