package hone_test

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// allowedImports is STYLE.md's package table: which hone packages each package may import (non-test files).
// Imports point down; a package missing here may import nothing of hone.
var allowedImports = map[string][]string{
	"cmd/hone":           {"*"},
	"serve":              {"runtime", "onnx", "api", "api/oippb", "ir", "npy", "opt", "kernels"},
	"api":                {"ir", "api/oippb"},
	"api/oippb":          {},
	"bench":              {"runtime", "onnx", "backend/ort", "ir", "npy", "opt", "kernels", "progress"},
	"quant":              {"opt", "runtime", "kernels", "ir", "onnx", "npy"},
	"prune":              {"opt", "runtime", "kernels", "ir", "onnx"},
	"backend/ort":        {"ir"},
	"runtime":            {"opt", "kernels", "ir"},
	"opt":                {"ir"},
	"onnx":               {"ir", "onnx/onnxpb", "internal/tempfiles"},
	"onnx/onnxpb":        {},
	"npy":                {"ir", "internal/tempfiles"},
	"ir":                 {},
	"kernels":            {},
	"turboquant":         {"kernels"},
	"internal/assets":    {"ir", "npy"},
	"optimize":           {"quant", "prune", "bench", "runtime", "onnx", "ir", "npy", "internal/assets", "internal/tempfiles"},
	"internal/irtest":    {"ir"},
	"internal/tools":     {},
	"internal/tempfiles": {}, // a leaf: scratch paths removed on interrupt, atomic writes
	"kernels/kerneltest": {"kernels"},
}

const module = "github.com/hone-ml/hone/"

func TestImportsPointDown(t *testing.T) {
	ctx := build.Default
	ctx.BuildTags = []string{"ort"}
	dirs, _ := filepath.Glob("*")
	var walk func(dir string)
	walk = func(dir string) {
		sub, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, s := range sub {
			base := filepath.Base(s)
			if strings.HasPrefix(base, ".") || strings.HasPrefix(base, "_") || base == "testdata" {
				continue
			}
			walk(s)
		}
		pkg, err := ctx.ImportDir(dir, 0)
		if err != nil {
			return // no Go files
		}
		rel := filepath.ToSlash(dir)
		allowed, ok := allowedImports[rel]
		if !ok {
			allowed = nil
		}
		for _, imp := range pkg.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			target := strings.TrimPrefix(imp, module)
			if !contains(allowed, target) && !contains(allowed, "*") {
				t.Errorf("%s imports %s, which STYLE.md's package table does not allow", rel, target)
			}
		}
	}
	for _, d := range dirs {
		if strings.HasPrefix(d, ".") {
			continue
		}
		walk(d)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
