package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestInterruptRemovesScratch runs `hone demo` as a child process (the test binary standing in for hone), sends
// it SIGINT once its working directory exists and has files in it, and checks that it exits as interrupted
// (130) and leaves no hone-demo-* directory in its temp directory: deferred removals do not run on a signal.
func TestInterruptRemovesScratch(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cmd := exec.Command(exe, "demo", "--runs", "200")
	cmd.Env = append(os.Environ(), "HONE_TEST_AS_HONE=1", "TMPDIR="+tmp)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(2 * time.Minute)
	for found := false; !found; {
		select {
		case err := <-done:
			t.Fatalf("demo exited before it was interrupted: %v", err)
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("no hone-demo-* directory with files in it after 2 minutes")
		case <-time.After(20 * time.Millisecond):
		}
		dirs, _ := filepath.Glob(filepath.Join(tmp, "hone-demo-*"))
		for _, d := range dirs {
			if files, _ := os.ReadDir(d); len(files) > 0 {
				found = true
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := <-done; !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted demo: %v, want exit status 130", err)
	}
	if dirs, _ := filepath.Glob(filepath.Join(tmp, "hone-demo-*")); len(dirs) > 0 {
		t.Fatalf("interrupted demo left %v", dirs)
	}
}
