package bench

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// NodeStat is one node's measurements summed over the profiled runs.
type NodeStat struct {
	Name   string        `json:"name"`
	OpType string        `json:"op_type"`
	Self   time.Duration `json:"self_ns"` // summed over all calls
	Calls  int           `json:"calls"`
	FLOPs  int64         `json:"flops"`       // per call
	Bytes  int64         `json:"bytes_alloc"` // bytes of the node's outputs, summed over all calls
	Shapes string        `json:"shapes"`      // input shapes → output shapes of the first call
	index  int
}

// Event is one node's execution in one run, timed by the runtime's step hook (nanoseconds on the runtime's
// monotonic clock; only differences are meaningful).
type Event struct {
	Node   string `json:"node"`
	Index  int    `json:"node_index"` // into Profiling.Nodes
	OpType string `json:"op_type"`
	Run    int    `json:"run"`
	Start  int64  `json:"start_ns"`
	End    int64  `json:"end_ns"`
}

// Profiling is the result of Profile.
type Profiling struct {
	Nodes  []*NodeStat     `json:"nodes"` // in execution order
	Events []Event         `json:"-"`
	Runs   int             `json:"runs"`
	Wall   []time.Duration `json:"wall_ns"` // end-to-end time of each profiled run
}

// Profile runs the plan runs times with a per-node hook and records every node's start and end.
func Profile(p *runtime.Plan, inputs map[string]*ir.Tensor, runs int) (*Profiling, error) {
	runs = max(runs, 1)
	stats := map[*ir.Node]*NodeStat{}
	prof := &Profiling{Runs: runs}
	for r := 0; r < runs; r++ {
		t0 := time.Now()
		_, err := p.RunHook(inputs, func(n *ir.Node, in, out []*ir.Tensor, start, end int64) {
			s := stats[n]
			if s == nil {
				s = &NodeStat{Name: n.DisplayName(), OpType: n.OpType, FLOPs: NodeFLOPs(n, in, out), Shapes: shapesOf(in) + " → " + shapesOf(out), index: len(prof.Nodes)}
				stats[n] = s
				prof.Nodes = append(prof.Nodes, s)
			}
			s.Self += time.Duration(end - start)
			s.Calls++
			for _, t := range out {
				if t != nil {
					s.Bytes += int64(t.NumBytes())
				}
			}
			prof.Events = append(prof.Events, Event{Node: n.DisplayName(), Index: s.index, OpType: n.OpType, Run: r, Start: start, End: end})
		})
		if err != nil {
			return nil, err
		}
		prof.Wall = append(prof.Wall, time.Since(t0))
	}
	return prof, nil
}

// MeanWall is the mean end-to-end time of the profiled runs.
func (p *Profiling) MeanWall() time.Duration {
	var s time.Duration
	for _, d := range p.Wall {
		s += d
	}
	return s / time.Duration(max(len(p.Wall), 1))
}

// SelfPerRun is the summed self time of all nodes per run.
func (p *Profiling) SelfPerRun() time.Duration {
	var s time.Duration
	for _, n := range p.Nodes {
		s += n.Self
	}
	return s / time.Duration(max(p.Runs, 1))
}

// OpTypeStat aggregates NodeStats by op type.
type OpTypeStat struct {
	OpType string        `json:"op_type"`
	Self   time.Duration `json:"self_ns"`
	Nodes  int           `json:"nodes"`
	Calls  int           `json:"calls"`
	FLOPs  int64         `json:"flops"` // per run
	Bytes  int64         `json:"bytes_alloc"`
}

// ByOpType sums node stats per op type, most expensive first.
func ByOpType(nodes []*NodeStat) []*OpTypeStat {
	m := map[string]*OpTypeStat{}
	for _, n := range nodes {
		s := m[n.OpType]
		if s == nil {
			s = &OpTypeStat{OpType: n.OpType}
			m[n.OpType] = s
		}
		s.Self += n.Self
		s.Nodes++
		s.Calls += n.Calls
		s.FLOPs += n.FLOPs
		s.Bytes += n.Bytes
	}
	var out []*OpTypeStat
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Self != out[j].Self {
			return out[i].Self > out[j].Self
		}
		return out[i].OpType < out[j].OpType
	})
	return out
}

// TraceEvent is one entry of the Chrome trace-event format ("X" complete events with microsecond timestamps,
// "M" metadata naming the process and thread), which Perfetto and chrome://tracing load.
type TraceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  float64        `json:"dur"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	Args map[string]any `json:"args,omitempty"`
}

// Trace is a Chrome trace-event JSON document (the "JSON Object Format").
type Trace struct {
	TraceEvents     []TraceEvent `json:"traceEvents"`
	DisplayTimeUnit string       `json:"displayTimeUnit"`
}

// ChromeTrace turns the recorded events into a trace: one complete event per node per run at its real start
// and duration, timestamps relative to the first node's start.
func (p *Profiling) ChromeTrace(model string) ([]byte, error) {
	tr := Trace{DisplayTimeUnit: "ms", TraceEvents: []TraceEvent{
		{Name: "process_name", Ph: "M", Pid: 1, Args: map[string]any{"name": "hone " + model}},
		{Name: "thread_name", Ph: "M", Pid: 1, Tid: 1, Args: map[string]any{"name": "executor"}},
	}}
	if len(p.Events) == 0 {
		return nil, fmt.Errorf("bench: profile recorded no node executions")
	}
	origin := p.Events[0].Start
	for _, e := range p.Events {
		args := map[string]any{"run": e.Run, "op_type": e.OpType}
		if e.Index >= 0 && e.Index < len(p.Nodes) {
			s := p.Nodes[e.Index]
			args["shapes"] = s.Shapes
			args["flops"] = s.FLOPs
			args["bytes_alloc"] = s.Bytes / int64(max(s.Calls, 1))
		}
		name := e.Node
		if name == "" {
			name = e.OpType // a node with neither name nor output
		}
		tr.TraceEvents = append(tr.TraceEvents, TraceEvent{Name: name, Cat: e.OpType, Ph: "X",
			Ts: float64(e.Start-origin) / 1e3, Dur: float64(e.End-e.Start) / 1e3, Pid: 1, Tid: 1, Args: args})
	}
	return json.Marshal(tr)
}

func shapesOf(ts []*ir.Tensor) string {
	var parts []string
	for _, t := range ts {
		if t == nil {
			parts = append(parts, "-")
		} else {
			parts = append(parts, t.String())
		}
	}
	return strings.Join(parts, " ")
}
