package serve

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"google.golang.org/grpc/status"

	"github.com/hone-ml/hone/api"
	"github.com/hone-ml/hone/api/oippb"
	"github.com/hone-ml/hone/ir"
)

// grpcService implements inference.GRPCInferenceService on top of the same models as the HTTP API.
type grpcService struct {
	oippb.UnimplementedGRPCInferenceServiceServer
	s *Server
}

func grpcErr(err error) error {
	_, code := statusOf(err)
	return status.Error(code, err.Error())
}

func (g *grpcService) ServerLive(context.Context, *oippb.ServerLiveRequest) (*oippb.ServerLiveResponse, error) {
	return &oippb.ServerLiveResponse{Live: true}, nil
}

func (g *grpcService) ServerReady(context.Context, *oippb.ServerReadyRequest) (*oippb.ServerReadyResponse, error) {
	return &oippb.ServerReadyResponse{Ready: g.s.Ready()}, nil
}

func (g *grpcService) ModelReady(_ context.Context, r *oippb.ModelReadyRequest) (*oippb.ModelReadyResponse, error) {
	if _, err := g.s.Model(r.GetName(), r.GetVersion()); err != nil {
		return nil, grpcErr(err)
	}
	return &oippb.ModelReadyResponse{Ready: g.s.Ready()}, nil
}

func (g *grpcService) ServerMetadata(context.Context, *oippb.ServerMetadataRequest) (*oippb.ServerMetadataResponse, error) {
	return &oippb.ServerMetadataResponse{Name: ServerName, Version: ServerVersion, Extensions: Extensions}, nil
}

func (g *grpcService) ModelMetadata(_ context.Context, r *oippb.ModelMetadataRequest) (*oippb.ModelMetadataResponse, error) {
	m, err := g.s.Model(r.GetName(), r.GetVersion())
	if err != nil {
		return nil, grpcErr(err)
	}
	md := m.Metadata()
	conv := func(ts []api.TensorMetadata) []*oippb.ModelMetadataResponse_TensorMetadata {
		out := make([]*oippb.ModelMetadataResponse_TensorMetadata, len(ts))
		for i, t := range ts {
			out[i] = &oippb.ModelMetadataResponse_TensorMetadata{Name: t.Name, Datatype: t.Datatype, Shape: t.Shape}
		}
		return out
	}
	return &oippb.ModelMetadataResponse{Name: md.Name, Versions: md.Versions, Platform: md.Platform,
		Inputs: conv(md.Inputs), Outputs: conv(md.Outputs)}, nil
}

func (g *grpcService) ModelInfer(ctx context.Context, r *oippb.ModelInferRequest) (*oippb.ModelInferResponse, error) {
	m, err := g.s.Model(r.GetModelName(), r.GetModelVersion())
	if err != nil {
		return nil, grpcErr(err)
	}
	if !g.s.Ready() {
		return nil, grpcErr(fmt.Errorf("serve: model %q: %w", m.Name, ErrClosed))
	}
	inputs, err := g.inputs(r)
	if err != nil {
		return nil, grpcErr(fmt.Errorf("serve: model %q: %w", m.Name, err))
	}
	var timeout time.Duration
	if p, ok := r.GetParameters()["timeout"]; ok {
		us := p.GetInt64Param()
		if us < 0 || us > math.MaxInt64/int64(time.Microsecond) {
			return nil, grpcErr(fmt.Errorf("serve: model %q: %w: parameter timeout %d out of range", m.Name, api.ErrBadRequest, us))
		}
		timeout = time.Duration(us) * time.Microsecond
	}
	var want []api.RequestOutput
	for _, o := range r.GetOutputs() {
		want = append(want, api.RequestOutput{Name: o.GetName()})
	}
	outs, err := m.selectOutputs(want)
	if err != nil {
		return nil, grpcErr(err)
	}
	res, _, err := m.Infer(ctx, inputs, timeout)
	if err != nil {
		return nil, grpcErr(fmt.Errorf("serve: %w", err))
	}
	resp := &oippb.ModelInferResponse{ModelName: m.Name, ModelVersion: m.Version, Id: r.GetId()}
	for _, o := range outs {
		t := res[o.name]
		resp.Outputs = append(resp.Outputs, &oippb.ModelInferResponse_InferOutputTensor{
			Name: o.name, Datatype: oipType[t.DType], Shape: shape64(t.Shape),
		})
		raw := t.Bytes()
		if t.DType == ir.String {
			strs := make([][]byte, len(t.Strings))
			for i, s := range t.Strings {
				strs[i] = []byte(s)
			}
			raw = api.EncodeBytesTensor(strs)
		}
		resp.RawOutputContents = append(resp.RawOutputContents, raw)
	}
	return resp, nil
}

// inputs converts the request's tensors, taking data from raw_input_contents or from each tensor's typed
// contents (never both, as the protocol requires).
func (g *grpcService) inputs(r *oippb.ModelInferRequest) (map[string]*ir.Tensor, error) {
	raw := r.GetRawInputContents()
	if len(raw) > 0 && len(raw) != len(r.GetInputs()) {
		return nil, fmt.Errorf("%w: %d raw_input_contents for %d inputs", api.ErrBadRequest, len(raw), len(r.GetInputs()))
	}
	if len(r.GetInputs()) == 0 {
		return nil, fmt.Errorf("%w: request has no inputs", api.ErrBadRequest)
	}
	out := map[string]*ir.Tensor{}
	for i, in := range r.GetInputs() {
		if _, dup := out[in.GetName()]; dup {
			return nil, fmt.Errorf("%w: input %q given twice", api.ErrBadRequest, in.GetName())
		}
		ri := api.RequestInput{Name: in.GetName(), Datatype: in.GetDatatype(), Shape: in.GetShape()}
		switch {
		case len(raw) > 0:
			if in.GetContents() != nil {
				return nil, fmt.Errorf("%w: input %q has contents and raw_input_contents", api.ErrBadRequest, in.GetName())
			}
			ri.Raw = raw[i]
			if ri.Raw == nil {
				ri.Raw = []byte{}
			}
		case in.GetContents() != nil:
			b, err := contentsBytes(in.GetDatatype(), in.GetContents())
			if err != nil {
				return nil, fmt.Errorf("input %q: %w", in.GetName(), err)
			}
			ri.Raw = b
		default:
			return nil, fmt.Errorf("%w: input %q has no data", api.ErrBadRequest, in.GetName())
		}
		t, err := toTensor(&ri, g.s.maxElements())
		if err != nil {
			return nil, err
		}
		out[ri.Name] = t
	}
	return out, nil
}

// contentsBytes packs typed contents into the little-endian layout raw contents use.
func contentsBytes(dt string, c *oippb.InferTensorContents) ([]byte, error) {
	var out []byte
	switch dt {
	case "BOOL":
		for _, v := range c.GetBoolContents() {
			out = append(out, b2u(v))
		}
	case "INT8", "INT16", "INT32":
		size, _ := api.DatatypeSize(dt)
		lo, hi := int32(-1)<<(8*size-1), int32(math.MaxInt32>>(32-8*size))
		for _, v := range c.GetIntContents() {
			if v < lo || v > hi {
				return nil, fmt.Errorf("%w: %d out of %s range", api.ErrBadRequest, v, dt)
			}
			out = appendUint(out, uint64(v), size)
		}
	case "INT64":
		for _, v := range c.GetInt64Contents() {
			out = binary.LittleEndian.AppendUint64(out, uint64(v))
		}
	case "UINT8", "UINT16", "UINT32":
		size, _ := api.DatatypeSize(dt)
		for _, v := range c.GetUintContents() {
			if size < 4 && v >= 1<<(8*size) {
				return nil, fmt.Errorf("%w: %d out of %s range", api.ErrBadRequest, v, dt)
			}
			out = appendUint(out, uint64(v), size)
		}
	case "UINT64":
		for _, v := range c.GetUint64Contents() {
			out = binary.LittleEndian.AppendUint64(out, v)
		}
	case "FP32":
		for _, v := range c.GetFp32Contents() {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	case "FP64":
		for _, v := range c.GetFp64Contents() {
			out = binary.LittleEndian.AppendUint64(out, math.Float64bits(v))
		}
	case "BYTES":
		out = api.EncodeBytesTensor(c.GetBytesContents())
	default:
		return nil, fmt.Errorf("%w: datatype %q has no typed contents; send raw_input_contents", api.ErrBadRequest, dt)
	}
	if out == nil {
		out = []byte{}
	}
	return out, nil
}

func b2u(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendUint(out []byte, v uint64, size int) []byte {
	for i := 0; i < size; i++ {
		out = append(out, byte(v>>(8*i)))
	}
	return out
}
