package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx"
	"github.com/hone-ml/hone/runtime"
)

type inspectReport struct {
	Path           string           `json:"path"`
	IRVersion      int64            `json:"ir_version"`
	Opsets         map[string]int64 `json:"opsets"`
	Producer       string           `json:"producer"`
	Inputs         []ioInfo         `json:"inputs"`
	Outputs        []ioInfo         `json:"outputs"`
	Nodes          int              `json:"nodes"`
	OpHistogram    map[string]int   `json:"op_histogram"`
	Parameters     int64            `json:"parameters"`
	ParamBytes     map[string]int64 `json:"parameter_bytes_by_dtype"`
	ParamCount     map[string]int64 `json:"parameters_by_dtype"`
	FLOPs          int64            `json:"flops,omitempty"`
	FLOPsShape     string           `json:"flops_input_shape,omitempty"`
	FLOPsError     string           `json:"flops_error,omitempty"`
	UnsupportedOps []string         `json:"unsupported_ops,omitempty"`
}

type ioInfo struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape string `json:"shape"`
}

func newInspectCmd() *cobra.Command {
	var shapes []string
	var asJSON, noFLOPs bool
	cmd := &cobra.Command{
		Use:   "inspect MODEL",
		Short: "Show a model's opsets, inputs/outputs, op histogram, parameters and FLOPs",
		Long: `Inspect prints what a model is made of: IR version and opsets, producer, inputs and outputs with
dtypes and (symbolic) shapes, an op histogram, parameter count and bytes by dtype, and a FLOPs estimate at an input
shape (--shape NAME=1,3,224,224; unknown batch dimensions default to 1).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := inspectModel(args[0], shapes, !noFLOPs)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rep)
			}
			printInspect(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&shapes, "shape", nil, "input shape for the FLOPs estimate, NAME=D0,D1,… (repeatable)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "machine-readable output")
	cmd.Flags().BoolVar(&noFLOPs, "no-flops", false, "skip the FLOPs estimate (it runs the model once)")
	return cmd
}

func inspectModel(path string, shapeSpecs []string, withFLOPs bool) (*inspectReport, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return nil, err
	}
	g := m.Graph
	rep := &inspectReport{Path: path, IRVersion: m.IRVersion, Opsets: map[string]int64{}, Producer: strings.TrimSpace(m.ProducerName + " " + m.ProducerVersion),
		Nodes: len(g.Nodes), OpHistogram: map[string]int{}, ParamBytes: map[string]int64{}, ParamCount: map[string]int64{}}
	for _, o := range m.Opsets {
		d := o.Domain
		if d == "" {
			d = "ai.onnx"
		}
		rep.Opsets[d] = o.Version
	}
	for _, vi := range g.RealInputs() {
		rep.Inputs = append(rep.Inputs, ioInfo{vi.Name, vi.Type.DType.String(), shapeString(vi.Type)})
	}
	for _, vi := range g.Outputs {
		rep.Outputs = append(rep.Outputs, ioInfo{vi.Name, vi.Type.DType.String(), shapeString(vi.Type)})
	}
	unsupported := map[string]bool{}
	for _, n := range g.Nodes {
		key := n.OpType
		if !n.IsDefaultDomain() {
			key = n.Domain + ":" + n.OpType
		}
		rep.OpHistogram[key]++
		if !runtime.IsSupported(n.Domain, n.OpType) {
			unsupported[key] = true
		}
		if n.OpType == "Constant" {
			if a := n.Attr("value"); a != nil && a.T != nil {
				addParam(rep, a.T)
			}
		}
	}
	for k := range unsupported {
		rep.UnsupportedOps = append(rep.UnsupportedOps, k)
	}
	sort.Strings(rep.UnsupportedOps)
	for _, t := range g.Initializers {
		addParam(rep, t)
	}
	if withFLOPs && len(unsupported) == 0 {
		flops, shape, err := estimateFLOPs(m, shapeSpecs)
		if err != nil {
			rep.FLOPsError = err.Error()
		} else {
			rep.FLOPs, rep.FLOPsShape = flops, shape
		}
	}
	return rep, nil
}

func addParam(rep *inspectReport, t *ir.Tensor) {
	rep.Parameters += int64(t.Len())
	rep.ParamCount[t.DType.String()] += int64(t.Len())
	rep.ParamBytes[t.DType.String()] += int64(t.Len()*t.DType.Bits()+7) / 8
}

func estimateFLOPs(m *ir.Model, shapeSpecs []string) (int64, string, error) {
	shapes, err := bench.ParseShapes(shapeSpecs)
	if err != nil {
		return 0, "", err
	}
	p, err := runtime.Compile(m, runtime.Options{NoOptimize: true})
	if err != nil {
		return 0, "", err
	}
	in, err := bench.MakeInputs(p.Inputs(), shapes, 1)
	if err != nil {
		return 0, "", err
	}
	var desc []string
	for _, vi := range p.Inputs() {
		desc = append(desc, fmt.Sprintf("%s=%v", vi.Name, in[vi.Name].Shape))
	}
	var total int64
	_, err = p.RunHook(in, func(n *ir.Node, ins, outs []*ir.Tensor, _, _ int64) {
		total += bench.NodeFLOPs(n, ins, outs)
	})
	return total, strings.Join(desc, " "), err
}

func shapeString(t ir.Type) string {
	if !t.HasShape {
		return "?"
	}
	parts := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func printInspect(w io.Writer, r *inspectReport) {
	var ops []string
	for d, v := range r.Opsets {
		ops = append(ops, fmt.Sprintf("%s %d", d, v))
	}
	sort.Strings(ops)
	fmt.Fprintf(w, "model      %s\nIR         %d   opsets: %s\nproducer   %s\nnodes      %d\n", r.Path, r.IRVersion, strings.Join(ops, ", "), r.Producer, r.Nodes)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\ninputs\tdtype\tshape")
	for _, i := range r.Inputs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", i.Name, i.DType, i.Shape)
	}
	fmt.Fprintln(tw, "outputs\t\t")
	for _, i := range r.Outputs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", i.Name, i.DType, i.Shape)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nparameters %s (%s)\n", human(float64(r.Parameters), ""), humanBytes(sum(r.ParamBytes)))
	var dts []string
	for d := range r.ParamBytes {
		dts = append(dts, d)
	}
	sort.Strings(dts)
	for _, d := range dts {
		fmt.Fprintf(w, "  %-9s %12d params  %s\n", d, r.ParamCount[d], humanBytes(r.ParamBytes[d]))
	}
	switch {
	case r.FLOPs > 0:
		fmt.Fprintf(w, "FLOPs      %s at %s\n", human(float64(r.FLOPs), ""), r.FLOPsShape)
	case r.FLOPsError != "":
		fmt.Fprintf(w, "FLOPs      not estimated: %s\n", r.FLOPsError)
	}
	if len(r.UnsupportedOps) > 0 {
		fmt.Fprintf(w, "unsupported by hone's runtime: %s\n", strings.Join(r.UnsupportedOps, ", "))
	}
	type kv struct {
		k string
		v int
	}
	var hist []kv
	for k, v := range r.OpHistogram {
		hist = append(hist, kv{k, v})
	}
	sort.Slice(hist, func(i, j int) bool {
		if hist[i].v != hist[j].v {
			return hist[i].v > hist[j].v
		}
		return hist[i].k < hist[j].k
	})
	fmt.Fprintln(w, "\nops")
	for _, h := range hist {
		fmt.Fprintf(w, "  %-24s %d\n", h.k, h.v)
	}
}

func sum(m map[string]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}

func human(v float64, unit string) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2f G%s", v/1e9, unit)
	case v >= 1e6:
		return fmt.Sprintf("%.2f M%s", v/1e6, unit)
	case v >= 1e3:
		return fmt.Sprintf("%.1f k%s", v/1e3, unit)
	}
	return fmt.Sprintf("%.0f %s", v, unit)
}

func humanBytes(b int64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

var _ = os.Stdout
