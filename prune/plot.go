package prune

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Plot writes a PNG of score against amount, one line per layer, with the unpruned score as a dashed line.
func (s *Sweep) Plot(path string) error {
	if len(s.Layers) == 0 {
		return fmt.Errorf("prune: sensitivity plot: no layers")
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Sensitivity (%s, one layer at a time)", s.Method)
	p.X.Label.Text = "amount pruned (fraction of the layer)"
	p.Y.Label.Text = "score"
	p.Legend.Top = false
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	base := plotter.XYs{{X: 0, Y: s.Baseline}, {X: s.Amounts[len(s.Amounts)-1], Y: s.Baseline}}
	bl, err := plotter.NewLine(base)
	if err != nil {
		return err
	}
	bl.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(bl)
	p.Legend.Add("unpruned", bl)
	for i, l := range s.Layers {
		xy := make(plotter.XYs, 0, len(l.Scores)+1)
		xy = append(xy, plotter.XY{X: 0, Y: s.Baseline})
		for j, v := range l.Scores {
			xy = append(xy, plotter.XY{X: s.Amounts[j], Y: v})
		}
		line, pts, err := plotter.NewLinePoints(xy)
		if err != nil {
			return err
		}
		c := palette(i)
		line.Color, pts.Color = c, c
		p.Add(line, pts)
		p.Legend.Add(l.Node, line, pts)
	}
	h := 4*vg.Inch + vg.Length(len(s.Layers))*vg.Points(2)
	if err := p.Save(7*vg.Inch, h, path); err != nil {
		return fmt.Errorf("prune: sensitivity plot: %w", err)
	}
	return nil
}

// palette spreads hues around the colour wheel so neighbouring layers differ.
func palette(i int) color.Color {
	h := float64(i) * 0.618033988749895 // golden-ratio steps never repeat a hue
	h -= float64(int(h))
	r, g, b := hsv(h*6, 0.75, 0.85)
	return color.RGBA{R: uint8(255 * r), G: uint8(255 * g), B: uint8(255 * b), A: 255}
}

func hsv(h, s, v float64) (r, g, b float64) {
	i := int(h) % 6
	f := h - float64(int(h))
	p, q, t := v*(1-s), v*(1-s*f), v*(1-s*(1-f))
	switch i {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	}
	return v, p, q
}
