package tempfiles

import (
	"os"
	"path/filepath"
	"testing"
)

// TestTrack checks that RemoveAll removes tracked files and directories and leaves untracked ones, and that a
// path tracked twice stays tracked until both untrack.
func TestTrack(t *testing.T) {
	dir := t.TempDir()
	kept, gone, sub, twice := filepath.Join(dir, "kept"), filepath.Join(dir, "gone"), filepath.Join(dir, "sub"), filepath.Join(dir, "twice")
	for _, p := range []string{kept, gone, twice} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(sub, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	untrackKept := Track(kept)
	Track(gone)
	Track(sub)
	untrackTwice := Track(twice)
	Track(twice)
	untrackKept()
	untrackKept() // a second call is harmless
	untrackTwice()
	RemoveAll()
	for p, want := range map[string]bool{kept: true, gone: false, sub: false, twice: false} {
		if _, err := os.Stat(p); (err == nil) != want {
			t.Errorf("%s exists: %v, want %v", filepath.Base(p), err == nil, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(paths) != 0 {
		t.Errorf("%d paths still tracked after RemoveAll", len(paths))
	}
}
