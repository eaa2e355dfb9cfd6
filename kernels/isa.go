package kernels

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/cpu"
)

// Features are the x86 instruction-set extensions hone's kernels may use.
type Features struct {
	AVX2, FMA, BMI2                                                 bool
	AVX512F, AVX512BW, AVX512VL, AVX512VBMI, AVX512VNNI, AVX512GFNI bool
}

// CPUEnv names the environment variable that caps the instruction sets the kernels use, as oneDNN's
// ONEDNN_MAX_CPU_ISA does: "avx512" (the default: all this CPU has), "avx2" (AVX2, FMA and BMI2; no AVX-512) or
// "generic" (the pure-Go twins only). It makes a machine without AVX-512 reproducible on one with it: the AVX2
// kernels' speed and numbers can be measured there (`HONE_CPU=avx2 hone bench …`).
const CPUEnv = "HONE_CPU"

// X86 is what this CPU has, capped by HONE_CPU; every dispatcher (and turboquant's) reads it, not x/sys/cpu.
var X86, cpuCapErr = capFeatures(cpu.X86.HasAVX2, cpu.X86.HasFMA, cpu.X86.HasBMI2, cpu.X86.HasAVX512F,
	cpu.X86.HasAVX512BW, cpu.X86.HasAVX512VL, cpu.X86.HasAVX512VBMI, cpu.X86.HasAVX512VNNI, cpu.X86.HasAVX512GFNI,
	os.Getenv(CPUEnv))

// CPUCapError reports a HONE_CPU value that names no level (the kernels then use everything the CPU has);
// commands check it at start-up so a misspelt cap is an error rather than a silent full-speed run.
func CPUCapError() error { return cpuCapErr }

func capFeatures(avx2, fma, bmi2, f, bw, vl, vbmi, vnni, gfni bool, capName string) (Features, error) {
	all := Features{AVX2: avx2, FMA: fma, BMI2: bmi2, AVX512F: f, AVX512BW: bw, AVX512VL: vl, AVX512VBMI: vbmi,
		AVX512VNNI: vnni, AVX512GFNI: gfni}
	switch strings.ToLower(strings.TrimSpace(capName)) {
	case "", "avx512":
		return all, nil
	case "avx2":
		return Features{AVX2: avx2, FMA: fma, BMI2: bmi2}, nil
	case "generic", "purego":
		return Features{}, nil
	}
	return all, fmt.Errorf("%s=%q: want avx512, avx2 or generic", CPUEnv, capName)
}
