package ir_test

import (
	"testing"

	"github.com/hone-ml/hone/internal/irtest"
	"github.com/hone-ml/hone/ir"
)

func TestRewriteHelpers(t *testing.T) {
	body := irtest.New("body")
	body.Output(body.Op("Neg", []string{"a"})) // reads "a" from the outer scope
	b := irtest.New("g")
	x := b.Input("x", ir.Float32, 2)
	a := b.Op("Relu", []string{x})
	b.G.Nodes[0].Outputs[0] = "a"
	_ = a
	b.Init("unused", ir.Scalar(1))
	c := b.Input("c", ir.Bool)
	y := b.Op("If", []string{c}, irtest.GraphAttr("then_branch", body.G), irtest.GraphAttr("else_branch", body.G.Clone()))
	z := b.Op("Abs", []string{"a"})
	b.Output(y, z)
	g := b.G

	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := g.FreshValueName("a"); got != "a_1" {
		t.Errorf("FreshValueName = %q", got)
	}
	if got := g.FreshNodeName("Relu1"); got != "Relu1_1" {
		t.Errorf("FreshNodeName = %q", got)
	}
	// A new producer of "a2" inserted before the If; every reader, the bodies included, moves to it.
	n := &ir.Node{Name: "sig", OpType: "Sigmoid", Inputs: []string{x}, Outputs: []string{"a2"}}
	g.InsertBefore(g.Nodes[1], n)
	g.ReplaceAllUses("a", "a2")
	if g.Nodes[1] != n || g.Nodes[3].Inputs[0] != "a2" || g.Nodes[2].Attrs[0].G.Nodes[0].Inputs[0] != "a2" {
		t.Errorf("uses not replaced: %v", g.Nodes)
	}
	if !g.RemoveNode(g.Nodes[0]) {
		t.Fatal("RemoveNode found nothing")
	}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := g.RenameValue("a2", y); err == nil {
		t.Error("renaming onto a taken name succeeded")
	}
	if err := g.RenameValue(z, "zz"); err != nil || g.Outputs[1].Name != "zz" {
		t.Errorf("RenameValue: %v, outputs %v", err, g.Outputs[1].Name)
	}
	if n := g.RemoveUnused(); n != 1 || g.Initializers["unused"] != nil {
		t.Errorf("RemoveUnused removed %d", n)
	}
	// Broken graphs: an undefined read, and a cycle.
	g.Nodes[0].Inputs[0] = "nowhere"
	if err := g.Validate(); err == nil {
		t.Error("undefined input validated")
	}
	g.Nodes[0].Inputs[0] = "zz"
	if err := g.Validate(); err == nil {
		t.Error("cycle validated")
	}
}
