package kernels

// QLookup writes y[i] = table[x[i]] for i < len(x): the byte table lookup a quantized elementwise region reduces
// to (one input byte → one output byte).
func QLookup(y, x []uint8, table *[256]uint8) {
	y = y[:len(x)]
	n := qlookupVec(y, x, table)
	qlookupGeneric(y[n:], x[n:], table)
}

// qlookupGeneric is QLookup's pure-Go twin.
func qlookupGeneric(y, x []uint8, table *[256]uint8) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = table[v]
	}
}
