package runtime

// tensorOps is this file's op table (see registry.go).
var tensorOps = map[string]Builder{}
