package runtime

// A minimal reader for ONNX's backend node tests (model.onnx + test_data_set_0/*.pb), so the NN ops can be
// checked against ONNX's own reference outputs before the onnx package and the conformance harness exist.
// It decodes only the protobuf fields those single-node models use.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/hone-ml/hone/ir"
)

const nnTestData = "/usr/share/libonnx-testdata/data"

// nnFields splits a protobuf message into (field number, wire type, raw value) triples.
type nnField struct {
	num protowire.Number
	typ protowire.Type
	v   uint64 // varint / fixed values
	b   []byte // bytes values
}

func nnFieldsOf(b []byte) ([]nnField, error) {
	var out []nnField
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		f := nnField{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var v uint32
			v, n = protowire.ConsumeFixed32(b)
			f.v = uint64(v)
		case protowire.Fixed64Type:
			f.v, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			f.b, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		out = append(out, f)
	}
	return out, nil
}

// nnVarints reads a repeated varint field that may be packed or not.
func nnVarints(f nnField) []uint64 {
	if f.typ == protowire.VarintType {
		return []uint64{f.v}
	}
	var out []uint64
	b := f.b
	for len(b) > 0 {
		v, n := protowire.ConsumeVarint(b)
		if n < 0 {
			break
		}
		out = append(out, v)
		b = b[n:]
	}
	return out
}

func nnFixed32s(f nnField) []uint32 {
	if f.typ == protowire.Fixed32Type {
		return []uint32{uint32(f.v)}
	}
	var out []uint32
	for b := f.b; len(b) >= 4; b = b[4:] {
		v, _ := protowire.ConsumeFixed32(b)
		out = append(out, v)
	}
	return out
}

func nnFixed64s(f nnField) []uint64 {
	if f.typ == protowire.Fixed64Type {
		return []uint64{f.v}
	}
	var out []uint64
	for b := f.b; len(b) >= 8; b = b[8:] {
		v, _ := protowire.ConsumeFixed64(b)
		out = append(out, v)
	}
	return out
}

// nnDecodeTensor decodes a TensorProto.
func nnDecodeTensor(b []byte) (*ir.Tensor, string, error) {
	fs, err := nnFieldsOf(b)
	if err != nil {
		return nil, "", err
	}
	var (
		dims                   []int
		dt                     ir.DType
		name                   string
		raw                    []byte
		hasRaw                 bool
		f32s                   []uint32
		i32s, i64s, u64s, f64s []uint64
		strs                   []string
	)
	for _, f := range fs {
		switch f.num {
		case 1:
			for _, v := range nnVarints(f) {
				dims = append(dims, int(int64(v)))
			}
		case 2:
			dt = ir.DType(f.v)
		case 4:
			f32s = append(f32s, nnFixed32s(f)...)
		case 5:
			i32s = append(i32s, nnVarints(f)...)
		case 6:
			strs = append(strs, string(f.b))
		case 7:
			i64s = append(i64s, nnVarints(f)...)
		case 8:
			name = string(f.b)
		case 9:
			raw, hasRaw = f.b, true
		case 10:
			f64s = append(f64s, nnFixed64s(f)...)
		case 11:
			u64s = append(u64s, nnVarints(f)...)
		}
	}
	if dt == ir.String {
		t := ir.New(ir.String, dims...)
		copy(t.Strings, strs)
		return t, name, nil
	}
	if hasRaw {
		t, err := ir.FromBytes(dt, dims, append([]byte(nil), raw...))
		return t, name, err
	}
	t := ir.New(dt, dims...)
	n := t.Len()
	switch dt {
	case ir.Float32:
		for i := 0; i < n && i < len(f32s); i++ {
			t.F32()[i] = math.Float32frombits(f32s[i])
		}
	case ir.Float64:
		for i := 0; i < n && i < len(f64s); i++ {
			t.F64()[i] = math.Float64frombits(f64s[i])
		}
	case ir.Int64:
		for i := 0; i < n && i < len(i64s); i++ {
			t.I64()[i] = int64(i64s[i])
		}
	case ir.Uint64, ir.Uint32:
		for i := 0; i < n && i < len(u64s); i++ {
			if dt == ir.Uint64 {
				t.U64()[i] = u64s[i]
			} else {
				t.U32()[i] = uint32(u64s[i])
			}
		}
	case ir.Int32:
		for i := 0; i < n && i < len(i32s); i++ {
			t.I32()[i] = int32(i32s[i])
		}
	case ir.Float16, ir.BFloat16, ir.Uint16:
		for i := 0; i < n && i < len(i32s); i++ {
			t.Bits16()[i] = uint16(i32s[i])
		}
	case ir.Int16:
		for i := 0; i < n && i < len(i32s); i++ {
			t.I16()[i] = int16(i32s[i])
		}
	case ir.Int8:
		for i := 0; i < n && i < len(i32s); i++ {
			t.I8()[i] = int8(i32s[i])
		}
	case ir.Uint8, ir.Bool:
		for i := 0; i < n && i < len(i32s); i++ {
			t.Bytes()[i] = byte(i32s[i])
		}
	default:
		return nil, "", fmt.Errorf("tensor %q: dtype %s not decoded", name, dt)
	}
	return t, name, nil
}

func nnDecodeAttr(b []byte) (*ir.Attr, error) {
	fs, err := nnFieldsOf(b)
	if err != nil {
		return nil, err
	}
	a := &ir.Attr{}
	for _, f := range fs {
		switch f.num {
		case 1:
			a.Name = string(f.b)
		case 2:
			a.F = math.Float32frombits(uint32(f.v))
		case 3:
			a.I = int64(f.v)
		case 4:
			a.S = string(f.b)
		case 5:
			t, _, err := nnDecodeTensor(f.b)
			if err != nil {
				return nil, err
			}
			a.T = t
		case 7:
			for _, v := range nnFixed32s(f) {
				a.Floats = append(a.Floats, math.Float32frombits(v))
			}
		case 8:
			for _, v := range nnVarints(f) {
				a.Ints = append(a.Ints, int64(v))
			}
		case 9:
			a.Strings = append(a.Strings, string(f.b))
		case 20:
			a.Type = ir.AttrType(f.v)
		}
	}
	return a, nil
}

// nnLoadNodeModel decodes a backend-test model.onnx with a single-level graph.
func nnLoadNodeModel(path string) (*ir.Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fs, err := nnFieldsOf(b)
	if err != nil {
		return nil, err
	}
	m := &ir.Model{}
	for _, f := range fs {
		switch f.num {
		case 8:
			of, err := nnFieldsOf(f.b)
			if err != nil {
				return nil, err
			}
			var o ir.OpsetImport
			for _, x := range of {
				if x.num == 1 {
					o.Domain = string(x.b)
				} else if x.num == 2 {
					o.Version = int64(x.v)
				}
			}
			m.Opsets = append(m.Opsets, o)
		case 7:
			g, err := nnDecodeGraph(f.b)
			if err != nil {
				return nil, err
			}
			m.Graph = g
		}
	}
	return m, nil
}

func nnDecodeGraph(b []byte) (*ir.Graph, error) {
	fs, err := nnFieldsOf(b)
	if err != nil {
		return nil, err
	}
	g := ir.NewGraph("")
	for _, f := range fs {
		switch f.num {
		case 1:
			nf, err := nnFieldsOf(f.b)
			if err != nil {
				return nil, err
			}
			n := &ir.Node{}
			for _, x := range nf {
				switch x.num {
				case 1:
					n.Inputs = append(n.Inputs, string(x.b))
				case 2:
					n.Outputs = append(n.Outputs, string(x.b))
				case 3:
					n.Name = string(x.b)
				case 4:
					n.OpType = string(x.b)
				case 5:
					a, err := nnDecodeAttr(x.b)
					if err != nil {
						return nil, err
					}
					n.Attrs = append(n.Attrs, a)
				case 7:
					n.Domain = string(x.b)
				}
			}
			g.Nodes = append(g.Nodes, n)
		case 5:
			t, name, err := nnDecodeTensor(f.b)
			if err != nil {
				return nil, err
			}
			g.SetInitializer(name, t)
		case 11, 12:
			vf, err := nnFieldsOf(f.b)
			if err != nil {
				return nil, err
			}
			vi := &ir.ValueInfo{}
			for _, x := range vf {
				if x.num == 1 {
					vi.Name = string(x.b)
				}
			}
			if f.num == 11 {
				g.Inputs = append(g.Inputs, vi)
			} else {
				g.Outputs = append(g.Outputs, vi)
			}
		}
	}
	return g, nil
}

// nnRunNodeTest runs one backend node test and compares every output with ONNX's tolerance (rtol 1e-3, atol 1e-7,
// as onnx/backend/test/runner uses), loosened to atol 1e-5 for float types that hone computes in float32.
func nnRunNodeTest(t *testing.T, dir string) {
	t.Helper()
	m, err := nnLoadNodeModel(filepath.Join(dir, "model.onnx"))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	for _, n := range m.Graph.Nodes {
		if _, mine := nnOps[opKey(n.Domain, n.OpType)]; !mine && !IsSupported(n.Domain, n.OpType) {
			t.Skipf("needs op %s, which another op table has not registered yet", n.OpType)
		}
	}
	p, err := Compile(m, Options{NoOptimize: true, Threads: 2})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		t.Fatalf("no test data sets in %s", dir)
	}
	for _, set := range sets {
		inputs := map[string]*ir.Tensor{}
		for i, vi := range m.Graph.Inputs {
			b, err := os.ReadFile(filepath.Join(set, fmt.Sprintf("input_%d.pb", i)))
			if err != nil {
				continue // an input that is an initializer has no file
			}
			tt, _, err := nnDecodeTensor(b)
			if err != nil {
				t.Fatal(err)
			}
			inputs[vi.Name] = tt
		}
		for _, vi := range p.Inputs() {
			if inputs[vi.Name] == nil {
				t.Fatalf("no data for input %q", vi.Name)
			}
		}
		got, err := p.Run(inputs)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		for i, vo := range m.Graph.Outputs {
			b, err := os.ReadFile(filepath.Join(set, fmt.Sprintf("output_%d.pb", i)))
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := nnDecodeTensor(b)
			if err != nil {
				t.Fatal(err)
			}
			nnCompare(t, vo.Name, got[vo.Name], want, 1e-3, 1e-5)
		}
	}
}

func nnCompare(t *testing.T, name string, got, want *ir.Tensor, rtol, atol float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("output %q missing", name)
	}
	if got.DType != want.DType {
		t.Fatalf("output %q: dtype %s, want %s", name, got.DType, want.DType)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) && !(got.Len() == 1 && want.Len() == 1) {
		t.Fatalf("output %q: shape %v, want %v", name, got.Shape, want.Shape)
	}
	if want.DType == ir.Float16 || want.DType == ir.BFloat16 {
		rtol, atol = max(rtol, 4e-3), max(atol, 1e-3)
	}
	g, w := got.Float64s(), want.Float64s()
	bad := 0
	for i := range w {
		if math.IsNaN(w[i]) && math.IsNaN(g[i]) {
			continue
		}
		if math.Abs(g[i]-w[i]) > atol+rtol*math.Abs(w[i]) || math.IsNaN(g[i]) != math.IsNaN(w[i]) {
			if bad < 5 {
				t.Errorf("output %q[%d] = %v, want %v", name, i, g[i], w[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("output %q: %d of %d elements differ", name, bad, len(w))
	}
}

// nnNodeTests lists backend node tests whose op is in nnOps, with the reason for the ones that are skipped.
// suite is "node", "pytorch-converted" or "pytorch-operator".
func nnNodeTests(t *testing.T, suite string, prefixes []string, skip map[string]string) {
	ents, err := os.ReadDir(filepath.Join(nnTestData, suite))
	if err != nil {
		t.Skipf("ONNX backend test data not installed: %v", err)
	}
	var names []string
	for _, e := range ents {
		for _, p := range prefixes {
			// _expanded variants test the function body's ops, which belong to other tables.
			if strings.HasPrefix(e.Name(), p) && !strings.HasSuffix(e.Name(), "_expanded") {
				names = append(names, e.Name())
				break
			}
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		t.Fatalf("no node tests match %v", prefixes)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if why, ok := skip[name]; ok {
				t.Skip(why)
			}
			nnRunNodeTest(t, filepath.Join(nnTestData, suite, name))
		})
	}
}
