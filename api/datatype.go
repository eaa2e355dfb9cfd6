package api

// datatypeSize gives the element size in bytes of each protocol datatype; BYTES is variable (0).
var datatypeSize = map[string]int{
	"BOOL": 1, "UINT8": 1, "UINT16": 2, "UINT32": 4, "UINT64": 8,
	"INT8": 1, "INT16": 2, "INT32": 4, "INT64": 8,
	"FP16": 2, "BF16": 2, "FP32": 4, "FP64": 8, "BYTES": 0,
}

// DatatypeSize is the element size of a protocol datatype ("FP32" → 4); ok is false for unknown names.
// BYTES reports 0: its elements vary in length.
func DatatypeSize(dt string) (size int, ok bool) {
	size, ok = datatypeSize[dt]
	return size, ok
}

// NumElements is the product of a declared shape. It fails on negative dimensions and on products above
// limit, checking before each multiplication so a lying shape cannot overflow.
func NumElements(shape []int64, limit int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, badf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > limit/d {
			return 0, badf("shape %v has more than %d elements", shape, limit)
		}
		n *= d
	}
	return n, nil
}
