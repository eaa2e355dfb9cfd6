package serve

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/hone-ml/hone/api/oippb"
)

func TestGRPC(t *testing.T) {
	s, _ := newTestServer(t, Config{MaxBatchSize: 4, MaxQueueDelay: Duration(time.Millisecond)}, Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := s.GRPCServer()
	go g.Serve(ln)
	defer g.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := oippb.NewGRPCInferenceServiceClient(conn)
	ctx := context.Background()

	if r, err := c.ServerLive(ctx, &oippb.ServerLiveRequest{}); err != nil || !r.Live {
		t.Errorf("ServerLive: %v %v", r, err)
	}
	if r, err := c.ServerReady(ctx, &oippb.ServerReadyRequest{}); err != nil || !r.Ready {
		t.Errorf("ServerReady: %v %v", r, err)
	}
	if r, err := c.ModelReady(ctx, &oippb.ModelReadyRequest{Name: "mnist"}); err != nil || !r.Ready {
		t.Errorf("ModelReady: %v %v", r, err)
	}
	if _, err := c.ModelReady(ctx, &oippb.ModelReadyRequest{Name: "nope"}); status.Code(err) != codes.NotFound {
		t.Errorf("ModelReady(nope): %v, want NotFound", err)
	}
	if r, err := c.ServerMetadata(ctx, &oippb.ServerMetadataRequest{}); err != nil || r.Name != "hone" || len(r.Extensions) == 0 {
		t.Errorf("ServerMetadata: %v %v", r, err)
	}
	md, err := c.ModelMetadata(ctx, &oippb.ModelMetadataRequest{Name: "mnist"})
	if err != nil || md.Platform != Platform || len(md.Inputs) != 1 || md.Inputs[0].Datatype != "FP32" || md.Inputs[0].Shape[0] != -1 {
		t.Errorf("ModelMetadata: %v %v", md, err)
	}
	hc, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || hc.Status != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("grpc.health.v1 Check: %v %v", hc, err)
	}

	digits, _ := mnistDigits(t, 2)
	ref := referenceLogits(t, digits)
	// Digit 0 as raw contents, digit 1 as typed fp32 contents.
	raw := &oippb.ModelInferRequest{ModelName: "mnist", Id: "a",
		Inputs:           []*oippb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 1, 28, 28}}},
		RawInputContents: [][]byte{digits[0].Bytes()}}
	typed := &oippb.ModelInferRequest{ModelName: "mnist",
		Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1, 1, 28, 28},
			Contents: &oippb.InferTensorContents{Fp32Contents: digits[1].F32()}}}}
	for i, req := range []*oippb.ModelInferRequest{raw, typed} {
		r, err := c.ModelInfer(ctx, req)
		if err != nil {
			t.Fatalf("ModelInfer %d: %v", i, err)
		}
		if r.ModelName != "mnist" || r.Id != req.Id || len(r.Outputs) != 1 || r.Outputs[0].Name != "logits" || len(r.RawOutputContents) != 1 {
			t.Fatalf("ModelInfer %d: %v", i, r)
		}
		b := r.RawOutputContents[0]
		for j := 0; j < 10; j++ {
			v := math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
			if math.Abs(float64(v-ref[i][j])) > 1e-4*(1+math.Abs(float64(ref[i][j]))) {
				t.Errorf("ModelInfer %d logit %d: %v, runtime says %v", i, j, v, ref[i][j])
			}
		}
	}
	for name, tc := range map[string]struct {
		req  *oippb.ModelInferRequest
		code codes.Code
	}{
		"unknown model": {&oippb.ModelInferRequest{ModelName: "nope"}, codes.NotFound},
		"no inputs":     {&oippb.ModelInferRequest{ModelName: "mnist"}, codes.InvalidArgument},
		"raw too short": {&oippb.ModelInferRequest{ModelName: "mnist", Inputs: raw.Inputs, RawInputContents: [][]byte{make([]byte, 10)}}, codes.InvalidArgument},
		"raw count":     {&oippb.ModelInferRequest{ModelName: "mnist", Inputs: raw.Inputs, RawInputContents: [][]byte{nil, nil}}, codes.InvalidArgument},
		"wrong dtype": {&oippb.ModelInferRequest{ModelName: "mnist", Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "INT64", Shape: []int64{1, 1, 28, 28},
			Contents: &oippb.InferTensorContents{Int64Contents: make([]int64, 784)}}}}, codes.InvalidArgument},
		"huge shape": {&oippb.ModelInferRequest{ModelName: "mnist", Inputs: []*oippb.ModelInferRequest_InferInputTensor{{Name: "input", Datatype: "FP32", Shape: []int64{1 << 40, 1 << 40, 28, 28},
			Contents: &oippb.InferTensorContents{}}}}, codes.InvalidArgument},
		"no data": {&oippb.ModelInferRequest{ModelName: "mnist", Inputs: raw.Inputs}, codes.InvalidArgument},
	} {
		if _, err := c.ModelInfer(ctx, tc.req); status.Code(err) != tc.code {
			t.Errorf("%s: %v, want %v", name, err, tc.code)
		}
	}
}
