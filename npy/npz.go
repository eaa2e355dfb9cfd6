package npy

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hone-ml/hone/ir"
)

// ReadNPZ reads every array of a .npz archive (as written by numpy.savez or savez_compressed).
// Names drop the ".npy" suffix; order lists them as stored in the archive.
func ReadNPZ(path string) (arrays map[string]*ir.Tensor, order []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("npy: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("npy: %w", err)
	}
	arrays, order, err = DecodeNPZ(f, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return arrays, order, nil
}

// DecodeNPZ is ReadNPZ for an archive held in memory or any other io.ReaderAt of the given size
// (for example bytes embedded with go:embed, via bytes.NewReader).
func DecodeNPZ(r io.ReaderAt, size int64) (map[string]*ir.Tensor, []string, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, nil, FormatError("npz: " + err.Error())
	}
	arrays := make(map[string]*ir.Tensor, len(zr.File))
	var order []string
	for _, zf := range zr.File {
		name := strings.TrimSuffix(zf.Name, ".npy")
		if _, dup := arrays[name]; dup {
			return nil, nil, FormatError(fmt.Sprintf("npz: array %q stored twice", name))
		}
		if zf.UncompressedSize64 > 1<<62 {
			return nil, nil, FormatError(fmt.Sprintf("npz: member %q claims %d bytes", zf.Name, zf.UncompressedSize64))
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, nil, FormatError(fmt.Sprintf("npz: member %q: %v", zf.Name, err))
		}
		// The directory's size bounds what the member's header may claim. That size may itself be
		// forged (the zip reader only checks it, and the CRC, at the end of the stream), so read
		// does not trust it for up-front allocation.
		t, err := read(rc, int64(zf.UncompressedSize64), false)
		rc.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("npz: member %q: %w", zf.Name, err)
		}
		arrays[name] = t
		order = append(order, name)
	}
	return arrays, order, nil
}

// StatNPZ reads the header of every array in a .npz archive, decompressing no more of each member than its
// header. Names drop the ".npy" suffix.
func StatNPZ(path string) (map[string]Info, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %s: %w", path, FormatError("npz: "+err.Error()))
	}
	defer zr.Close()
	out := make(map[string]Info, len(zr.File))
	for _, zf := range zr.File {
		name := strings.TrimSuffix(zf.Name, ".npy")
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("%w (file %s)", FormatError(fmt.Sprintf("npz: array %q stored twice", name)), path)
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, fmt.Errorf("%w (file %s)", FormatError(fmt.Sprintf("npz: member %q: %v", zf.Name, err)), path)
		}
		h, _, err := readHeader(rc, int64(min(zf.UncompressedSize64, 1<<62)))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("npz: member %q: %w (file %s)", zf.Name, err, path)
		}
		out[name] = Info{h.dtype, h.shape}
	}
	return out, nil
}

// WriteNPZ writes arrays to path as a .npz archive, atomically. Members follow order (every
// name in it must exist in arrays); a nil order stores all arrays sorted by name. With compress
// the members are deflated, as numpy.savez_compressed does; otherwise they are stored.
func WriteNPZ(path string, arrays map[string]*ir.Tensor, order []string, compress bool) error {
	if order == nil {
		for name := range arrays {
			order = append(order, name)
		}
		sort.Strings(order)
	}
	seen := map[string]bool{}
	for _, name := range order {
		if arrays[name] == nil {
			return fmt.Errorf("npy: npz: no array named %q", name)
		}
		if seen[name] {
			return fmt.Errorf("npy: npz: array %q listed twice", name)
		}
		seen[name] = true
	}
	method := zip.Store
	if compress {
		method = zip.Deflate
	}
	return atomicWrite(path, func(w io.Writer) error {
		zw := zip.NewWriter(w)
		for _, name := range order {
			var buf bytes.Buffer
			if err := Write(&buf, arrays[name]); err != nil {
				return fmt.Errorf("npz: array %q: %w", name, err)
			}
			fw, err := zw.CreateHeader(&zip.FileHeader{Name: name + ".npy", Method: method})
			if err != nil {
				return fmt.Errorf("npy: npz: %w", err)
			}
			if _, err := fw.Write(buf.Bytes()); err != nil {
				return fmt.Errorf("npy: npz: %w", err)
			}
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("npy: npz: %w", err)
		}
		return nil
	})
}
