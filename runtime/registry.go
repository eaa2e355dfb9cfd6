package runtime

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// opTables lists every op table, each owned by one ops_*.go file. Keys are "OpType" for the default ONNX domain
// and "domain:OpType" otherwise. This is the only place ops are registered (no init-time registration).
var opTables = []map[string]Builder{
	tensorOps,
	nnOps,
	controlOps,
	quantOps,
	extraOps,
}

var registry = sync.OnceValue(func() map[string]Builder {
	m := map[string]Builder{}
	for _, t := range opTables {
		for k, b := range t {
			if _, dup := m[k]; dup {
				panic(fmt.Sprintf("runtime: op %q registered twice", k))
			}
			m[k] = b
		}
	}
	return m
})

func opKey(domain, op string) string {
	if domain == "" || domain == "ai.onnx" {
		return op
	}
	return domain + ":" + op
}

// Lookup returns the builder for an op, or nil.
func Lookup(domain, op string) Builder { return registry()[opKey(domain, op)] }

// SupportedOps lists every registered op key, sorted.
func SupportedOps() []string {
	var out []string
	for k := range registry() {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// IsSupported reports whether an op has a kernel.
func IsSupported(domain, op string) bool { return Lookup(domain, op) != nil }

func displayDomain(d string) string {
	if d == "" {
		return "ai.onnx"
	}
	return strings.TrimSpace(d)
}
