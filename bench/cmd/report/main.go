// Command report turns the output of `go test -bench ./bench/` into the
// Markdown report bench/REPORT.md. Every comparison is a ratio of two
// figures measured in the same round of the same run (the machine is shared
// and its absolute speed drifts); with several rounds (-count) it shows the
// median ratio and the range.
//
//	go test -run '^$' -bench . -benchtime 1x -count 3 ./bench/ | tee out.txt
//	go run ./bench/cmd/report -in out.txt -out bench/REPORT.md
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	in := flag.String("in", "-", "benchmark output to read (- for stdin)")
	out := flag.String("out", "-", "Markdown file to write (- for stdout)")
	title := flag.String("context", "", "a line about the run (date, machine load) for the report's header")
	flag.Parse()
	r := io.Reader(os.Stdin)
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		r = f
	}
	res, err := parse(r)
	if err != nil {
		fatal(err)
	}
	md := render(res, *title)
	if *out == "-" {
		fmt.Print(md)
		return
	}
	if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	os.Exit(1)
}

// results holds every measurement by benchmark name (without the -N
// GOMAXPROCS suffix); sample i of a name was taken in round i.
type results struct {
	samples map[string][]sample
	order   []string // names in first-seen order
	header  []string // goos/goarch/cpu lines
	failed  []string // FAIL / skip lines worth showing
	missing []string // "<peer>: <why>" of peers BenchmarkPeers did not measure
}

// sample is one benchmark line: unit -> value (ns/op, MB/s, custom units).
type sample map[string]float64

var lineRE = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+(\d+)\s+(.*)$`)

func parse(r io.Reader) (*results, error) {
	res := &results{samples: map[string][]sample{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "cpu:"), strings.HasPrefix(line, "goos:"), strings.HasPrefix(line, "goarch:"):
			if !contains(res.header, line) {
				res.header = append(res.header, line)
			}
			continue
		case strings.HasPrefix(line, "peer-missing: "):
			if m := strings.TrimPrefix(line, "peer-missing: "); !contains(res.missing, m) {
				res.missing = append(res.missing, m)
			}
			continue
		case strings.HasPrefix(line, "--- FAIL"), strings.HasPrefix(line, "--- SKIP"):
			res.failed = append(res.failed, line)
			continue
		}
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fields := strings.Fields(m[4])
		if len(fields)%2 != 0 {
			return nil, fmt.Errorf("benchmark line with an odd number of value/unit fields: %q", line)
		}
		s := sample{}
		for i := 0; i < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark line %q: value %q: %w", line, fields[i], err)
			}
			s[fields[i+1]] = v
		}
		name := m[1]
		if _, ok := res.samples[name]; !ok {
			res.order = append(res.order, name)
		}
		res.samples[name] = append(res.samples[name], s)
	}
	return res, sc.Err()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// values returns unit's value of name in each round (NaN-free: rounds
// without the unit are skipped).
func (r *results) values(name, unit string) []float64 {
	var out []float64
	for _, s := range r.samples[name] {
		if v, ok := s[unit]; ok {
			out = append(out, v)
		}
	}
	return out
}

// stat is a median with its range over rounds.
type stat struct {
	median, min, max float64
	n                int
}

func summarize(v []float64) (stat, bool) {
	if len(v) == 0 {
		return stat{}, false
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stat{median: m, min: s[0], max: s[len(s)-1], n: len(s)}, true
}

// get summarizes unit of name over the rounds.
func (r *results) get(name, unit string) (stat, bool) { return summarize(r.values(name, unit)) }

// ratio summarizes unit(a)/unit(b) taken round by round: the two figures of
// each ratio come from the same round.
func (r *results) ratio(a, b, unit string) (stat, bool) {
	sa, sb := r.samples[a], r.samples[b]
	var v []float64
	for i := 0; i < len(sa) && i < len(sb); i++ {
		x, okx := sa[i][unit]
		y, oky := sb[i][unit]
		if okx && oky && y != 0 {
			v = append(v, x/y)
		}
	}
	return summarize(v)
}

// names returns the benchmark names with prefix, in first-seen order.
func (r *results) names(prefix string) []string {
	var out []string
	for _, n := range r.order {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}
