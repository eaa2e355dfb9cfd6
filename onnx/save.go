package onnx

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/hone-ml/hone/internal/tempfiles"
	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/onnx/onnxpb"
)

// maxProtoBytes is protobuf's hard limit on one serialized message (2 GiB - 1).
const maxProtoBytes = 1<<31 - 1

// autoThreshold is the size from which initializers move out when Save must split an oversized model; it is
// the onnx Python package's default for convert_model_to_external_data.
const autoThreshold = 1024

// extAlign aligns every external tensor so a reader can map the file and use the data in place.
const extAlign = 64

// Option configures Save.
type Option func(*saveOpts)

type saveOpts struct {
	extFile   string
	threshold int
	overwrite bool
}

// WithExternalData stores every initializer of at least threshold bytes in file, a name relative to the model's
// directory, instead of inside the model.
func WithExternalData(file string, threshold int) Option {
	return func(o *saveOpts) { o.extFile, o.threshold = file, threshold }
}

// AllowOverwrite lets Save replace the files the model was read from. Decoding reads all data into memory, so
// this is safe; it is off by default to catch a mistyped output path.
func AllowOverwrite() Option {
	return func(o *saveOpts) { o.overwrite = true }
}

// Save writes m to path. Models that would pass protobuf's 2 GiB limit get their initializers moved to
// "<base>.data" beside the model even without WithExternalData. Every file is written to a temporary name in
// its directory, synced and renamed, so a crash leaves either the old file or the new one.
func Save(m *ir.Model, path string, opts ...Option) error {
	var o saveOpts
	for _, f := range opts {
		f(&o)
	}
	e := &encoder{}
	e.src, _ = m.Source.(*source)
	mp, err := e.model(m)
	if err != nil {
		return err
	}
	if !o.overwrite {
		if err := checkOverwrite(e.src, path); err != nil {
			return err
		}
	}
	if o.extFile == "" && proto.Size(mp) > maxProtoBytes {
		o.extFile, o.threshold = filepath.Base(path)+".data", autoThreshold
	}
	var data *tempfiles.File // the external data file, until it is renamed into place
	defer func() {
		if data != nil {
			data.Abort()
		}
	}()
	if o.extFile != "" {
		if !filepath.IsLocal(o.extFile) {
			return fmt.Errorf("onnx: external data file %q must be a relative path inside the model's directory", o.extFile)
		}
		dataPath := filepath.Join(filepath.Dir(path), o.extFile)
		if !o.overwrite {
			if err := checkOverwrite(e.src, dataPath); err != nil {
				return err
			}
		}
		data, err = writeExternal(e.inits, dataPath, o.extFile, o.threshold)
		if err != nil {
			return err
		}
		if size := proto.Size(mp); size > maxProtoBytes {
			return fmt.Errorf("onnx: model is %d bytes even with its initializers external, over protobuf's 2 GiB limit", size)
		}
	}
	enc, err := proto.Marshal(mp)
	if err != nil {
		return fmt.Errorf("onnx: encoding model: %w", err)
	}
	// The data goes in place first so the new model never names a file that is not there yet.
	if data != nil {
		err, data = data.Commit(), nil
		if err != nil {
			return fmt.Errorf("onnx: writing %s: %w", filepath.Join(filepath.Dir(path), o.extFile), err)
		}
	}
	if err := tempfiles.WriteFile(path, func(w io.Writer) error { _, err := w.Write(enc); return err }); err != nil {
		return fmt.Errorf("onnx: writing %s: %w", path, err)
	}
	return nil
}

// checkOverwrite refuses a target that is the same file (by inode, not by name) as one the model was read from.
func checkOverwrite(src *source, target string) error {
	if src == nil {
		return nil
	}
	ts, err := os.Stat(target)
	if err != nil {
		return nil // a target that does not exist cannot be a source
	}
	for _, p := range append([]string{src.path}, src.files...) {
		if p == "" {
			continue
		}
		if ss, err := os.Stat(p); err == nil && os.SameFile(ts, ss) {
			return fmt.Errorf("onnx: saving to %s: %w %s (use AllowOverwrite)", target, ErrOverwriteSource, p)
		}
	}
	return nil
}

// writeExternal moves every initializer of at least threshold bytes into a temporary data file and points its
// TensorProto there; the caller commits the file (renames it into place) or aborts it.
func writeExternal(inits []encInit, dataPath, location string, threshold int) (*tempfiles.File, error) {
	f, err := tempfiles.Create(dataPath)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	fail := func(err error) (*tempfiles.File, error) {
		f.Abort()
		return nil, fmt.Errorf("onnx: writing %s: %w", dataPath, err)
	}
	var off int64
	pad := make([]byte, extAlign)
	for _, in := range inits {
		if in.t.DType == ir.String || packedLen(in.t.DType, in.t.Len()) < threshold {
			continue
		}
		if r := off % extAlign; r != 0 {
			if _, err := f.Write(pad[:extAlign-r]); err != nil {
				return fail(err)
			}
			off += extAlign - r
		}
		raw := rawBytes(in.t)
		if _, err := f.Write(raw); err != nil {
			return fail(err)
		}
		stripData(in.tp)
		in.tp.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
		in.tp.ExternalData = []*onnxpb.StringStringEntryProto{
			{Key: proto.String("location"), Value: proto.String(location)},
			{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(off, 10))},
			{Key: proto.String("length"), Value: proto.String(strconv.Itoa(len(raw)))},
		}
		off += int64(len(raw))
	}
	return f, nil
}
