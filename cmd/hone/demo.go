package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/bench"
	"github.com/hone-ml/hone/internal/assets"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/runtime"
)

func newDemoCmd() *cobra.Command {
	var threads, runs int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run hone end to end on the embedded MNIST CNN (no arguments, no network)",
		Long: `Demo uses the MNIST CNN shipped inside the binary with its held-out digits: it inspects the model,
measures its accuracy on the held-out digits with hone's runtime, and benchmarks it at batch 1 and 32 (against
ONNX Runtime too when the binary was built with -tags ort).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDemo(cmd.OutOrStdout(), threads, runs)
		},
	}
	cmd.Flags().IntVar(&threads, "threads", 1, "threads")
	cmd.Flags().IntVar(&runs, "runs", 50, "timed runs per variant")
	return cmd
}

func runDemo(w io.Writer, threads, runs int) error {
	start := time.Now()
	dir, err := os.MkdirTemp("", "hone-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	model := filepath.Join(dir, "mnist_cnn.onnx")
	if err := os.WriteFile(model, assets.MNISTModel(), 0o644); err != nil {
		return err
	}
	fmt.Fprintln(w, "hone demo: the embedded MNIST CNN")
	rep, err := inspectModel(model, nil, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  %d nodes, %s parameters (%s), %s FLOPs per digit, opset %d\n", rep.Nodes, human(float64(rep.Parameters), ""),
		humanBytes(sum(rep.ParamBytes)), human(float64(rep.FLOPs), ""), rep.Opsets["ai.onnx"])

	images, labels, err := assets.MNISTHeldOut()
	if err != nil {
		return err
	}
	m, err := loadModel(model)
	if err != nil {
		return err
	}
	p, err := runtime.Compile(m, runtime.Options{Threads: threads})
	if err != nil {
		return err
	}
	acc, err := classifyAccuracy(p, images, labels, 256)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "  accuracy on %d held-out digits (hone runtime): %.2f%%\n\n", len(labels), 100*acc)

	backends := []string{"hone"}
	if slices.Contains(bench.Backends(), "ort") {
		backends = append(backends, "ort")
	}
	res, err := bench.Run(bench.Config{Models: []string{model}, Backends: backends, Batches: []int{1, 32}, Threads: threads, Runs: runs, Warmup: 5})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "backend\tbatch\tp50\tp99\tdigits/s\tratio\t\n")
	for _, r := range res {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%.0f\t%.2f\t\n", r.Backend, r.Batch, ms(r.P50), ms(r.P99), r.Throughput, r.Ratio)
	}
	tw.Flush()
	if len(backends) == 1 {
		fmt.Fprintln(w, "(build with -tags ort to compare against ONNX Runtime in the same run)")
	}
	fmt.Fprintf(w, "done in %.1fs\n", time.Since(start).Seconds())
	return nil
}

// classifyAccuracy runs images (N×1×28×28) through a classifier plan in batches and returns top-1 accuracy.
func classifyAccuracy(p *runtime.Plan, images *ir.Tensor, labels []int64, batch int) (float64, error) {
	n := images.Shape[0]
	per := images.Len() / max(n, 1)
	all := images.F32()
	correct := 0
	in := p.Inputs()[0].Name
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		shape := append([]int{hi - lo}, images.Shape[1:]...)
		x := ir.FromFloat32(shape, all[lo*per:hi*per])
		out, err := p.Run(map[string]*ir.Tensor{in: x})
		if err != nil {
			return 0, err
		}
		logits := out[p.Outputs()[0].Name]
		classes := logits.Len() / (hi - lo)
		v := logits.F32()
		for i := 0; i < hi-lo; i++ {
			row := v[i*classes : (i+1)*classes]
			best := 0
			for j := range row {
				if row[j] > row[best] {
					best = j
				}
			}
			if int64(best) == labels[lo+i] {
				correct++
			}
		}
	}
	return float64(correct) / float64(n), nil
}
