package turboquant

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// cacheMagic starts every saved cache; the trailing digits are the format version.
// Version 02: three-round Hadamard rotation (01 files decode differently) and TurboQuant_prod keys.
const cacheMagic = "HONEKV02"

// ErrFormat marks a saved cache that cannot be read.
var ErrFormat = errors.New("bad cache file")

// Save writes the cache: its configuration (rotations are rebuilt from the seed), the outlier channels in use,
// the codes and norms, and the window in float32. Little-endian throughout.
func (c *Cache) Save(w io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	le := binary.LittleEndian
	var hdr []byte
	hdr = append(hdr, cacheMagic...)
	hdr = le.AppendUint32(hdr, uint32(c.cfg.Dim))
	hdr = le.AppendUint64(hdr, math.Float64bits(c.cfg.KeyBits))
	hdr = le.AppendUint64(hdr, math.Float64bits(c.cfg.ValueBits))
	hdr = le.AppendUint32(hdr, uint32(c.cfg.Window))
	hdr = append(hdr, byte(c.cfg.Rotation))
	hdr = le.AppendUint64(hdr, c.cfg.Seed)
	var flags byte
	if c.cfg.KeyProd {
		flags |= 1
	}
	hdr = append(hdr, flags)
	for _, q := range []*Quantizer{c.kq, c.vq} {
		var out []int
		if q != nil && len(q.segs) == 2 {
			out = q.segs[0].ch
		}
		hdr = le.AppendUint32(hdr, uint32(len(out)))
		for _, ch := range out {
			hdr = le.AppendUint32(hdr, uint32(ch))
		}
	}
	hdr = le.AppendUint64(hdr, uint64(c.n))
	hdr = le.AppendUint32(hdr, uint32(c.wlen))
	if _, err := bw.Write(hdr); err != nil {
		return err
	}
	if c.n > 0 {
		for s := range c.kc {
			if err := writeAll(bw, c.kc[s], c.kn[s]); err != nil {
				return err
			}
			if c.kp != nil {
				if err := binary.Write(bw, le, c.ks[s]); err != nil {
					return err
				}
				if err := writeAll(bw, nil, c.kr[s]); err != nil {
					return err
				}
			}
		}
		for s := range c.vc {
			if err := writeAll(bw, c.vc[s], c.vn[s]); err != nil {
				return err
			}
		}
	}
	d := c.cfg.Dim
	for i := 0; i < c.wlen; i++ {
		j := (c.wstart + i) % c.cfg.Window
		if err := writeAll(bw, nil, c.wk[j*d:(j+1)*d]); err != nil {
			return err
		}
		if err := writeAll(bw, nil, c.wv[j*d:(j+1)*d]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func writeAll(w io.Writer, codes []uint16, f []float32) error {
	if len(codes) > 0 {
		if err := binary.Write(w, binary.LittleEndian, codes); err != nil {
			return err
		}
	}
	return binary.Write(w, binary.LittleEndian, f)
}

// LoadCache reads a cache written by Save. Sizes are checked against the stream as it is read, so a corrupt header
// fails with ErrFormat rather than allocating what it claims.
func LoadCache(r io.Reader) (*Cache, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	fail := func(what string, err error) (*Cache, error) {
		if err != nil {
			return nil, fmt.Errorf("turboquant: load cache: %s: %w (%v)", what, ErrFormat, err)
		}
		return nil, fmt.Errorf("turboquant: load cache: %s: %w", what, ErrFormat)
	}
	magic := make([]byte, len(cacheMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != cacheMagic {
		return fail("magic", err)
	}
	var fix struct {
		Dim                uint32
		KeyBits, ValueBits float64
		Window             uint32
		Rotation           uint8
		Seed               uint64
		Flags              uint8
	}
	if err := binary.Read(br, binary.LittleEndian, &fix); err != nil {
		return fail("header", err)
	}
	if fix.Dim > 1<<16 || fix.Window > 1<<24 || fix.Rotation > uint8(Dense) || fix.Flags > 1 {
		return fail("header values", nil)
	}
	cfg := CacheConfig{Dim: int(fix.Dim), KeyBits: fix.KeyBits, ValueBits: fix.ValueBits, Window: int(fix.Window),
		Rotation: RotationKind(fix.Rotation), Seed: fix.Seed, KeyProd: fix.Flags&1 != 0}
	var outs [2][]int
	for i := range outs {
		var n uint32
		if err := binary.Read(br, binary.LittleEndian, &n); err != nil {
			return fail("outlier count", err)
		}
		if n > fix.Dim {
			return fail("outlier count", nil)
		}
		for j := uint32(0); j < n; j++ {
			var ch uint32
			if err := binary.Read(br, binary.LittleEndian, &ch); err != nil {
				return fail("outlier channel", err)
			}
			outs[i] = append(outs[i], int(ch))
		}
	}
	var n uint64
	var wlen uint32
	if err := binary.Read(br, binary.LittleEndian, &n); err != nil {
		return fail("token count", err)
	}
	if err := binary.Read(br, binary.LittleEndian, &wlen); err != nil {
		return fail("window length", err)
	}
	if n > 1<<40 || wlen > fix.Window {
		return fail("token counts", nil)
	}
	// Quantizers with saved outliers are built now; if none were saved and n == 0 the window will pick them later.
	if outs[0] != nil {
		cfg.KeyOutliers = outs[0]
	}
	if outs[1] != nil {
		cfg.ValueOutliers = outs[1]
	}
	c, err := NewCache(cfg)
	if err != nil {
		return fail("configuration", err)
	}
	c.cfg.KeyOutliers, c.cfg.ValueOutliers = nil, nil // they came from the window, as in the saved cache
	if n > 0 {
		if c.kq == nil || c.vq == nil {
			return fail("quantized tokens without outlier channels", nil)
		}
		for kv, p := range []struct {
			q     *Quantizer
			codes [][]uint16
			norms [][]float32
		}{{c.kq, c.kc, c.kn}, {c.vq, c.vc, c.vn}} {
			for s, sg := range p.q.segs {
				words := sg.q.CodeWords()
				if kv == 0 && c.kp != nil {
					words = 0
					if c.kp[s].mse != nil {
						words = c.kp[s].mse.CodeWords()
					}
				}
				if p.codes[s], err = readU16(br, int(n)*words); err != nil {
					return fail("codes", err)
				}
				if p.norms[s], err = readF32(br, int(n)); err != nil {
					return fail("norms", err)
				}
				if kv == 0 && c.kp != nil {
					if c.ks[s], err = readU64(br, int(n)*c.kp[s].qjl.SignWords()); err != nil {
						return fail("signs", err)
					}
					if c.kr[s], err = readF32(br, int(n)); err != nil {
						return fail("residual norms", err)
					}
				}
			}
		}
		c.n = int(n)
		c.padStorage()
	}
	d := c.cfg.Dim
	for i := 0; i < int(wlen); i++ {
		k, err := readF32(br, d)
		if err != nil {
			return fail("window", err)
		}
		v, err := readF32(br, d)
		if err != nil {
			return fail("window", err)
		}
		copy(c.wk[i*d:], k)
		copy(c.wv[i*d:], v)
	}
	c.wlen = int(wlen)
	return c, nil
}

// readU16 reads n values in chunks, so memory grows only with data actually present.
func readU16(r io.Reader, n int) ([]uint16, error) {
	var out []uint16
	for len(out) < n {
		m := min(n-len(out), 1<<20)
		buf := make([]uint16, m)
		if err := binary.Read(r, binary.LittleEndian, buf); err != nil {
			return nil, err
		}
		out = append(out, buf...)
	}
	return out, nil
}

func readU64(r io.Reader, n int) ([]uint64, error) {
	var out []uint64
	for len(out) < n {
		m := min(n-len(out), 1<<20)
		buf := make([]uint64, m)
		if err := binary.Read(r, binary.LittleEndian, buf); err != nil {
			return nil, err
		}
		out = append(out, buf...)
	}
	return out, nil
}

func readF32(r io.Reader, n int) ([]float32, error) {
	var out []float32
	for len(out) < n {
		m := min(n-len(out), 1<<20)
		buf := make([]float32, m)
		if err := binary.Read(r, binary.LittleEndian, buf); err != nil {
			return nil, err
		}
		out = append(out, buf...)
	}
	for _, v := range out {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, errors.New("non-finite value")
		}
	}
	return out, nil
}
