package turboquant

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// PlotDistortion draws measured D_mse (sphere data, mse variant) against bits for every dimension in rows, with the
// paper's lower and upper bounds, on a log scale, and writes a PNG to path.
func PlotDistortion(rows []EvalRow, path string) error {
	p := plot.New()
	p.Title.Text = "TurboQuant_mse distortion vs bits"
	p.X.Label.Text = "bits per coordinate"
	p.Y.Label.Text = "D_mse"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{}
	byDim := map[int]plotter.XYs{}
	var dims []int
	lower, upper := plotter.XYs{}, plotter.XYs{}
	seen := map[int]bool{}
	for _, r := range rows {
		if r.Variant != "mse" || r.Data != "sphere" {
			continue
		}
		if _, ok := byDim[r.Dim]; !ok {
			dims = append(dims, r.Dim)
		}
		byDim[r.Dim] = append(byDim[r.Dim], plotter.XY{X: float64(r.Bits), Y: r.DMSE})
		if !seen[r.Bits] {
			seen[r.Bits] = true
			lower = append(lower, plotter.XY{X: float64(r.Bits), Y: r.MSELower})
			upper = append(upper, plotter.XY{X: float64(r.Bits), Y: r.MSEUpper})
		}
	}
	if len(dims) == 0 {
		return fmt.Errorf("turboquant: no mse rows to plot")
	}
	palette := []color.Color{color.RGBA{R: 200, A: 255}, color.RGBA{G: 150, A: 255}, color.RGBA{B: 200, A: 255},
		color.RGBA{R: 150, B: 150, A: 255}}
	for i, d := range dims {
		l, s, err := plotter.NewLinePoints(byDim[d])
		if err != nil {
			return err
		}
		l.Color, s.Color = palette[i%len(palette)], palette[i%len(palette)]
		p.Add(l, s)
		p.Legend.Add(fmt.Sprintf("measured d=%d", d), l, s)
	}
	for _, b := range []struct {
		name string
		xy   plotter.XYs
	}{{"lower 4^-b", lower}, {"upper √3π/2·4^-b", upper}} {
		l, err := plotter.NewLine(b.xy)
		if err != nil {
			return err
		}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(b.name, l)
	}
	p.Legend.Top = true
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
