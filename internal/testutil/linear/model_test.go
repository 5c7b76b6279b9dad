package linear

import (
	"math"
	"testing"

	"github.com/anishathalye/porcupine"
)

func op(c int, in Input, call int64, out Output, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret}
}

func TestModelRejectsStaleRead(t *testing.T) {
	h := []porcupine.Operation{
		op(0, Input{Kind: OpWrite, Value: "a"}, 0, Output{OK: true, Version: 1}, 10),
		op(1, Input{Kind: OpRead}, 20, Output{OK: true, Value: "", Version: 0}, 30),
	}
	if porcupine.CheckOperations(Model, h) {
		t.Fatal("a read older than an acknowledged write was accepted")
	}
}

func TestModelAcceptsConcurrentAndUnknown(t *testing.T) {
	h := []porcupine.Operation{
		op(0, Input{Kind: OpWrite, Value: "a"}, 0, Output{Unknown: true}, math.MaxInt64),
		op(1, Input{Kind: OpRead}, 5, Output{OK: true, Value: "", Version: 0}, 6),
		op(1, Input{Kind: OpCAS, Version: 1, Value: "b"}, 7, Output{OK: true, Version: 2}, 9),
		op(2, Input{Kind: OpCAS, Version: 1, Value: "c"}, 8, Output{OK: false}, 12),
		op(2, Input{Kind: OpRead}, 13, Output{OK: true, Value: "b", Version: 2}, 14),
	}
	if !porcupine.CheckOperations(Model, h) {
		t.Fatal("a linearizable history was rejected")
	}
}

func TestModelRejectsLostCAS(t *testing.T) {
	h := []porcupine.Operation{
		op(0, Input{Kind: OpCAS, Version: 0, Value: "a"}, 0, Output{OK: true, Version: 1}, 1),
		op(1, Input{Kind: OpCAS, Version: 0, Value: "b"}, 2, Output{OK: true, Version: 1}, 3),
	}
	if porcupine.CheckOperations(Model, h) {
		t.Fatal("two CASes from the same version both succeeded")
	}
}
