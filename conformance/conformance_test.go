package conformance

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

var (
	dataDir = flag.String("onnx-testdata", "/usr/share/libonnx-testdata/data", "ONNX backend test data directory (suites node, pytorch-converted, pytorch-operator, simple)")
	filter  = flag.String("filter", "", "regexp selecting test directories")
	report  = flag.String("report", "", "write the per-op pass-rate table to this file")
)

// outcome of one backend test case.
type outcome int

const (
	pass outcome = iota
	fail
	unsupported // uses an op or dtype hone does not claim
	expectedFail
)

type caseResult struct {
	name   string
	ops    []string
	result outcome
	detail string
}

// expectedFailures lists cases that fail for a documented reason (testdata/expected_failures.txt: "name  reason").
func expectedFailures(t *testing.T) map[string]string {
	m := map[string]string{}
	f, err := os.Open("testdata/expected_failures.txt")
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, reason, _ := strings.Cut(line, " ")
		m[name] = strings.TrimSpace(reason)
	}
	return m
}

// TestNode runs ONNX's per-operator node tests.
func TestNode(t *testing.T) { runSuite(t, "node") }

// TestPyTorch runs the suites ONNX exported from PyTorch modules and operators, and the small multi-node models.
func TestPyTorch(t *testing.T) {
	for _, suite := range []string{"pytorch-converted", "pytorch-operator", "simple"} {
		t.Run(suite, func(t *testing.T) { runSuite(t, suite) })
	}
}

func runSuite(t *testing.T, suite string) {
	dirs, err := filepath.Glob(filepath.Join(*dataDir, suite, "test_*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no ONNX backend tests under %s/%s (install Debian's libonnx-testdata: scripts/setup.sh does)", *dataDir, suite)
	}
	var re *regexp.Regexp
	if *filter != "" {
		re = regexp.MustCompile(*filter)
	}
	known := expectedFailures(t)
	var mu sync.Mutex
	var results []caseResult
	for _, dir := range dirs {
		name := filepath.Base(dir)
		if re != nil && !re.MatchString(name) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			r := runCase(dir)
			r.name = name
			if r.result == fail {
				if reason, ok := known[name]; ok {
					r.result = expectedFail
					r.detail = reason + " (" + r.detail + ")"
				} else {
					t.Errorf("%s", r.detail)
				}
			} else if r.result == pass {
				if _, ok := known[name]; ok {
					t.Errorf("listed in testdata/expected_failures.txt but passes now: remove it")
				}
			}
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
			if r.result == unsupported {
				t.Skip("not claimed by hone: " + r.detail)
			}
		})
	}
	summarise(t, suite, results)
}

func runCase(dir string) caseResult {
	m, err := onnx.Load(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return caseResult{result: unsupported, detail: "load: " + err.Error()}
	}
	var ops []string
	for _, n := range m.Graph.Nodes {
		ops = append(ops, opKey(n))
		if !runtime.IsSupported(n.Domain, n.OpType) {
			return caseResult{ops: ops, result: unsupported, detail: "op " + opKey(n) + " not supported"}
		}
	}
	p, err := runtime.Compile(m, runtime.Options{Threads: 1})
	if err != nil {
		if isUnsupported(err) {
			return caseResult{ops: ops, result: unsupported, detail: err.Error()}
		}
		return caseResult{ops: ops, result: fail, detail: "compile: " + err.Error()}
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return caseResult{ops: ops, result: unsupported, detail: "no test data"}
	}
	for _, set := range sets {
		inputs := map[string]*ir.Tensor{}
		for i, vi := range p.Inputs() {
			t, err := onnx.ReadTensor(filepath.Join(set, fmt.Sprintf("input_%d.pb", i)))
			if err != nil {
				return caseResult{ops: ops, result: unsupported, detail: fmt.Sprintf("input %d: %v", i, err)}
			}
			inputs[vi.Name] = fixBFloat16(t, vi.Type.DType)
		}
		outs, err := p.Run(inputs)
		if err != nil {
			if isUnsupported(err) {
				return caseResult{ops: ops, result: unsupported, detail: err.Error()}
			}
			return caseResult{ops: ops, result: fail, detail: "run: " + err.Error()}
		}
		for i, vo := range p.Outputs() {
			want, err := onnx.ReadTensor(filepath.Join(set, fmt.Sprintf("output_%d.pb", i)))
			if err != nil {
				return caseResult{ops: ops, result: unsupported, detail: fmt.Sprintf("output %d: %v", i, err)}
			}
			want = fixBFloat16(want, vo.Type.DType)
			if msg := compare(outs[vo.Name], want); msg != "" {
				return caseResult{ops: ops, result: fail, detail: fmt.Sprintf("%s: output %q: %s", filepath.Base(set), vo.Name, msg)}
			}
		}
	}
	return caseResult{ops: ops, result: pass}
}

// fixBFloat16 undoes a quirk of ONNX 1.12's test data: some bfloat16 tensors are stored as uint16 bit patterns.
func fixBFloat16(t *ir.Tensor, declared ir.DType) *ir.Tensor {
	if declared == ir.BFloat16 && t.DType == ir.Uint16 {
		c, err := ir.FromBytes(ir.BFloat16, t.Shape, t.Bytes())
		if err == nil {
			return c
		}
	}
	return t
}

func isUnsupported(err error) bool { return err != nil && errorsIs(err, runtime.ErrUnsupported) }

func opKey(n *ir.Node) string {
	if n.Domain == "" || n.Domain == "ai.onnx" {
		return n.OpType
	}
	return n.Domain + ":" + n.OpType
}

// compare checks got against want with ONNX's backend-test tolerance (rtol 1e-3, atol 1e-7), exact for
// integers, bools and strings; NaN must match NaN.
func compare(got, want *ir.Tensor) string {
	if got == nil {
		return "missing"
	}
	if got.DType != want.DType {
		return fmt.Sprintf("dtype %s, want %s", got.DType, want.DType)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) && !(got.Len() == 1 && want.Len() == 1 && len(got.Shape)+len(want.Shape) <= 1) {
		return fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)
	}
	if want.DType == ir.String {
		for i := range want.Strings {
			if got.Strings[i] != want.Strings[i] {
				return fmt.Sprintf("element %d = %q, want %q", i, got.Strings[i], want.Strings[i])
			}
		}
		return ""
	}
	g, w := got.Float64s(), want.Float64s()
	rtol, atol := 1e-3, 1e-7
	if want.DType == ir.Float16 || want.DType == ir.BFloat16 {
		rtol, atol = 1e-2, 1e-3
	}
	if !want.DType.IsFloat() {
		rtol, atol = 0, 0
	}
	for i := range w {
		if math.IsNaN(w[i]) {
			if !math.IsNaN(g[i]) {
				return fmt.Sprintf("element %d = %g, want NaN", i, g[i])
			}
			continue
		}
		if math.IsInf(w[i], 0) {
			if g[i] != w[i] {
				return fmt.Sprintf("element %d = %g, want %g", i, g[i], w[i])
			}
			continue
		}
		if d := math.Abs(g[i] - w[i]); d > atol+rtol*math.Abs(w[i]) || math.IsNaN(d) {
			return fmt.Sprintf("element %d = %g, want %g (|Δ| %.3g)", i, g[i], w[i], d)
		}
	}
	return ""
}

// summarise prints (and optionally writes) the pass rate per op among the cases hone claims to support.
func summarise(t *testing.T, suite string, results []caseResult) {
	type row struct{ pass, fail, xfail, unsup int }
	per := map[string]*row{}
	var tot row
	for _, r := range results {
		seen := map[string]bool{}
		for _, op := range r.ops {
			if seen[op] || op == "Constant" && len(r.ops) > 1 {
				continue
			}
			seen[op] = true
			if per[op] == nil {
				per[op] = &row{}
			}
			switch r.result {
			case pass:
				per[op].pass++
			case fail:
				per[op].fail++
			case expectedFail:
				per[op].xfail++
			case unsupported:
				per[op].unsup++
			}
		}
		switch r.result {
		case pass:
			tot.pass++
		case fail:
			tot.fail++
		case expectedFail:
			tot.xfail++
		case unsupported:
			tot.unsup++
		}
	}
	var ops []string
	for op := range per {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	fmt.Fprintf(&b, "ONNX backend tests (%s): %d cases: %d pass, %d fail, %d known failures, %d use ops/types hone does not claim\n",
		suite, len(results), tot.pass, tot.fail, tot.xfail, tot.unsup)
	claimed := tot.pass + tot.fail + tot.xfail
	if claimed > 0 {
		fmt.Fprintf(&b, "pass rate over cases whose ops hone supports: %.1f%% (%d/%d)\n", 100*float64(tot.pass)/float64(claimed), tot.pass, claimed)
	}
	fmt.Fprintf(&b, "%-28s %5s %5s %6s %6s %7s\n", "op", "pass", "fail", "known", "unsup", "rate")
	for _, op := range ops {
		r := per[op]
		c := r.pass + r.fail + r.xfail
		rate := "-"
		if c > 0 {
			rate = fmt.Sprintf("%.0f%%", 100*float64(r.pass)/float64(c))
		}
		fmt.Fprintf(&b, "%-28s %5d %5d %6d %6d %7s\n", op, r.pass, r.fail, r.xfail, r.unsup, rate)
	}
	t.Log("\n" + b.String())
	if *report != "" {
		f, err := os.OpenFile(*report, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			_, err = f.WriteString(b.String() + "\n")
			f.Close()
		}
		if err != nil {
			t.Error(err)
		}
	}
	var unsup []string
	for _, r := range results {
		if r.result == unsupported && testing.Verbose() {
			unsup = append(unsup, r.name+": "+r.detail)
		}
	}
	if len(unsup) > 0 && os.Getenv("HONE_CONFORMANCE_VERBOSE") != "" {
		t.Log("unsupported cases:\n" + strings.Join(unsup, "\n"))
	}
}
