package bench

import (
	"sort"
	"time"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

// NodeStat is one node's measurements from a profiled run.
type NodeStat struct {
	Name   string        `json:"name"`
	OpType string        `json:"op_type"`
	Self   time.Duration `json:"self_ns"`
	Calls  int           `json:"calls"`
	FLOPs  int64         `json:"flops"`
	Shapes string        `json:"shapes"`
	Start  int64         `json:"-"`
}

// Profile runs the plan runs times with a per-node hook and returns per-node statistics (in execution order)
// and the mean end-to-end wall time.
func Profile(p *runtime.Plan, inputs map[string]*ir.Tensor, runs int) ([]*NodeStat, time.Duration, error) {
	stats := map[*ir.Node]*NodeStat{}
	var order []*NodeStat
	var total time.Duration
	for r := 0; r < max(runs, 1); r++ {
		t0 := time.Now()
		_, err := p.RunHook(inputs, func(n *ir.Node, in, out []*ir.Tensor, start, end int64) {
			s := stats[n]
			if s == nil {
				s = &NodeStat{Name: n.Name, OpType: n.OpType, FLOPs: NodeFLOPs(n, in, out), Shapes: shapesOf(in), Start: start}
				stats[n] = s
				order = append(order, s)
			}
			s.Self += time.Duration(end - start)
			s.Calls++
		})
		if err != nil {
			return nil, 0, err
		}
		total += time.Since(t0)
	}
	return order, total / time.Duration(max(runs, 1)), nil
}

// OpTypeStat aggregates NodeStats by op type.
type OpTypeStat struct {
	OpType string        `json:"op_type"`
	Self   time.Duration `json:"self_ns"`
	Nodes  int           `json:"nodes"`
	FLOPs  int64         `json:"flops"`
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
		s.FLOPs += n.FLOPs
	}
	var out []*OpTypeStat
	for _, s := range m {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Self > out[j].Self })
	return out
}

func shapesOf(ts []*ir.Tensor) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += " "
		}
		if t == nil {
			s += "-"
		} else {
			s += t.String()
		}
	}
	return s
}
