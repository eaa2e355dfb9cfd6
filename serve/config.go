package serve

import (
	"fmt"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is a model's serving configuration: the config.yaml beside the model in a repository.
// Zero fields take the defaults described on each.
type Config struct {
	// MaxBatchSize is the most rows (first-dimension entries) one execution may hold. 0 or 1 turns dynamic
	// batching off: every request then runs alone. Above 1 the model's inputs and outputs must have a
	// variable first dimension.
	MaxBatchSize int `yaml:"max_batch_size"`
	// MaxQueueDelay is how long the oldest queued request may wait for others to join its batch.
	MaxQueueDelay Duration `yaml:"max_queue_delay"`
	// PreferredBatchSizes lets a batch leave before MaxQueueDelay once it reaches the largest of them, and
	// trims early batches to the largest preferred size that fits (Triton's dynamic batcher does the same).
	PreferredBatchSizes []int `yaml:"preferred_batch_sizes"`
	// MaxQueueSize bounds the requests waiting for an instance; beyond it requests are refused at once
	// (HTTP 429, gRPC RESOURCE_EXHAUSTED). Default 1024.
	MaxQueueSize int `yaml:"max_queue_size"`
	// Timeout is the longest a request may take from arrival to answer; a request's own "timeout"
	// parameter (microseconds, as in Triton) may only lower it. Default 60s.
	Timeout Duration `yaml:"timeout"`
	// Instances is how many copies of the model run at once, each on its own goroutine. Default 1.
	Instances int `yaml:"instances"`
	// Threads is the number of threads each instance uses; 0 divides GOMAXPROCS among the instances.
	Threads int `yaml:"threads"`
	// Version is the version the model is served as. Default "1".
	Version string `yaml:"version"`
	// Predict configures the /predict endpoint for image classifiers; nil disables it for this model.
	Predict *PredictConfig `yaml:"predict"`
}

// PredictConfig describes how /predict turns an image into the model's input.
type PredictConfig struct {
	// Width and Height are the input's spatial size; the image is resized to it (bilinear).
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
	// ResizeShorter, when set, first resizes the shorter side to it keeping the aspect ratio, then takes a
	// centred Width×Height crop (the torchvision Resize+CenterCrop recipe).
	ResizeShorter int `yaml:"resize_shorter"`
	// Channels is 1 (grey) or 3 (RGB). Default 3.
	Channels int `yaml:"channels"`
	// Layout is NCHW (default) or NHWC.
	Layout string `yaml:"layout"`
	// Scale multiplies the 0–255 pixel values first. Default 1/255.
	Scale float32 `yaml:"scale"`
	// Mean and Std normalise each channel after scaling: (x·Scale − Mean) / Std. Defaults 0 and 1.
	Mean []float32 `yaml:"mean"`
	Std  []float32 `yaml:"std"`
	// Labels names the classes in output order; LabelsFile (one per line, relative to the config) is the
	// alternative. Without labels the class index is returned as its name.
	Labels     []string `yaml:"labels"`
	LabelsFile string   `yaml:"labels_file"`
	// Softmax turns the output into probabilities first; set it when the model outputs logits.
	Softmax bool `yaml:"softmax"`
}

// Duration is a time.Duration written in YAML as "5ms".
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

const (
	defaultMaxQueueSize = 1024
	defaultTimeout      = 60 * time.Second
)

// withDefaults fills unset fields.
func (c Config) withDefaults() Config {
	if c.MaxQueueSize <= 0 {
		c.MaxQueueSize = defaultMaxQueueSize
	}
	if c.Timeout <= 0 {
		c.Timeout = Duration(defaultTimeout)
	}
	if c.Instances <= 0 {
		c.Instances = 1
	}
	if c.Version == "" {
		c.Version = "1"
	}
	return c
}

func (c Config) validate() error {
	if c.MaxBatchSize < 0 {
		return fmt.Errorf("max_batch_size %d is negative", c.MaxBatchSize)
	}
	if c.MaxQueueDelay < 0 {
		return fmt.Errorf("max_queue_delay %v is negative", time.Duration(c.MaxQueueDelay))
	}
	for _, p := range c.PreferredBatchSizes {
		if p < 1 || p > c.MaxBatchSize {
			return fmt.Errorf("preferred batch size %d is outside 1..max_batch_size (%d)", p, c.MaxBatchSize)
		}
	}
	if c.Instances > 256 {
		return fmt.Errorf("instances %d is more than 256", c.Instances)
	}
	if p := c.Predict; p != nil {
		if p.Width <= 0 || p.Height <= 0 {
			return fmt.Errorf("predict: width and height must be positive")
		}
		if p.Channels != 0 && p.Channels != 1 && p.Channels != 3 {
			return fmt.Errorf("predict: channels must be 1 or 3, not %d", p.Channels)
		}
		if p.Layout != "" && p.Layout != "NCHW" && p.Layout != "NHWC" {
			return fmt.Errorf("predict: layout must be NCHW or NHWC, not %q", p.Layout)
		}
		ch := max(p.Channels, 1)
		if p.Channels == 0 {
			ch = 3
		}
		if (len(p.Mean) != 0 && len(p.Mean) != ch) || (len(p.Std) != 0 && len(p.Std) != ch) {
			return fmt.Errorf("predict: mean and std need one value per channel (%d)", ch)
		}
		for _, s := range p.Std {
			if s == 0 {
				return fmt.Errorf("predict: std has a zero")
			}
		}
	}
	return nil
}

// LoadConfig reads a config.yaml; unknown keys are errors, so typos do not pass silently.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	var c Config
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("serve: %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("serve: %s: %w", path, err)
	}
	return c, nil
}
