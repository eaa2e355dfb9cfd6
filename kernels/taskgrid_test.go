package kernels

import "testing"

// TestTaskGridBalance checks the GEMM task grid on CNN shapes (MobileNetV2 and ResNet-18 1×1 and im2col GEMMs,
// N = 49…784): with 2 threads claiming tasks in order, the flops each thread gets (edge panels counted whole, as
// the micro-kernel computes them) must be within 10 % of an even split. Cutting only whole nr-wide column
// stripes rounded up, as the grid once did, left 196 columns as 64+64+64+4 and one thread with 1.5× the other's.
func TestTaskGridBalance(t *testing.T) {
	for _, kern := range []*ukernel{genericKernel, kernelFor(level)} {
		for _, c := range []struct {
			m, n, k          int
			aPacked, bPacked bool
		}{
			{64, 196, 384, true, false},  // MobileNetV2 1×1, 14×14
			{96, 196, 576, true, false},  // MobileNetV2 projection, 14×14
			{32, 784, 192, true, false},  // MobileNetV2 projection, 28×28
			{160, 49, 960, true, false},  // 7×7
			{512, 49, 4608, true, true},  // ResNet-18 layer4 3×3, im2col packed
			{196, 256, 2304, true, true}, // transposed form: pixels as rows
			{1, 1000, 512, false, true},  // batch-1 fully connected
			{300, 300, 300, false, false},
		} {
			rows, cols := taskGrid(c.m, c.n, c.k, kern, c.aPacked, c.bPacked, 2)
			rp, cp := ceilDiv(c.m, kern.mr), ceilDiv(c.n, kern.nr)
			if rows < 1 || cols < 1 || rows > rp || cols > cp || rows*cols > 16 {
				t.Fatalf("%dx%d: %+v: grid %d×%d for %d×%d panels", kern.mr, kern.nr, c, rows, cols, rp, cp)
			}
			// Replay the claim order: the thread that is free first takes the next task.
			var load [2]int
			for task := 0; task < rows*cols; task++ {
				ti, tj := task/cols, task%cols
				w := (ti+1)*rp/rows - ti*rp/rows
				w *= (tj+1)*cp/cols - tj*cp/cols
				if load[1] < load[0] {
					load[1] += w
				} else {
					load[0] += w
				}
			}
			if rp*cp >= 2 && 2*max(load[0], load[1]) > rp*cp*11/10+1 {
				t.Errorf("%dx%d kernel, %+v: grid %d×%d gives the threads %v of %d panel tiles", kern.mr, kern.nr, c, rows, cols, load, rp*cp)
			}
		}
	}
}
