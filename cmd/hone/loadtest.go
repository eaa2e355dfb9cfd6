package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/hone-ml/hone/api"
)

func newLoadtestCmd() *cobra.Command {
	var model string
	var rate, concurrency, batch int
	var duration time.Duration
	var jsonData bool
	cmd := &cobra.Command{
		Use:   "loadtest URL --model NAME [--rate R | --concurrency C] --duration D",
		Short: "Load-test an Open Inference Protocol server and print throughput and p50/p90/p99 latency",
		Long: `Loadtest reads the model's metadata from URL, builds one inference request of random values (variable
dimensions set to 1, the first to --batch), and sends it for --duration: open loop at --rate requests per
second (latency includes queueing when the server falls behind), or closed loop with --concurrency clients
each sending its next request as soon as the last one returns. Data travels as binary tensors unless --json.`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if model == "" {
				return errors.New("loadtest: --model is required")
			}
			if (rate > 0) == (concurrency > 0) {
				return errors.New("loadtest: give exactly one of --rate and --concurrency")
			}
			if duration <= 0 || batch < 1 {
				return errors.New("loadtest: --duration and --batch must be positive")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			base := strings.TrimRight(args[0], "/")
			c := &api.Client{BaseURL: base}
			md, err := c.ModelMetadata(cmd.Context(), model)
			if err != nil {
				return fmt.Errorf("loadtest: %w", err)
			}
			req, err := randomRequest(md, batch, !jsonData)
			if err != nil {
				return err
			}
			body, header, err := api.NewInferBody(req)
			if err != nil {
				return err
			}
			target := vegeta.Target{Method: http.MethodPost, URL: base + api.InferPath(model), Body: body, Header: header}
			var pacer vegeta.Pacer = vegeta.ConstantPacer{Freq: rate, Per: time.Second}
			opts := []func(*vegeta.Attacker){vegeta.KeepAlive(true), vegeta.Timeout(60 * time.Second)}
			if concurrency > 0 {
				// Rate 0 with a fixed worker pool is vegeta's closed loop: each worker sends back to back.
				pacer = vegeta.ConstantPacer{}
				opts = append(opts, vegeta.Workers(uint64(concurrency)), vegeta.MaxWorkers(uint64(concurrency)),
					vegeta.Connections(concurrency))
			}
			att := vegeta.NewAttacker(opts...)
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			go func() { <-ctx.Done(); att.Stop() }()
			var m vegeta.Metrics
			var srv, compute []time.Duration // queue + compute and compute in the server's batcher, from Server-Timing
			for res := range att.Attack(vegeta.NewStaticTargeter(target), pacer, duration, "loadtest") {
				m.Add(res)
				if q, c, err := api.ParseServerTiming(res.Headers.Get(api.HeaderServerTiming)); err == nil && res.Code == http.StatusOK {
					srv, compute = append(srv, q+c), append(compute, c)
				}
			}
			m.Close()
			printLoadtest(cmd, model, rate, concurrency, batch, &m, srv, compute)
			if m.Success < 1 && len(m.Errors) > 0 {
				return fmt.Errorf("loadtest: %.1f%% of requests failed: %s", 100*(1-m.Success), m.Errors[0])
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "model name")
	f.IntVar(&rate, "rate", 0, "open loop: requests per second")
	f.IntVar(&concurrency, "concurrency", 0, "closed loop: concurrent clients")
	f.DurationVar(&duration, "duration", 10*time.Second, "how long to send requests")
	f.IntVar(&batch, "batch", 1, "rows per request (the first dimension)")
	f.BoolVar(&jsonData, "json", false, "send tensors as JSON instead of binary")
	return cmd
}

func printLoadtest(cmd *cobra.Command, model string, rate, conc, batch int, m *vegeta.Metrics, srv, compute []time.Duration) {
	w := cmd.OutOrStdout()
	mode := fmt.Sprintf("closed loop, %d clients", conc)
	if rate > 0 {
		mode = fmt.Sprintf("open loop, %d req/s offered", rate)
	}
	fmt.Fprintf(w, "model %s, batch %d, %s, %v\n", model, batch, mode, m.Duration.Round(time.Millisecond))
	fmt.Fprintf(w, "requests   %d (%.1f%% ok)\n", m.Requests, 100*m.Success)
	fmt.Fprintf(w, "throughput %.1f req/s (%.1f inferences/s)\n", m.Throughput, m.Throughput*float64(batch))
	fmt.Fprintf(w, "latency    p50 %v  p90 %v  p99 %v  max %v\n", m.Latencies.P50.Round(time.Microsecond),
		m.Latencies.P90.Round(time.Microsecond), m.Latencies.P99.Round(time.Microsecond), m.Latencies.Max.Round(time.Microsecond))
	if len(srv) > 0 {
		// The server's share: what the rest of the latency above adds is transport, HTTP and the client.
		fmt.Fprintf(w, "server     p50 %v  p90 %v  p99 %v  (queue + compute, from Server-Timing)  compute p99 %v\n",
			quantile(srv, 50), quantile(srv, 90), quantile(srv, 99), quantile(compute, 99))
	}
	codes := make([]string, 0, len(m.StatusCodes))
	for c, n := range m.StatusCodes {
		codes = append(codes, fmt.Sprintf("%s×%d", c, n))
	}
	sort.Strings(codes)
	fmt.Fprintf(w, "status     %s\n", strings.Join(codes, " "))
	for i, e := range m.Errors {
		if i == 3 {
			break
		}
		fmt.Fprintf(w, "error      %s\n", e)
	}
}

// quantile sorts d and returns its p-th percentile.
func quantile(d []time.Duration, p int) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[min(len(d)-1, len(d)*p/100)].Round(time.Microsecond)
}

// randomRequest builds a request for every model input: uniform [0,1) floats, small non-negative integers.
func randomRequest(md *api.ModelMetadata, batch int, raw bool) (*api.InferRequest, error) {
	req := &api.InferRequest{}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, in := range md.Inputs {
		shape := append([]int64(nil), in.Shape...)
		n := int64(1)
		for i, d := range shape {
			if d < 0 {
				shape[i] = 1
				if i == 0 {
					shape[i] = int64(batch)
				}
			}
			n *= shape[i]
		}
		size, ok := api.DatatypeSize(in.Datatype)
		if !ok || size == 0 {
			return nil, fmt.Errorf("loadtest: input %q has datatype %s, which loadtest cannot generate", in.Name, in.Datatype)
		}
		data := make([]byte, 0, n*int64(size))
		for i := int64(0); i < n; i++ {
			switch in.Datatype {
			case "FP32":
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(rng.Float32()))
			case "FP64":
				data = binary.LittleEndian.AppendUint64(data, math.Float64bits(rng.Float64()))
			default:
				v := uint64(rng.IntN(2))
				for b := 0; b < size; b++ {
					data = append(data, byte(v>>(8*b)))
				}
			}
		}
		ri := api.RequestInput{Name: in.Name, Datatype: in.Datatype, Shape: shape}
		if raw {
			ri.Raw = data
		} else {
			j, err := api.EncodeData(in.Datatype, data, nil)
			if err != nil {
				return nil, err
			}
			ri.Data = j
		}
		req.Inputs = append(req.Inputs, ri)
	}
	return req, nil
}
