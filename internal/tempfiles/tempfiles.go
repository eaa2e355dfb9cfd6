// Package tempfiles removes hone's scratch files and directories when the process is interrupted. Deferred
// removals do not run when SIGINT or SIGTERM ends a Go program, so without this every interrupted `hone demo`
// or `hone optimize` left its working directory (models, calibration copies) in the system temp directory, and
// an interrupted save left its half-written temp file beside the output.
//
// The handler is installed only while something is tracked, so the signals keep their default effect (and
// hone serve its graceful shutdown) the rest of the time.
package tempfiles

import (
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
)

var (
	mu      sync.Mutex
	paths   = map[string]int{} // path → times tracked
	signals = make(chan os.Signal, 1)
	start   sync.Once
)

// Track registers path (a file or a directory) for removal if SIGINT or SIGTERM ends the process, and returns
// the func that unregisters it: call it once the path is removed or renamed into place.
func Track(path string) (untrack func()) {
	start.Do(func() { go onSignal() })
	mu.Lock()
	if len(paths) == 0 {
		signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	}
	paths[path]++
	mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			if paths[path]--; paths[path] <= 0 {
				delete(paths, path)
			}
			if len(paths) == 0 {
				signal.Stop(signals)
			}
		})
	}
}

// onSignal waits for a signal, removes every tracked path and exits with 128 + the signal's number, as a shell
// reports a process the signal killed.
func onSignal() {
	s := <-signals
	RemoveAll()
	code := 128 + int(syscall.SIGINT)
	if s == syscall.SIGTERM {
		code = 128 + int(syscall.SIGTERM)
	}
	os.Exit(code)
}

// RemoveAll removes every tracked path now and forgets them.
func RemoveAll() {
	mu.Lock()
	defer mu.Unlock()
	for p := range paths {
		os.RemoveAll(p)
		delete(paths, p)
	}
	signal.Stop(signals)
}

// File is a temporary file beside its destination, tracked for removal on interrupt until Commit renames it
// over the destination or Abort removes it: outputs are written whole or not at all, and never over the
// destination in place.
type File struct {
	*os.File
	dest    string
	untrack func()
}

// Create opens a temporary file in dest's directory (named after it, hidden).
func Create(dest string) (*File, error) {
	dir, base := filepath.Split(dest)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	return &File{File: f, dest: dest, untrack: Track(f.Name())}, nil
}

// Commit syncs and closes the file, makes it readable by all (0644, as os.WriteFile would with the usual umask;
// CreateTemp makes 0600), renames it over the destination and syncs the directory so the rename is durable. On
// failure the temporary file is removed.
func (f *File) Commit() error {
	defer f.untrack()
	err := f.Sync()
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.dest)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	if d, err := os.Open(filepath.Dir(f.dest)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Abort closes and removes the temporary file; the destination is untouched.
func (f *File) Abort() {
	f.Close()
	os.Remove(f.Name())
	f.untrack()
}

// WriteFile writes dest atomically: fill writes the content into a temporary File, committed if fill succeeds
// and aborted otherwise.
func WriteFile(dest string, fill func(io.Writer) error) error {
	f, err := Create(dest)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Abort()
		return err
	}
	return f.Commit()
}
