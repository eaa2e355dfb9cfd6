package npy

import (
	"archive/zip"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hone-ml/hone/ir"
)

// goldenEntry is what scripts/fixtures/npy_golden.py recorded with NumPy for one array.
type goldenEntry struct {
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	Hex   string `json:"hex"`
}

func loadGolden(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g map[string]json.RawMessage
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

func checkTensor(t *testing.T, got *ir.Tensor, want goldenEntry) {
	t.Helper()
	if got.DType.String() != want.DType {
		t.Errorf("dtype %s, want %s", got.DType, want.DType)
	}
	if !slices.Equal(got.Shape, want.Shape) {
		t.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	if h := hex.EncodeToString(got.Bytes()); h != want.Hex {
		t.Errorf("bytes\n got %s\nwant %s", h, want.Hex)
	}
}

// TestReadGolden reads every file NumPy wrote and compares dtype, shape and the row-major
// little-endian bytes NumPy reports for the same array.
func TestReadGolden(t *testing.T) {
	g := loadGolden(t)
	n := 0
	for name, raw := range g {
		if !strings.HasSuffix(name, ".npy") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			var want goldenEntry
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			checkTensor(t, got, want)
		})
	}
	if n < 20 {
		t.Fatalf("only %d golden .npy files", n)
	}
}

// TestReadValues checks a few decoded values directly, independent of the hex goldens, so a
// consistent misreading on both sides cannot pass.
func TestReadValues(t *testing.T) {
	f4, err := ReadFile("testdata/f4.npy")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range f4.F32() {
		if want := float32(i) / 7; v != want {
			t.Fatalf("f4[%d] = %v, want %v", i, v, want)
		}
	}
	be, err := ReadFile("testdata/be_f4.npy")
	if err != nil {
		t.Fatal(err)
	}
	if got := be.F32(); got[0] != -2.5 || got[5] != 2.5 {
		t.Errorf("big-endian float32 %v", got)
	}
	// fortran_f4 is arange(24).reshape(2,3,4) stored column-major: row-major must read 0..23.
	fo, err := ReadFile("testdata/fortran_f4.npy")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range fo.F32() {
		if v != float32(i) {
			t.Fatalf("fortran[%d] = %v, want %d", i, v, i)
		}
	}
	h, err := ReadFile("testdata/f2.npy")
	if err != nil {
		t.Fatal(err)
	}
	if v := ir.HalfToFloat(h.Bits16()[2]); v != 65504 {
		t.Errorf("float16 max = %v", v)
	}
	u8, err := ReadFile("testdata/u8.npy")
	if err != nil {
		t.Fatal(err)
	}
	if got := u8.U64(); got[1] != math.MaxUint64 || got[2] != 1<<53+1 {
		t.Errorf("uint64 %v", got)
	}
	s, err := ReadFile("testdata/scalar.npy")
	if err != nil {
		t.Fatal(err)
	}
	if s.Rank() != 0 || s.F64()[0] != 3.25 {
		t.Errorf("scalar %v %v", s, s.F64())
	}
}

// TestWriteMatchesNumPy writes each little-endian C-order golden array back and expects the very
// bytes numpy.save produced.
func TestWriteMatchesNumPy(t *testing.T) {
	for name := range loadGolden(t) {
		if !strings.HasSuffix(name, ".npy") || strings.HasPrefix(name, "be_") || strings.HasPrefix(name, "fortran_") || strings.HasPrefix(name, "v") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			tt, err := Read(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, tt); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("written bytes differ from numpy.save:\n got %q\nwant %q", clipBytes(buf.Bytes()), clipBytes(want))
			}
		})
	}
}

func clipBytes(b []byte) []byte { return b[:min(len(b), 140)] }

func TestNPZGolden(t *testing.T) {
	g := loadGolden(t)
	for _, name := range []string{"stored.npz", "deflated.npz"} {
		t.Run(name, func(t *testing.T) {
			var want map[string]goldenEntry
			if err := json.Unmarshal(g[name], &want); err != nil {
				t.Fatal(err)
			}
			arrays, order, err := ReadNPZ(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(order, []string{"weights", "ids"}) {
				t.Errorf("order %v", order)
			}
			for k, w := range want {
				checkTensor(t, arrays[k], w)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	half := ir.New(ir.Float16, 3)
	for i, v := range []float32{1, -0.5, 1024} {
		half.Bits16()[i] = ir.FloatToHalf(v)
	}
	b := ir.New(ir.Bool, 2, 2)
	b.BoolData()[1] = true
	tensors := map[string]*ir.Tensor{
		"f32":   ir.FromFloat32([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		"i64":   ir.FromInt64([]int{4}, []int64{-1, 0, 1, math.MaxInt64}),
		"f16":   half,
		"bool":  b,
		"empty": ir.New(ir.Int32, 0, 5),
		"rank0": ir.Scalar(7),
	}
	for name, tt := range tensors {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(dir, name+".npy")
			if err := WriteFile(p, tt); err != nil {
				t.Fatal(err)
			}
			got, err := ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if got.DType != tt.DType || !slices.Equal(got.Shape, tt.Shape) || !bytes.Equal(got.Bytes(), tt.Bytes()) {
				t.Errorf("round trip %v -> %v", tt, got)
			}
		})
	}
	for _, compress := range []bool{false, true} {
		p := filepath.Join(dir, "all.npz")
		order := []string{"rank0", "f32", "empty", "f16", "i64", "bool"}
		if err := WriteNPZ(p, tensors, order, compress); err != nil {
			t.Fatal(err)
		}
		got, gotOrder, err := ReadNPZ(p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotOrder, order) {
			t.Errorf("compress=%v: order %v", compress, gotOrder)
		}
		for name, tt := range tensors {
			if g := got[name]; g == nil || !bytes.Equal(g.Bytes(), tt.Bytes()) || !slices.Equal(g.Shape, tt.Shape) {
				t.Errorf("compress=%v: %s: %v", compress, name, g)
			}
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestWriteUnsupported(t *testing.T) {
	var buf bytes.Buffer
	err := Write(&buf, ir.New(ir.BFloat16, 2))
	var ue UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("bfloat16: got %v, want UnsupportedError", err)
	}
	if err := WriteNPZ(filepath.Join(t.TempDir(), "x.npz"), map[string]*ir.Tensor{}, []string{"missing"}, false); err == nil {
		t.Error("missing array accepted")
	}
}

// npyBytes builds a .npy stream with the given header dict and payload.
func npyBytes(dict string, payload []byte) []byte {
	h := padHeader(dict, 10)
	b := []byte(magic + "\x01\x00")
	b = append(b, byte(len(h)), byte(len(h)>>8))
	return append(append(b, h...), payload...)
}

func TestReadErrors(t *testing.T) {
	huge := npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", make([]byte, 16))
	tests := []struct {
		name        string
		data        []byte
		unsupported bool
		wantSubstr  string
	}{
		{"empty", nil, false, "short magic"},
		{"bad magic", []byte("\x93NUMPX\x01\x00\x00\x00"), false, "bad magic"},
		{"version 9", []byte(magic + "\x09\x00\x00\x00"), true, "version 9.0"},
		{"truncated header", []byte(magic + "\x01\x00\x40\x00{'descr'"), false, "short header"},
		{"truncated data", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }", make([]byte, 31)), false, "truncated"},
		{"huge shape", huge, false, "truncated"},
		{"overflowing shape", npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (281474976710655, 281474976710655), }", nil), false, "too large"},
		{"negative dim", npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", nil), false, "bad dimension"},
		{"object dtype", npyBytes("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", nil), true, "dtype"},
		{"complex", npyBytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", nil), true, "dtype"},
		{"structured", npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", nil), true, "structured"},
		{"missing shape", npyBytes("{'descr': '<f4', 'fortran_order': False, }", nil), false, "shape"},
		{"not a dict", npyBytes("hello", nil), false, "expected '{'"},
		{"unterminated", npyBytes("{'descr': '<f4", nil), false, "unterminated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Through a plain io.Reader so the unknown-size path is the one exercised.
			_, err := Read(io.MultiReader(bytes.NewReader(tc.data)))
			if err == nil {
				t.Fatal("no error")
			}
			var ue UnsupportedError
			var fe FormatError
			if tc.unsupported && !errors.As(err, &ue) || !tc.unsupported && !errors.As(err, &fe) {
				t.Errorf("error type %T (%v), unsupported=%v", err, err, tc.unsupported)
			}
			if !strings.Contains(err.Error(), tc.wantSubstr) {
				t.Errorf("error %q lacks %q", err, tc.wantSubstr)
			}
		})
	}
}

// TestHugeClaimSized checks that a known-size source rejects an oversized shape before
// allocating (ReadFile and npz members take this path).
func TestHugeClaimSized(t *testing.T) {
	p := filepath.Join(t.TempDir(), "huge.npy")
	if err := os.WriteFile(p, npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000), }", make([]byte, 64)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(p)
	if err == nil || !strings.Contains(err.Error(), "only 64 present") {
		t.Fatalf("got %v", err)
	}
}

func FuzzRead(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.npy")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", make([]byte, 16)))
	f.Fuzz(func(t *testing.T, data []byte) {
		tt, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever decodes must re-encode and decode to the same tensor.
		var buf bytes.Buffer
		if err := Write(&buf, tt); err != nil {
			t.Fatalf("decoded %v but cannot write it: %v", tt, err)
		}
		back, err := Read(&buf)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if back.DType != tt.DType || !slices.Equal(back.Shape, tt.Shape) || !bytes.Equal(back.Bytes(), tt.Bytes()) {
			t.Fatalf("round trip changed %v to %v", tt, back)
		}
	})
}

// TestNPZForgedSize feeds an archive whose directory and array header both claim 64 GiB while
// the member holds a few bytes: the reader must fail without trying to allocate the claim.
func TestNPZForgedSize(t *testing.T) {
	member := npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (17179869184,), }", make([]byte, 32))
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{
		Name:               "big.npy",
		Method:             zip.Store,
		CRC32:              crc32.ChecksumIEEE(member),
		CompressedSize64:   uint64(len(member)),
		UncompressedSize64: 1 << 37,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(member)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	_, _, err = DecodeNPZ(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err == nil || !strings.Contains(err.Error(), `member "big.npy"`) {
		t.Fatalf("got %v", err)
	}
}

func FuzzDecodeNPZ(f *testing.F) {
	for _, name := range []string{"stored.npz", "deflated.npz"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		arrays, order, err := DecodeNPZ(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		if len(arrays) != len(order) {
			t.Fatalf("%d arrays, %d names", len(arrays), len(order))
		}
	})
}

// TestLargeStream reads an array bigger than eagerLimit from a plain io.Reader, the path that
// grows its buffer with the data instead of trusting the header.
func TestLargeStream(t *testing.T) {
	n := eagerLimit/4 + 1000
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i) * 0.5
	}
	var buf bytes.Buffer
	if err := Write(&buf, ir.FromFloat32([]int{n}, v)); err != nil {
		t.Fatal(err)
	}
	got, err := Read(io.MultiReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.F32(), v) {
		t.Error("large array changed in transit")
	}
}

// TestStat checks that the header-only readers give what the full readers decode, on NumPy's own files (every
// golden .npy, both .npz forms), and refuse a file cut inside its header.
func TestStat(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.npy"))
	if len(files) < 20 {
		t.Fatalf("only %d golden .npy files", len(files))
	}
	for _, f := range files {
		info, err := Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		full, err := ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if info.DType != full.DType || !slices.Equal(info.Shape, full.Shape) {
			t.Errorf("%s: Stat %v %v, ReadFile %v %v", f, info.DType, info.Shape, full.DType, full.Shape)
		}
	}
	for _, f := range []string{"stored.npz", "deflated.npz"} {
		infos, err := StatNPZ(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		arrays, _, err := ReadNPZ(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != len(arrays) {
			t.Errorf("%s: %d headers, %d arrays", f, len(infos), len(arrays))
		}
		for name, a := range arrays {
			if i := infos[name]; i.DType != a.DType || !slices.Equal(i.Shape, a.Shape) {
				t.Errorf("%s %s: StatNPZ %v %v, ReadNPZ %v %v", f, name, i.DType, i.Shape, a.DType, a.Shape)
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "f4.npy"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.npy")
	if err := os.WriteFile(cut, raw[:20], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Stat(cut); err == nil || !strings.Contains(err.Error(), "cut.npy") {
		t.Errorf("header cut short: %v", err)
	}
	if _, err := StatNPZ(cut); err == nil || !strings.Contains(err.Error(), "cut.npy") {
		t.Errorf("not a zip: %v", err)
	}
}
