package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx/onnxpb"
)

// extReader resolves external tensor data relative to one directory. Files open through an os.Root, so neither
// a "../" location nor a symlink inside dir can reach outside it.
type extReader struct {
	dir   string
	root  *os.Root
	files map[string]*os.File
	read  []string // absolute paths of the files opened, for Save's overwrite check
}

func (e *extReader) close() {
	for _, f := range e.files {
		f.Close()
	}
	if e.root != nil {
		e.root.Close()
	}
}

// extInfo is a tensor's external_data entries.
type extInfo struct {
	location       string
	offset, length int64
	hasLength      bool
}

func parseExternal(tp *onnxpb.TensorProto) (extInfo, error) {
	what := tensorWhat(tp)
	var x extInfo
	for _, kv := range tp.ExternalData {
		var err error
		switch kv.GetKey() {
		case "location":
			x.location = kv.GetValue()
		case "offset":
			x.offset, err = strconv.ParseInt(kv.GetValue(), 10, 64)
		case "length":
			x.length, err = strconv.ParseInt(kv.GetValue(), 10, 64)
			x.hasLength = true
		}
		// Other keys ("checksum", future ones) carry nothing needed to read the bytes.
		if err != nil || x.offset < 0 || x.length < 0 {
			return x, formatErr("%s: external data %s %q is not a non-negative integer", what, kv.GetKey(), kv.GetValue())
		}
	}
	switch {
	case x.location == "":
		return x, formatErr("%s: external data has no location", what)
	case filepath.IsAbs(x.location) || !filepath.IsLocal(x.location):
		return x, formatErr("%s: external data location %q must be a relative path inside the model's directory", what, x.location)
	}
	return x, nil
}

// load reads want bytes of tp's external data into a fresh 64-byte-aligned buffer.
func (e *extReader) load(tp *onnxpb.TensorProto, want int) ([]byte, error) {
	what := tensorWhat(tp)
	x, err := parseExternal(tp)
	if err != nil {
		return nil, err
	}
	if x.hasLength && x.length != int64(want) {
		return nil, formatErr("%s: external data length %d, but its dims need %d bytes", what, x.length, want)
	}
	if e.dir == "" {
		return nil, unsupportedErr("%s uses external data %q, which needs the model's directory (use Load)", what, x.location)
	}
	f, err := e.open(x.location)
	if err != nil {
		return nil, &FormatError{Err: fmt.Errorf("%s: external data: %w", what, err)}
	}
	st, err := f.Stat()
	if err != nil {
		return nil, &FormatError{Err: fmt.Errorf("%s: external data: %w", what, err)}
	}
	if x.offset > st.Size() || int64(want) > st.Size()-x.offset {
		return nil, formatErr("%s: external data %q has %d bytes, needs %d at offset %d", what, x.location, st.Size(), want, x.offset)
	}
	// An aligned buffer from ir lets the tensor wrap it without another copy.
	buf := ir.New(ir.Uint8, want).Bytes()
	if _, err := f.ReadAt(buf, x.offset); err != nil {
		return nil, &FormatError{Err: fmt.Errorf("%s: reading external data %q: %w", what, x.location, err)}
	}
	return buf, nil
}

func (e *extReader) open(loc string) (*os.File, error) {
	loc = filepath.Clean(loc)
	if f, ok := e.files[loc]; ok {
		return f, nil
	}
	if e.root == nil {
		r, err := os.OpenRoot(e.dir)
		if err != nil {
			return nil, err
		}
		e.root = r
		e.files = map[string]*os.File{}
	}
	f, err := e.root.Open(loc)
	if err != nil {
		return nil, err
	}
	e.files[loc] = f
	if abs, err := filepath.Abs(filepath.Join(e.dir, loc)); err == nil {
		e.read = append(e.read, abs)
	}
	return f, nil
}
