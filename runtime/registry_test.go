package runtime

import "testing"

// TestRegistryHasNoDuplicates builds the op registry, which panics on an op listed in two tables.
func TestRegistryHasNoDuplicates(t *testing.T) {
	seen := map[string]int{}
	for i, table := range opTables {
		for k := range table {
			if j, dup := seen[k]; dup {
				t.Errorf("op %q is in op tables %d and %d", k, j, i)
			}
			seen[k] = i
		}
	}
	if len(SupportedOps()) != len(seen) {
		t.Errorf("registry has %d ops, tables %d", len(SupportedOps()), len(seen))
	}
}
