package bench

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"sort"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Figure is one rendered plot.
type Figure struct {
	ID    string // stable id used in the HTML (and by tests)
	Title string
	PNG   []byte
}

// Figures draws the report's plots: the latency distribution of every variant (box plots, one per batch
// size), throughput against batch size, and, when accuracy was measured, accuracy against file size.
func Figures(res []*Result) ([]Figure, error) {
	var figs []Figure
	add := func(id string, p *plot.Plot, w, h vg.Length) error {
		wt, err := p.WriterTo(w, h, "png")
		if err != nil {
			return fmt.Errorf("bench: plot %s: %w", id, err)
		}
		var b bytes.Buffer
		if _, err := wt.WriteTo(&b); err != nil {
			return fmt.Errorf("bench: plot %s: %w", id, err)
		}
		figs = append(figs, Figure{ID: id, Title: p.Title.Text, PNG: b.Bytes()})
		return nil
	}

	// Latency distribution: one chart per batch size (latencies at different batches differ by orders of
	// magnitude), one box per variant, in milliseconds.
	for _, batch := range batchesOf(res) {
		p := plot.New()
		p.Title.Text = "Latency distribution"
		if batch > 0 {
			p.Title.Text += fmt.Sprintf(", batch %d", batch)
		}
		p.Y.Label.Text = "latency (ms)"
		var names []string
		for _, r := range res {
			if r.Batch != batch {
				continue
			}
			ms := make(plotter.Values, len(r.Samples))
			for j, d := range r.Samples {
				ms[j] = float64(d) / float64(time.Millisecond)
			}
			if len(ms) == 0 {
				ms = plotter.Values{float64(r.P50) / float64(time.Millisecond)}
			}
			box, err := plotter.NewBoxPlot(vg.Points(20), float64(len(names)), ms)
			if err != nil {
				return nil, fmt.Errorf("bench: latency plot: %w", err)
			}
			box.FillColor = plotutil.Color(len(names))
			p.Add(box)
			names = append(names, Label(r))
		}
		p.NominalX(names...)
		p.Add(plotter.NewGrid())
		if err := add(fmt.Sprintf("latency-b%d", batch), p, vg.Points(float64(max(380, 110*len(names)))), 260); err != nil {
			return nil, err
		}
	}

	// Throughput against batch size, one line per variant.
	p := plot.New()
	p.Title.Text = "Throughput vs batch size"
	p.X.Label.Text = "batch size"
	p.Y.Label.Text = "items / s"
	var lines []any
	for _, label := range labels(res) {
		var xy plotter.XYs
		for _, r := range res {
			if Label(r) == label {
				xy = append(xy, plotter.XY{X: float64(max(r.Batch, 1)), Y: r.Throughput})
			}
		}
		sort.Slice(xy, func(i, j int) bool { return xy[i].X < xy[j].X })
		lines = append(lines, label, xy)
	}
	if err := plotutil.AddLinePoints(p, lines...); err != nil {
		return nil, fmt.Errorf("bench: throughput plot: %w", err)
	}
	p.Add(plotter.NewGrid())
	if err := add("throughput", p, 380, 260); err != nil {
		return nil, err
	}

	// Accuracy against size: the trade-off an optimised model is judged by.
	if anyOf(res, func(r *Result) bool { return r.HasAccuracy }) {
		p = plot.New()
		p.Title.Text = "Accuracy vs size"
		p.X.Label.Text = "file size (MiB)"
		p.Y.Label.Text = res[0].EvalMetric + " (%)"
		seen := map[string]bool{}
		var pts plotter.XYLabels
		for _, r := range res {
			if !r.HasAccuracy || seen[Label(r)] {
				continue
			}
			seen[Label(r)] = true
			pts.XYs = append(pts.XYs, plotter.XY{X: float64(r.FileBytes) / (1 << 20), Y: 100 * r.Accuracy})
			pts.Labels = append(pts.Labels, Label(r))
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("bench: accuracy plot: %w", err)
		}
		sc.GlyphStyle.Radius = vg.Points(4)
		sc.GlyphStyle.Color = plotutil.Color(0)
		lb, err := plotter.NewLabels(pts)
		if err != nil {
			return nil, fmt.Errorf("bench: accuracy plot: %w", err)
		}
		p.Add(sc, lb, plotter.NewGrid())
		// Pad the axes so a single point or labels at the edge stay inside the frame.
		p.X.Min, p.X.Max = pad(p.X.Min, p.X.Max, 0.05)
		p.Y.Min, p.Y.Max = pad(p.Y.Min, p.Y.Max, 1) // at least a point of accuracy, so ticks stay distinct
		if err := add("accuracy", p, 380, 260); err != nil {
			return nil, err
		}
	}
	return figs, nil
}

// pad widens [lo, hi] by 15% on each side and to at least minSpan.
func pad(lo, hi, minSpan float64) (float64, float64) {
	d := max((hi-lo)*0.15, (minSpan-(hi-lo))/2)
	return lo - d, hi + d
}

// batchesOf lists the distinct batch sizes in first-seen order.
func batchesOf(res []*Result) []int {
	var out []int
	seen := map[int]bool{}
	for _, r := range res {
		if !seen[r.Batch] {
			seen[r.Batch] = true
			out = append(out, r.Batch)
		}
	}
	return out
}

// labels lists the distinct variant labels in first-seen order.
func labels(res []*Result) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range res {
		if l := Label(r); !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

var reportTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 16px; color: #222; }
.row { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
table { border-collapse: collapse; font-size: 13px; }
caption { font-weight: bold; text-align: left; padding: 4px 0; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #eef; }
figure { margin: 0; }
figcaption { font-size: 12px; color: #555; }
</style></head>
<body>
<h1>{{.Title}}</h1>
<p>{{.Note}}</p>
<div class="row" id="plots">
{{range .Figures}}<figure><img id="plot-{{.ID}}" alt="{{.Title}}" src="{{.Src}}"><figcaption>{{.Title}}</figcaption></figure>
{{end}}</div>
<div class="row" id="tables">
{{range .Tables}}<table class="bench" data-batch="{{.Batch}}">
<caption>{{if .Batch}}batch {{.Batch}}{{else}}model's own input shape{{end}}</caption>
<thead><tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody>
</table>
{{end}}</div>
<script>
// Record each plot's decoded size on the element, so a headless browser's DOM dump shows whether it rendered.
window.addEventListener("load", function () {
  document.querySelectorAll("#plots img").forEach(function (img) {
    img.setAttribute("data-rendered", img.complete && img.naturalWidth > 0 ? img.naturalWidth + "x" + img.naturalHeight : "no");
  });
});
</script>
</body></html>
`))

// WriteHTML writes a self-contained HTML report: the tables, and the plots as PNG data URIs (no files beside it,
// no network), so the page can be mailed or attached to a CI run as is.
func WriteHTML(w io.Writer, title, note string, res []*Result) error {
	figs, err := Figures(res)
	if err != nil {
		return err
	}
	type fig struct {
		ID, Title string
		Src       template.URL
	}
	data := struct {
		Title, Note string
		Tables      []Table
		Figures     []fig
	}{Title: title, Note: note, Tables: Tables(res)}
	for _, f := range figs {
		data.Figures = append(data.Figures, fig{f.ID, f.Title, template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG))})
	}
	return reportTmpl.Execute(w, data)
}
