package kernels

// conv2DGeneric is the direct-loop reference for Conv2D.
func conv2DGeneric(p ConvParams, x, w, bias []float32, act Activation, y []float32) {
	cg := p.C / p.Group
	mg := p.M / p.Group
	for n := 0; n < p.N; n++ {
		for m := 0; m < p.M; m++ {
			g := m / mg
			out := y[(n*p.M+m)*p.OH*p.OW : (n*p.M+m+1)*p.OH*p.OW]
			for oh := 0; oh < p.OH; oh++ {
				for ow := 0; ow < p.OW; ow++ {
					var s float32
					if bias != nil {
						s = bias[m]
					}
					for c := 0; c < cg; c++ {
						ic := g*cg + c
						for kh := 0; kh < p.KH; kh++ {
							ih := oh*p.StrideH - p.PadTop + kh*p.DilH
							if ih < 0 || ih >= p.H {
								continue
							}
							for kw := 0; kw < p.KW; kw++ {
								iw := ow*p.StrideW - p.PadLeft + kw*p.DilW
								if iw < 0 || iw >= p.W {
									continue
								}
								s += x[((n*p.C+ic)*p.H+ih)*p.W+iw] * w[((m*cg+c)*p.KH+kh)*p.KW+kw]
							}
						}
					}
					out[oh*p.OW+ow] = s
				}
			}
			act.Apply(out)
		}
	}
}
