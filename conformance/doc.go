// Package conformance runs ONNX's backend node tests (Debian's libonnx-testdata: one tiny model per op variant
// with reference inputs and outputs computed by ONNX's reference implementation) against hone's runtime.
// It has no non-test code; see conformance_test.go.
package conformance
