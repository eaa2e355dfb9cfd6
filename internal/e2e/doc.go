// Package e2e holds end-to-end tests that compare hone's runtime with ONNX Runtime on real and exported models
// (build tag ort). It has no non-test code.
package e2e
