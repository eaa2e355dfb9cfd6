package main

import (
	"encoding/json"
	"image"
	"image/color"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gonum.org/v1/plot/plotutil"

	"github.com/hone-ml/hone/bench"
)

// TestMain lets the test binary stand in for hone when a command re-executes itself (bench's per-variant
// memory probes run `hone bench --mem-probe` as a child process).
func TestMain(m *testing.M) {
	if os.Getenv("HONE_TEST_AS_HONE") == "1" {
		os.Exit(execute())
	}
	os.Exit(m.Run())
}

// benchVariants writes the MNIST CNN and its dynamic-int8 quantization, the pair the bench tests compare.
func benchVariants(t *testing.T) (fp32, int8 string) {
	t.Helper()
	fp32 = mnistFile(t)
	int8 = filepath.Join(t.TempDir(), "mnist_int8.onnx")
	if out, err := runCLI(t, "quantize", fp32, "-o", int8, "--mode", "dynamic"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return fp32, int8
}

func TestBenchJSON(t *testing.T) {
	t.Setenv("HONE_TEST_AS_HONE", "1")
	fp32, int8 := benchVariants(t)
	out, err := runCLI(t, "bench", fp32, int8, "--batch", "1,4", "--runs", "4", "--eval", "mnist", "--json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var res []*bench.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res) != 4 {
		t.Fatalf("%d results, want 2 models × 2 batches", len(res))
	}
	for _, r := range res {
		if r.Params <= 0 || r.PeakRSS <= 0 || r.PeakHeap <= 0 || !r.HasAccuracy || r.EvalN != 2000 || r.SizeRatio <= 0 {
			t.Errorf("%s b%d: incomplete result %+v", r.Model, r.Batch, r)
		}
		// the embedded CNN scores ~98% on its held-out digits; int8 must stay close
		if r.Accuracy < 0.95 {
			t.Errorf("%s: accuracy %.4f", r.Model, r.Accuracy)
		}
	}
	st32, _ := os.Stat(fp32)
	st8, _ := os.Stat(int8)
	if got, want := res[1].SizeRatio, float64(st8.Size())/float64(st32.Size()); got != want {
		t.Errorf("size ratio %v, want %v", got, want)
	}
}

// TestBenchHTMLRendersInChromium writes the HTML report and loads it in headless Chromium: the DOM dump must
// hold the table with its rows and every plot decoded, and the screenshot must show the plots' colours.
func TestBenchHTMLRendersInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not on PATH; CI must install it (scripts/setup.sh)")
		}
		t.Skip("chromium not on PATH (scripts/setup.sh installs it)")
	}
	t.Setenv("HONE_TEST_AS_HONE", "1")
	fp32, int8 := benchVariants(t)
	dir := t.TempDir()
	report := filepath.Join(dir, "report.html")
	out, err := runCLI(t, "bench", fp32, int8, "--batch", "1,8", "--runs", "6", "--eval", "mnist", "--html", report)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	url := "file://" + report
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1200,1600"}
	run := func(extra ...string) []byte {
		args := append(append(append([]string(nil), base...), "--user-data-dir="+t.TempDir()), extra...)
		b, err := exec.Command(chromium, append(args, url)...).Output()
		if err != nil {
			t.Fatalf("chromium %v: %v", extra, err)
		}
		return b
	}

	dom := string(run("--dump-dom"))
	for _, id := range []string{"latency-b1", "latency-b8", "throughput", "accuracy"} {
		m := regexp.MustCompile(`<img id="plot-` + id + `"[^>]*data-rendered="(\d+)x(\d+)"`).FindStringSubmatch(dom)
		if m == nil {
			t.Errorf("plot %s missing or not decoded by Chromium", id)
		}
	}
	if n := strings.Count(dom, `<table class="bench"`); n != 2 {
		t.Errorf("%d tables, want one per batch size", n)
	}
	for _, row := range []string{"file size", "parameters", "p50 latency", "throughput", "peak RSS", "peak Go heap", "accuracy", "mnist_int8.onnx"} {
		if !strings.Contains(dom, "<td>"+row+"</td>") && !strings.Contains(dom, "<th>"+row+"</th>") {
			t.Errorf("table lacks %q", row)
		}
	}

	shot := filepath.Join(dir, "out.png")
	run("--screenshot=" + shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The plots draw with plotutil's first two colours (latency boxes, throughput lines, accuracy points); finding
	// pixels of each proves the plots were painted, not just laid out. Blank pages and broken images have none. Box
	// widths follow the measured latency spread, so the bound is on presence, not area.
	var white, first, second int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.At(x, y)
			switch {
			case near(c, color.White):
				white++
			case near(c, plotutil.Color(0)):
				first++
			case near(c, plotutil.Color(1)):
				second++
			}
		}
	}
	total := b.Dx() * b.Dy()
	t.Logf("screenshot %dx%d: %.1f%% white, %d px of colour 0, %d px of colour 1", b.Dx(), b.Dy(), 100*float64(white)/float64(total), first, second)
	if first < 30 || second < 30 {
		t.Errorf("plot colours barely present (%d, %d pixels): plots not painted", first, second)
	}
	if white > total*98/100 {
		t.Errorf("screenshot is %.1f%% white", 100*float64(white)/float64(total))
	}
}

func near(a, b color.Color) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	d := func(x, y uint32) bool { return max(x, y)-min(x, y) <= 4<<8 }
	return d(r1, r2) && d(g1, g2) && d(b1, b2)
}

func TestProfileCmd(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.json")
	out, err := runCLI(t, "profile", mnistFile(t), "--runs", "3", "--trace", trace)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, col := range []string{"self", "% of total", "calls", "bytes alloc", "shapes (inputs → outputs)", "Conv", "float32[1 1 28 28]"} {
		if !strings.Contains(out, col) {
			t.Errorf("profile output lacks %q:\n%s", col, out)
		}
	}
	b, err := os.ReadFile(trace)
	if err != nil {
		t.Fatal(err)
	}
	var tr bench.Trace
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatal(err)
	}
	var x int
	for _, e := range tr.TraceEvents {
		if e.Ph == "X" {
			x++
		}
	}
	if x == 0 || x%3 != 0 {
		t.Errorf("%d complete events for 3 runs", x)
	}
	if _, err := runCLI(t, "profile", mnistFile(t), "--shape", "input=1,x"); err == nil {
		t.Error("bad --shape: no error")
	}
}

func TestBenchBadInputs(t *testing.T) {
	model := mnistFile(t)
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.npz")
	os.WriteFile(text, []byte("not a zip"), 0o644)
	cases := map[string][]string{
		"missing eval file":   {"bench", model, "--no-mem", "--runs", "1", "--eval", filepath.Join(dir, "missing.npz")},
		"eval not an npz":     {"bench", model, "--no-mem", "--runs", "1", "--eval", text},
		"missing model":       {"bench", filepath.Join(dir, "missing.onnx"), "--no-mem", "--runs", "1"},
		"html in missing dir": {"bench", model, "--no-mem", "--runs", "1", "--html", filepath.Join(dir, "no", "such", "r.html")},
		"profile missing":     {"profile", filepath.Join(dir, "missing.onnx")},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			if out, err := runCLI(t, args...); err == nil {
				t.Errorf("no error:\n%s", out)
			} else {
				t.Log(err)
			}
		})
	}
}
