package ir

import "fmt"

// legacyBroadcastOps are the ops whose second input, before opset 7, broadcast by their attributes broadcast and
// axis rather than by NumPy's rule.
var legacyBroadcastOps = map[string]bool{
	"Add": true, "Sub": true, "Mul": true, "Div": true, "Pow": true,
	"And": true, "Or": true, "Xor": true, "Equal": true, "Greater": true, "Less": true,
}

// LegacyBroadcastOp reports whether op had the attributes broadcast and axis before opset 7.
func LegacyBroadcastOp(op string) bool { return legacyBroadcastOps[op] }

// UsesLegacyBroadcast reports whether n broadcasts its second input by its op's rule before opset 7 from an
// explicit dimension of the first: attributes broadcast=1 and axis. Without axis that rule matched B against A's
// last dimensions, as NumPy's rule does.
func UsesLegacyBroadcast(n *Node, opset int64) bool {
	return opset < 7 && n.IsDefaultDomain() && LegacyBroadcastOp(n.OpType) && n.AttrInt("broadcast", 0) != 0 && n.Attr("axis") != nil
}

// LegacyBroadcastOnes returns how many trailing 1-dimensions n's second input (of rank rankB) needs to broadcast
// by NumPy's rule against a first input of rank rankA as it does by n's own rule (see UsesLegacyBroadcast): B's
// shape is the run of A's starting at dimension axis (Caffe2's per-channel bias: Add(x, b[C], broadcast=1,
// axis=1)). It returns 0 for a node that uses NumPy's rule, and an error when B does not fit in A from axis on.
func LegacyBroadcastOnes(n *Node, opset int64, rankA, rankB int) (int, error) {
	if !UsesLegacyBroadcast(n, opset) {
		return 0, nil
	}
	a := n.Attr("axis")
	axis := int(a.I)
	if axis < 0 {
		axis += rankA
	}
	if axis < 0 || axis+rankB > rankA {
		return 0, fmt.Errorf("B of rank %d does not fit in A of rank %d from axis %d on (opset %d broadcasting)", rankB, rankA, a.I, opset)
	}
	return rankA - axis - rankB, nil
}
