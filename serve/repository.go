package serve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Repository is a model repository directory. Each model is either a folder NAME/ holding model.onnx and
// optionally config.yaml, or a file NAME.onnx with an optional NAME.yaml beside it.
type Repository struct {
	Dir string
	// Defaults configures models that have no config file.
	Defaults Config
}

// Entry is one model found in a repository.
type Entry struct {
	Name       string
	Path       string
	ConfigPath string // "" when the model has none
	// stamp changes whenever the model or its config file changes (size and modification time).
	stamp string
}

// Scan lists the repository's models sorted by name.
func (r *Repository) Scan() ([]Entry, error) {
	des, err := os.ReadDir(r.Dir)
	if err != nil {
		return nil, fmt.Errorf("serve: repository: %w", err)
	}
	var out []Entry
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		var e Entry
		switch {
		case de.IsDir():
			e = Entry{Name: name, Path: filepath.Join(r.Dir, name, "model.onnx"), ConfigPath: filepath.Join(r.Dir, name, "config.yaml")}
		case strings.HasSuffix(name, ".onnx"):
			stem := strings.TrimSuffix(name, ".onnx")
			e = Entry{Name: stem, Path: filepath.Join(r.Dir, name), ConfigPath: filepath.Join(r.Dir, stem+".yaml")}
		default:
			continue
		}
		mst, err := os.Stat(e.Path)
		if err != nil {
			continue // a folder without model.onnx is not a model (yet)
		}
		e.stamp = fmt.Sprintf("%d/%d", mst.Size(), mst.ModTime().UnixNano())
		if cst, err := os.Stat(e.ConfigPath); err == nil {
			e.stamp += fmt.Sprintf("+%d/%d", cst.Size(), cst.ModTime().UnixNano())
		} else {
			e.ConfigPath = ""
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Config reads the entry's configuration, or returns the defaults when it has no config file.
func (r *Repository) Config(e Entry) (Config, error) {
	if e.ConfigPath == "" {
		return r.Defaults, nil
	}
	return LoadConfig(e.ConfigPath)
}

// LoadFile serves a model file under its stem ("resnet18.onnx" → "resnet18"), configured by a STEM.yaml
// beside it when there is one, else by the server's defaults.
func (s *Server) LoadFile(path string) error {
	stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	cfg := s.opts.Defaults
	cp := strings.TrimSuffix(path, filepath.Ext(path)) + ".yaml"
	if _, err := os.Stat(cp); err == nil {
		c, err := LoadConfig(cp)
		if err != nil {
			return err
		}
		cfg = c
	}
	return s.Load(stem, path, cfg)
}

// SyncRepository loads new and changed models from the repository and unloads models whose files are gone.
// It returns the first load error but carries on with the other models.
func (s *Server) SyncRepository() error {
	if s.repo == nil {
		return errors.New("serve: no model repository configured")
	}
	entries, err := s.repo.Scan()
	if err != nil {
		return err
	}
	var first error
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Name] = true
		if m, _ := s.Model(e.Name, ""); m != nil && m.stamp == e.stamp {
			continue
		}
		if err := s.loadEntry(e); err != nil && first == nil {
			first = err
		}
	}
	for _, m := range s.Models() {
		if m.fromRepo && !seen[m.Name] {
			s.Unload(m.Name)
		}
	}
	return first
}

func (s *Server) loadEntry(e Entry) error {
	cfg, err := s.repo.Config(e)
	if err != nil {
		s.log.Error("model config", "model", e.Name, "err", err)
		return err
	}
	if err := s.Load(e.Name, e.Path, cfg); err != nil {
		return err
	}
	if m, _ := s.Model(e.Name, ""); m != nil {
		m.stamp, m.fromRepo = e.stamp, true
	}
	return nil
}

// PollRepository calls SyncRepository every interval until ctx ends, so models can be added, replaced or
// removed by changing files.
func (s *Server) PollRepository(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.SyncRepository(); err != nil {
				s.log.Warn("repository poll", "err", err)
			}
		}
	}
}

type repoIndexEntry struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	State   string `json:"state"`
	Reason  string `json:"reason,omitempty"`
}

// repositoryIndex answers Triton's POST /v2/repository/index: every model in the repository or loaded.
func (s *Server) repositoryIndex(w http.ResponseWriter, r *http.Request) {
	out := []repoIndexEntry{}
	seen := map[string]bool{}
	for _, m := range s.Models() {
		seen[m.Name] = true
		out = append(out, repoIndexEntry{Name: m.Name, Version: m.Version, State: "READY"})
	}
	if s.repo != nil {
		entries, err := s.repo.Scan()
		if err != nil {
			writeError(w, err)
			return
		}
		for _, e := range entries {
			if !seen[e.Name] {
				out = append(out, repoIndexEntry{Name: e.Name, State: "UNAVAILABLE", Reason: "unloaded"})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	writeJSON(w, http.StatusOK, out)
}

// repositoryLoad answers POST /v2/repository/models/{name}/load: (re)load the model from the repository.
func (s *Server) repositoryLoad(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if s.repo == nil {
		writeError(w, fmt.Errorf("serve: model %q: no model repository configured: %w", name, ErrNotFound))
		return
	}
	entries, err := s.repo.Scan()
	if err != nil {
		writeError(w, err)
		return
	}
	for _, e := range entries {
		if e.Name == name {
			if err := s.loadEntry(e); err != nil {
				writeError(w, fmt.Errorf("%w: %v", ErrBadRequestf, err))
				return
			}
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	writeError(w, fmt.Errorf("serve: model %q is not in the repository: %w", name, ErrNotFound))
}

// repositoryUnload answers POST /v2/repository/models/{name}/unload.
func (s *Server) repositoryUnload(w http.ResponseWriter, r *http.Request) {
	if err := s.Unload(r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}
