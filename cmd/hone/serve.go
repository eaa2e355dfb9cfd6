package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/hone-ml/hone/serve"
)

func newServeCmd() *cobra.Command {
	var repo, httpAddr, grpcAddr, logFormat string
	var poll, drain, maxDelay, timeout time.Duration
	var maxBatch, maxQueue, instances, threads int
	var maxBody int64
	cmd := &cobra.Command{
		Use:   "serve MODEL… | --model-repository DIR",
		Short: "Serve models over the Open Inference Protocol v2 (KServe/Triton) with dynamic batching",
		Long: `Serve loads ONNX models and answers the Open Inference Protocol v2 over HTTP (/v2/…) and gRPC
(inference.GRPCInferenceService plus grpc.health.v1), with Prometheus metrics on /metrics and an image
classification endpoint on /predict. Each HTTP inference reply carries a Server-Timing header with the
request's queue and compute time in the batcher (hone loadtest reports their percentiles).

A model given as a file is served under its file stem (resnet18.onnx → resnet18), configured by STEM.yaml
beside it when present, else by the --max-batch-size/--max-queue-delay/… flags. A model repository holds
NAME/model.onnx with NAME/config.yaml (or NAME.onnx with NAME.yaml); --poll reloads changed models and
POST /v2/repository/models/NAME/load|unload does it on demand.

On SIGINT or SIGTERM the server stops accepting requests, answers every request it accepted, and exits.`,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && repo == "" {
				return errors.New("serve: give model files or --model-repository")
			}
			if logFormat != "text" && logFormat != "json" {
				return fmt.Errorf("serve: --log-format must be text or json, not %q", logFormat)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			var h slog.Handler = slog.NewTextHandler(os.Stderr, nil)
			if logFormat == "json" {
				h = slog.NewJSONHandler(os.Stderr, nil)
			}
			s := serve.New(serve.Options{
				MaxRequestBytes: maxBody,
				Logger:          slog.New(h),
				Repository:      repo,
				Defaults: serve.Config{MaxBatchSize: maxBatch, MaxQueueDelay: serve.Duration(maxDelay),
					MaxQueueSize: maxQueue, Instances: instances, Threads: threads, Timeout: serve.Duration(timeout)},
			})
			for _, p := range args {
				if err := s.LoadFile(p); err != nil {
					return err
				}
			}
			if repo != "" {
				if err := s.SyncRepository(); err != nil {
					return err
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if repo != "" && poll > 0 {
				go s.PollRepository(ctx, poll)
			}
			var hl, gl net.Listener
			var err error
			if httpAddr != "" {
				if hl, err = net.Listen("tcp", httpAddr); err != nil {
					return fmt.Errorf("serve: %w", err)
				}
			}
			if grpcAddr != "" {
				if gl, err = net.Listen("tcp", grpcAddr); err != nil {
					return fmt.Errorf("serve: %w", err)
				}
			}
			return s.Run(ctx, hl, gl, drain)
		},
	}
	f := cmd.Flags()
	f.StringVar(&repo, "model-repository", "", "model repository directory")
	f.StringVar(&httpAddr, "http", ":8080", "HTTP listen address (empty: no HTTP)")
	f.StringVar(&grpcAddr, "grpc", ":8081", "gRPC listen address (empty: no gRPC)")
	f.DurationVar(&poll, "poll", 0, "poll the repository for changes this often (0: never)")
	f.DurationVar(&drain, "drain", 30*time.Second, "longest wait for in-flight requests at shutdown")
	f.IntVar(&maxBatch, "max-batch-size", 0, "default max_batch_size for models without a config (0: no batching)")
	f.DurationVar(&maxDelay, "max-queue-delay", time.Millisecond, "default max_queue_delay")
	f.IntVar(&maxQueue, "max-queue-size", 1024, "default max_queue_size (beyond it: 429 / RESOURCE_EXHAUSTED)")
	f.IntVar(&instances, "instances", 1, "default number of model instances")
	f.IntVar(&threads, "threads", 0, "default threads per instance (0: GOMAXPROCS / instances)")
	f.DurationVar(&timeout, "timeout", 60*time.Second, "default per-request timeout")
	f.Int64Var(&maxBody, "max-request-bytes", 64<<20, "largest request body accepted (413 beyond)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}
