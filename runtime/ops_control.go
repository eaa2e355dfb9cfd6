package runtime

// controlOps is this file's op table (see registry.go).
var controlOps = map[string]Builder{}
