package runtime

// nnOps is this file's op table (see registry.go).
var nnOps = map[string]Builder{}
