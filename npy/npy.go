// Package npy reads and writes NumPy .npy files and .npz archives as ir tensors.
//
// The format is specified in NumPy's numpy/lib/format.py ("NEP 1"): a magic string, a version,
// a header length, a Python dict literal naming descr, fortran_order and shape, then the raw
// elements. Versions 1.0, 2.0 (4-byte header length) and 3.0 (UTF-8 header) are read; 1.0 is
// written unless the header needs more than 65535 bytes. Big-endian and Fortran-order files are
// converted to hone's little-endian, row-major layout on read.
package npy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"strconv"
	"strings"

	"github.com/hone-ml/hone/internal/tempfiles"
	"github.com/hone-ml/hone/ir"
)

// FormatError reports a file that is not valid .npy or .npz data.
type FormatError string

func (e FormatError) Error() string { return "npy: invalid format: " + string(e) }

// UnsupportedError reports valid NumPy data that hone cannot represent (structured or object
// dtypes, complex numbers) or an ir tensor that NumPy cannot hold (bfloat16, int4, strings).
type UnsupportedError string

func (e UnsupportedError) Error() string { return "npy: unsupported: " + string(e) }

const magic = "\x93NUMPY"

// maxHeader bounds the header we are willing to buffer; NumPy itself refuses headers over 10000
// bytes unless told otherwise, so this only guards against hostile length fields.
const maxHeader = 1 << 20

// eagerLimit is the largest payload allocated up front when the reader's remaining size is
// unknown. Larger claims are read incrementally so that a lying header costs no more memory
// than the bytes actually present.
const eagerLimit = 4 << 20

// dtypes maps NumPy's kind+size codes (the descr without its byte-order character) to ir types.
var dtypes = map[string]ir.DType{
	"f2": ir.Float16, "f4": ir.Float32, "f8": ir.Float64,
	"i1": ir.Int8, "i2": ir.Int16, "i4": ir.Int32, "i8": ir.Int64,
	"u1": ir.Uint8, "u2": ir.Uint16, "u4": ir.Uint32, "u8": ir.Uint64,
	"b1": ir.Bool,
}

// Read decodes one .npy array from r. It reads exactly the header and the elements, so several
// arrays may be concatenated in one stream.
func Read(r io.Reader) (*ir.Tensor, error) {
	return read(r, -1, false)
}

// ReadFile reads a .npy file.
func ReadFile(path string) (*ir.Tensor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	t, err := read(bufio.NewReaderSize(f, 1<<16), size, true)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return t, nil
}

// header is the decoded dict of a .npy file.
type header struct {
	dtype     ir.DType
	bigEndian bool
	fortran   bool
	shape     []int
}

// readHeader reads an array's magic string and header from r, returning the header and the bytes consumed;
// size is the number of bytes r holds, or -1 if unknown.
func readHeader(r io.Reader, size int64) (header, int64, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return header{}, 0, FormatError("short magic string: " + err.Error())
	}
	if string(pre[:6]) != magic {
		return header{}, 0, FormatError(fmt.Sprintf("bad magic string %q", pre[:6]))
	}
	major, minor := pre[6], pre[7]
	var hlen int64
	consumed := int64(8)
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return header{}, 0, FormatError("short header length: " + err.Error())
		}
		hlen = int64(binary.LittleEndian.Uint16(b[:]))
		consumed += 2
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return header{}, 0, FormatError("short header length: " + err.Error())
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
		consumed += 4
	default:
		return header{}, 0, UnsupportedError(fmt.Sprintf("format version %d.%d", major, minor))
	}
	if hlen > maxHeader {
		return header{}, 0, FormatError(fmt.Sprintf("header length %d exceeds %d", hlen, maxHeader))
	}
	if size >= 0 && consumed+hlen > size {
		return header{}, 0, FormatError(fmt.Sprintf("header length %d exceeds the %d bytes left", hlen, size-consumed))
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return header{}, 0, FormatError("short header: " + err.Error())
	}
	h, err := parseHeader(string(hb))
	return h, consumed + hlen, err
}

// Info is an array's element type and shape, as its header declares them.
type Info struct {
	DType ir.DType
	Shape []int
}

// Stat reads the header of a .npy file, not its data.
func Stat(path string) (Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return Info{}, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	h, _, err := readHeader(bufio.NewReader(f), size)
	if err != nil {
		return Info{}, fmt.Errorf("%w (file %s)", err, path)
	}
	return Info{h.dtype, h.shape}, nil
}

// read decodes an array; size is the number of bytes r holds, or -1 if unknown. With exact set,
// size is known to be true (a regular file), so the payload is allocated at once however large;
// otherwise (a stream, or a zip member whose directory entry may lie) large payloads are read
// incrementally.
func read(r io.Reader, size int64, exact bool) (*ir.Tensor, error) {
	h, consumed, err := readHeader(r, size)
	if err != nil {
		return nil, err
	}
	n, nbytes, err := payloadSize(h.shape, h.dtype.Size())
	if err != nil {
		return nil, err
	}
	if size >= 0 && nbytes > size-consumed {
		return nil, FormatError(fmt.Sprintf("shape %v of %s needs %d data bytes, only %d present", h.shape, h.dtype, nbytes, size-consumed))
	}
	var t *ir.Tensor
	if exact || nbytes <= eagerLimit {
		t = ir.New(h.dtype, h.shape...)
		if _, err := io.ReadFull(r, t.Bytes()); err != nil {
			return nil, FormatError(fmt.Sprintf("data of shape %v %s truncated: %v", h.shape, h.dtype, err))
		}
	} else {
		// Unknown remaining size and a large claim: let the buffer grow with the data that exists.
		buf, err := io.ReadAll(io.LimitReader(r, nbytes))
		if err != nil {
			return nil, FormatError(fmt.Sprintf("data of shape %v %s: %v", h.shape, h.dtype, err))
		}
		if int64(len(buf)) != nbytes {
			return nil, FormatError(fmt.Sprintf("data of shape %v %s truncated: %d of %d bytes", h.shape, h.dtype, len(buf), nbytes))
		}
		if t, err = ir.FromBytes(h.dtype, h.shape, buf); err != nil {
			return nil, fmt.Errorf("npy: %w", err)
		}
	}
	data := t.Bytes()
	if h.bigEndian {
		swapBytes(data, h.dtype.Size())
	}
	if h.dtype == ir.Bool {
		// Go's bool must be exactly 0 or 1; NumPy treats any non-zero byte as True.
		for i, b := range data {
			if b != 0 {
				data[i] = 1
			}
		}
	}
	if h.fortran && len(h.shape) > 1 && n > 1 {
		t = fortranToC(t)
	}
	return t, nil
}

// payloadSize returns the element count and byte size of shape, refusing overflow.
func payloadSize(shape []int, elem int) (n, nbytes int64, err error) {
	total := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(total, uint64(d))
		if hi != 0 || lo > 1<<62 {
			return 0, 0, FormatError(fmt.Sprintf("shape %v is too large", shape))
		}
		total = lo
	}
	hi, lo := bits.Mul64(total, uint64(elem))
	if hi != 0 || lo > 1<<62 {
		return 0, 0, FormatError(fmt.Sprintf("shape %v is too large", shape))
	}
	return int64(total), int64(lo), nil
}

func swapBytes(b []byte, size int) {
	switch size {
	case 2:
		for i := 0; i+1 < len(b); i += 2 {
			b[i], b[i+1] = b[i+1], b[i]
		}
	case 4:
		for i := 0; i+3 < len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], binary.BigEndian.Uint32(b[i:]))
		}
	case 8:
		for i := 0; i+7 < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], binary.BigEndian.Uint64(b[i:]))
		}
	}
}

// fortranToC copies a column-major array into row-major order. In Fortran order the first axis
// varies fastest, so element (i0, ..., ik) sits at sum(ij * prod(shape[:j])).
func fortranToC(src *ir.Tensor) *ir.Tensor {
	dst := ir.New(src.DType, src.Shape...)
	size := src.DType.Size()
	shape := src.Shape
	rank := len(shape)
	fstride := make([]int, rank)
	s := 1
	for j := range rank {
		fstride[j] = s
		s *= shape[j]
	}
	idx := make([]int, rank)
	in, out := src.Bytes(), dst.Bytes()
	off := 0 // Fortran offset of idx, in elements
	for c := range src.Len() {
		copy(out[c*size:(c+1)*size], in[off*size:(off+1)*size])
		// Advance the row-major counter: last axis fastest.
		for j := rank - 1; j >= 0; j-- {
			idx[j]++
			off += fstride[j]
			if idx[j] < shape[j] {
				break
			}
			off -= idx[j] * fstride[j]
			idx[j] = 0
		}
	}
	return dst
}

// parseHeader decodes the Python dict literal NumPy writes, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
func parseHeader(s string) (header, error) {
	var h header
	p := &lit{s: strings.TrimRight(s, " \n\x00")}
	fields, err := p.dict()
	if err != nil {
		return h, FormatError(fmt.Sprintf("header %q: %v", clip(s), err))
	}
	descr, ok := fields["descr"].(string)
	if !ok {
		if _, isList := fields["descr"].([]any); isList {
			return h, UnsupportedError("structured dtype " + clip(s))
		}
		return h, FormatError(fmt.Sprintf("header %q lacks a string 'descr'", clip(s)))
	}
	fo, ok := fields["fortran_order"].(bool)
	if !ok {
		return h, FormatError(fmt.Sprintf("header %q lacks a boolean 'fortran_order'", clip(s)))
	}
	shape, ok := fields["shape"].([]any)
	if !ok {
		return h, FormatError(fmt.Sprintf("header %q lacks a tuple 'shape'", clip(s)))
	}
	if len(fields) != 3 {
		return h, FormatError(fmt.Sprintf("header %q has keys other than descr, fortran_order, shape", clip(s)))
	}
	h.fortran = fo
	for _, d := range shape {
		v, ok := d.(int64)
		if !ok || v < 0 || v > 1<<48 {
			return h, FormatError(fmt.Sprintf("bad dimension %v in shape", d))
		}
		h.shape = append(h.shape, int(v))
	}
	if h.shape == nil {
		h.shape = []int{}
	}
	if len(descr) < 2 {
		return h, FormatError(fmt.Sprintf("bad descr %q", descr))
	}
	order, code := descr[0], descr[1:]
	switch order {
	case '<', '|', '=': // '=' is native; NumPy never writes it, and hone only runs little-endian
	case '>':
		h.bigEndian = true
	default:
		code = descr
	}
	if code == "?" {
		code = "b1"
	}
	dt, ok := dtypes[code]
	if !ok {
		return h, UnsupportedError(fmt.Sprintf("dtype %q", descr))
	}
	h.dtype = dt
	return h, nil
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// lit parses the small subset of Python literals found in .npy headers: dicts with string keys,
// strings, True/False, integers, and tuples or lists of these.
type lit struct {
	s     string
	i     int
	depth int
}

func (p *lit) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t' || p.s[p.i] == '\n') {
		p.i++
	}
}

func (p *lit) eat(c byte) bool {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *lit) dict() (map[string]any, error) {
	if !p.eat('{') {
		return nil, errors.New("expected '{'")
	}
	m := map[string]any{}
	for !p.eat('}') {
		k, err := p.value()
		if err != nil {
			return nil, err
		}
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("dict key %v is not a string", k)
		}
		if !p.eat(':') {
			return nil, fmt.Errorf("expected ':' after %q", key)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("duplicate key %q", key)
		}
		m[key] = v
		if !p.eat(',') {
			if !p.eat('}') {
				return nil, fmt.Errorf("expected ',' or '}' after %q", key)
			}
			break
		}
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("trailing %q", clip(p.s[p.i:]))
	}
	return m, nil
}

func (p *lit) value() (any, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, errors.New("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '\'' || c == '"':
		end := strings.IndexByte(p.s[p.i+1:], c)
		if end < 0 {
			return nil, errors.New("unterminated string")
		}
		v := p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
		return v, nil
	case c == '(' || c == '[':
		p.depth++
		if p.depth > 4 {
			return nil, errors.New("nesting too deep")
		}
		defer func() { p.depth-- }()
		closer := byte(')')
		if c == '[' {
			closer = ']'
		}
		p.i++
		var items []any
		for !p.eat(closer) {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			items = append(items, v)
			if !p.eat(',') {
				if !p.eat(closer) {
					return nil, fmt.Errorf("expected ',' or %q", closer)
				}
				break
			}
		}
		if items == nil {
			items = []any{}
		}
		return items, nil
	case strings.HasPrefix(p.s[p.i:], "True"):
		p.i += 4
		return true, nil
	case strings.HasPrefix(p.s[p.i:], "False"):
		p.i += 5
		return false, nil
	case c >= '0' && c <= '9' || c == '-':
		j := p.i + 1
		for j < len(p.s) && p.s[j] >= '0' && p.s[j] <= '9' {
			j++
		}
		// Python 2 era files may write long integers as 3L.
		v, err := strconv.ParseInt(p.s[p.i:j], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("bad integer %q", p.s[p.i:j])
		}
		p.i = j
		if p.i < len(p.s) && p.s[p.i] == 'L' {
			p.i++
		}
		return v, nil
	}
	return nil, fmt.Errorf("unexpected %q", clip(p.s[p.i:]))
}

// Write encodes t as a version 1.0 .npy array (2.0 if the header would not fit), little-endian
// and C order, byte for byte as numpy.save writes it.
func Write(w io.Writer, t *ir.Tensor) error {
	code := ""
	for c, dt := range dtypes {
		if dt == t.DType {
			code = c
		}
	}
	if code == "" {
		return UnsupportedError(fmt.Sprintf("cannot store a %s tensor in .npy", t.DType))
	}
	if t.Len() < 0 || len(t.Bytes()) != t.Len()*t.DType.Size() {
		return fmt.Errorf("npy: tensor %v has %d bytes of storage", t, len(t.Bytes()))
	}
	order := "<"
	if t.DType.Size() == 1 {
		order = "|"
	}
	var dims strings.Builder
	for i, d := range t.Shape {
		if i > 0 {
			dims.WriteString(", ")
		}
		dims.WriteString(strconv.Itoa(d))
	}
	if len(t.Shape) == 1 {
		dims.WriteString(",")
	}
	dict := fmt.Sprintf("{'descr': '%s%s', 'fortran_order': False, 'shape': (%s), }", order, code, dims.String())
	// NumPy pads with spaces and a final newline so the data starts on a 64-byte boundary.
	pre := []byte(magic + "\x01\x00")
	hdr := padHeader(dict, len(pre)+2)
	if len(hdr) > 65535 {
		pre = []byte(magic + "\x02\x00")
		hdr = padHeader(dict, len(pre)+4)
		pre = binary.LittleEndian.AppendUint32(pre, uint32(len(hdr)))
	} else {
		pre = binary.LittleEndian.AppendUint16(pre, uint16(len(hdr)))
	}
	pre = append(pre, hdr...)
	if _, err := w.Write(pre); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	if _, err := w.Write(t.Bytes()); err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}

// padHeader appends spaces and a newline to dict so that prefix+header is a multiple of 64 bytes.
func padHeader(dict string, prefix int) string {
	total := prefix + len(dict) + 1
	return dict + strings.Repeat(" ", (64-total%64)%64) + "\n"
}

// WriteFile writes t to path atomically: the data goes to a temporary file in the same
// directory that is renamed over path only once complete, so readers never see half a file.
func WriteFile(path string, t *ir.Tensor) error {
	return atomicWrite(path, func(w io.Writer) error { return Write(w, t) })
}

func atomicWrite(path string, fill func(io.Writer) error) error {
	err := tempfiles.WriteFile(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}
