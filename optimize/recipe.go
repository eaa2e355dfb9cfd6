package optimize

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/hone-ml/hone/ir"
	"github.com/hone-ml/hone/prune"
	"github.com/hone-ml/hone/quant"
)

// Recipe is a fixed pipeline of lossy steps, applied in order. `hone optimize --recipe FILE.yaml` runs one
// instead of searching, so a team can pin what it ships:
//
//	name: pruned-int8
//	steps:
//	  - step: prune
//	    method: ln-structured
//	    amount: 0.25
//	  - step: quantize
//	    mode: static
//	    calibrator: entropy
type Recipe struct {
	Name  string `yaml:"name" json:"name"`
	Steps []Step `yaml:"steps" json:"steps"`
}

// Step is one stage of a Recipe: "prune" or "quantize" with its parameters (unused ones are ignored).
type Step struct {
	Step string `yaml:"step" json:"step"`

	// prune: method is l1, global, ln-structured (default) or nm; amount a fraction in [0, 1]; per_layer gives
	// each node its own amount instead (l1 and ln-structured); layers selects nodes, op types or regexps.
	Method   string             `yaml:"method,omitempty" json:"method,omitempty"`
	Amount   float64            `yaml:"amount,omitempty" json:"amount,omitempty"`
	PerLayer map[string]float64 `yaml:"per_layer,omitempty" json:"per_layer,omitempty"`
	Layers   []string           `yaml:"layers,omitempty" json:"layers,omitempty"`
	Norm     float64            `yaml:"norm,omitempty" json:"norm,omitempty"` // ln-structured's n (default 2)
	N        int                `yaml:"n,omitempty" json:"n,omitempty"`
	M        int                `yaml:"m,omitempty" json:"m,omitempty"`

	// quantize: mode is dynamic, static, fp16 or bf16; static takes a calibrator (minmax, percentile, entropy,
	// mse) and needs calibration data.
	Mode       string   `yaml:"mode,omitempty" json:"mode,omitempty"`
	Calibrator string   `yaml:"calibrator,omitempty" json:"calibrator,omitempty"`
	Percentile float64  `yaml:"percentile,omitempty" json:"percentile,omitempty"`
	PerTensor  bool     `yaml:"per_tensor,omitempty" json:"per_tensor,omitempty"`
	Exclude    []string `yaml:"exclude,omitempty" json:"exclude,omitempty"`
}

// ErrNothingToDo is wrapped when a quantization step rewrote no node: the recipe would only relabel the input.
var ErrNothingToDo = errors.New("nothing to change")

// LoadRecipe reads a recipe from a YAML file. Unknown keys are errors, so a typo cannot silently drop a step's
// parameter.
func LoadRecipe(path string) (*Recipe, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("optimize: recipe: %w", err)
	}
	return ParseRecipe(data)
}

// ParseRecipe decodes and checks a YAML recipe.
func ParseRecipe(data []byte) (*Recipe, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var r Recipe
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("optimize: recipe: %w", err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.Name == "" {
		r.Name = r.String()
	}
	return &r, nil
}

// Validate checks every step's parameters without touching a model.
func (r *Recipe) Validate() error {
	if len(r.Steps) == 0 {
		return fmt.Errorf("optimize: recipe %q has no steps", r.Name)
	}
	for i, s := range r.Steps {
		if err := s.validate(); err != nil {
			return fmt.Errorf("optimize: recipe %q step %d (%s): %w", r.Name, i+1, s.Step, err)
		}
	}
	return nil
}

func (s Step) validate() error {
	switch s.Step {
	case "prune":
		switch prune.Method(s.method()) {
		case prune.MethodL1, prune.MethodGlobal, prune.MethodLn:
			if s.PerLayer == nil && (s.Amount <= 0 || s.Amount >= 1) {
				return fmt.Errorf("amount %v must be a fraction in (0, 1)", s.Amount)
			}
			for node, a := range s.PerLayer {
				if a < 0 || a >= 1 {
					return fmt.Errorf("per_layer amount %v for %q must be a fraction in [0, 1)", a, node)
				}
			}
			if s.PerLayer != nil && s.method() == string(prune.MethodGlobal) {
				return fmt.Errorf("per_layer amounts need method l1 or ln-structured, not global")
			}
		case prune.MethodNM:
			if s.N <= 0 || s.M <= s.N {
				return fmt.Errorf("nm needs 0 < n < m, got n=%d m=%d", s.N, s.M)
			}
		default:
			return fmt.Errorf("unknown prune method %q (want l1, global, ln-structured or nm)", s.Method)
		}
	case "quantize":
		switch s.Mode {
		case "dynamic", "fp16", "bf16":
		case "static":
			if s.Calibrator != "" {
				if _, err := quant.ParseCalibrator(s.Calibrator); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("unknown quantize mode %q (want dynamic, static, fp16 or bf16)", s.Mode)
		}
	default:
		return fmt.Errorf("unknown step %q (want prune or quantize)", s.Step)
	}
	return nil
}

func (s Step) method() string {
	if s.Method == "" {
		return string(prune.MethodLn)
	}
	return s.Method
}

// String names the step as the results table does: "INT8 static (entropy)", "pruned 25% (ln-structured)".
func (s Step) String() string {
	switch s.Step {
	case "prune":
		if s.method() == string(prune.MethodNM) {
			return fmt.Sprintf("%d:%d sparse", s.N, s.M)
		}
		if s.PerLayer != nil {
			return fmt.Sprintf("pruned (%s, %d layers)", s.method(), countNonzero(s.PerLayer))
		}
		return fmt.Sprintf("pruned %.0f%% (%s)", 100*s.Amount, s.method())
	case "quantize":
		switch s.Mode {
		case "fp16":
			return "FP16"
		case "bf16":
			return "BF16"
		case "dynamic":
			return "INT8 dynamic"
		case "static":
			return fmt.Sprintf("INT8 static (%s)", cmpOr(s.Calibrator, string(quant.CalMinMax)))
		}
	}
	return s.Step
}

// String joins the steps' names with " + ".
func (r *Recipe) String() string {
	parts := make([]string, len(r.Steps))
	for i, s := range r.Steps {
		parts[i] = s.String()
	}
	return strings.Join(parts, " + ")
}

func countNonzero(m map[string]float64) int {
	k := 0
	for _, v := range m {
		if v > 0 {
			k++
		}
	}
	return k
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Apply runs the recipe on a copy of m. calib feeds static quantization (nil when there is none); progress,
// if set, is told about calibration runs.
func (r *Recipe) Apply(m *ir.Model, calib quant.Samples, progress func(done, total int)) (*ir.Model, error) {
	cur := m
	for i, s := range r.Steps {
		next, err := s.apply(cur, calib, progress)
		if err != nil {
			if len(r.Steps) == 1 {
				return nil, fmt.Errorf("optimize: %s: %w", s, err)
			}
			return nil, fmt.Errorf("optimize: recipe %q step %d (%s): %w", cmpOr(r.Name, r.String()), i+1, s, err)
		}
		cur = next
	}
	return cur, nil
}

func (s Step) apply(m *ir.Model, calib quant.Samples, progress func(done, total int)) (*ir.Model, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	switch s.Step {
	case "prune":
		norm := s.Norm
		if norm == 0 {
			norm = 2
		}
		method := prune.Method(s.method())
		if s.PerLayer != nil {
			var plan []prune.Choice
			for node, a := range s.PerLayer {
				plan = append(plan, prune.Choice{Node: node, Amount: a})
			}
			// A map's order is random; sorting keeps pruning layer after layer deterministic.
			slices.SortFunc(plan, func(a, b prune.Choice) int { return strings.Compare(a.Node, b.Node) })
			out, _, err := prune.PruneEach(m, method, norm, plan)
			return out, err
		}
		out, _, err := prune.Prune(m, prune.Config{Method: method, Amount: prune.Fraction(s.Amount), Layers: s.Layers,
			Norm: norm, N: s.N, M: s.M})
		return out, err
	case "quantize":
		var (
			out *ir.Model
			rep *quant.Report
			err error
		)
		switch s.Mode {
		case "fp16", "bf16":
			out, rep, err = quant.Half(m, quant.HalfConfig{BFloat16: s.Mode == "bf16", KeepIOTypes: true, Exclude: s.Exclude})
		case "dynamic":
			out, rep, err = quant.Dynamic(m, quant.DynamicConfig{PerTensor: s.PerTensor, Exclude: s.Exclude})
		case "static":
			if calib == nil || calib.Len() == 0 {
				return nil, quant.ErrNoCalibrationData
			}
			cal := quant.Calibrator(cmpOr(s.Calibrator, string(quant.CalMinMax)))
			pct := s.Percentile
			if pct == 0 {
				pct = 99.999
			}
			out, rep, err = quant.Static(m, calib, quant.StaticConfig{Calibrator: cal, Percentile: pct, Exclude: s.Exclude, Progress: progress})
		}
		if err != nil {
			return nil, err
		}
		if len(rep.Quantized) == 0 && s.Mode != "fp16" && s.Mode != "bf16" {
			return nil, fmt.Errorf("%w: no node could be quantized", ErrNothingToDo)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown step %q", s.Step)
}

// finite reports whether v is a usable number.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
