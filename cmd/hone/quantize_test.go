package main

import (
	"strings"
	"testing"
)

func TestQuantizeExplain(t *testing.T) {
	out, err := runCLI(t, "quantize", "explain", "--values", "0.35,-1.2,0.8,-0.5,1.5,0.05")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[0, 255]", "zero point", "= 113", "146", "max error", ": true"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runCLI(t, "quantize", "explain", "--values", "1,x"); err == nil {
		t.Error("bad value accepted")
	}
	if _, err := runCLI(t, "quantize", "explain", "--scheme", "odd"); err == nil {
		t.Error("bad scheme accepted")
	}
}
