package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestCPUCapRefused runs hone with a HONE_CPU that names no level: every command must refuse to start, naming the
// variable and the levels it takes, rather than run at full speed unnoticed; a valid cap runs.
func TestCPUCapRefused(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	model := mnistFile(t)
	for _, c := range []struct {
		cap string
		ok  bool
	}{{"sse4", false}, {"avx2", true}, {"generic", true}} {
		cmd := exec.Command(exe, "inspect", model)
		cmd.Env = append(os.Environ(), "HONE_TEST_AS_HONE=1", "HONE_CPU="+c.cap)
		out, err := cmd.CombinedOutput()
		if c.ok != (err == nil) {
			t.Fatalf("HONE_CPU=%s: %v\n%s", c.cap, err, out)
		}
		if !c.ok && !strings.Contains(string(out), `HONE_CPU="sse4": want avx512, avx2 or generic`) {
			t.Errorf("HONE_CPU=%s: message %q", c.cap, out)
		}
	}
}
