// Package linear records histories of ZooKeeper-protocol clients doing reads, writes
// and compare-and-set writes on a few znodes, and checks them for linearizability
// with porcupine. Only writes and sync+read pairs are checked for linearizability
// (ZooKeeper's plain reads are sequentially consistent, not linearizable); plain reads
// are checked for per-session monotonicity instead.
package linear

import (
	"fmt"
	"sort"

	"github.com/anishathalye/porcupine"
)

// OpKind is the kind of a recorded operation.
type OpKind uint8

// Operation kinds.
const (
	OpRead  OpKind = iota // sync, then getData
	OpWrite               // setData with version -1
	OpCAS                 // setData with an expected version
)

// Input is what a client asked.
type Input struct {
	Kind    OpKind
	Key     int
	Value   string
	Version int32 // expected version for OpCAS
}

// Output is what it got back.
type Output struct {
	OK      bool   // write or read succeeded; false for a CAS that failed with BADVERSION
	Unknown bool   // connection lost: the write may or may not have happened
	Value   string // read: the data
	Version int32  // read or write: the version after the op
}

// register is the per-key state: the data and its version.
type register struct {
	Value   string
	Version int32
}

// Model is the sequential specification: one register per key with ZooKeeper's
// version semantics.
var Model = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[int][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(Input).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]int, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Ints(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return register{Value: "", Version: 0} },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(register), input.(Input), output.(Output)
		switch in.Kind {
		case OpRead:
			return out.Value == s.Value && out.Version == s.Version, s
		case OpWrite:
			next := register{Value: in.Value, Version: s.Version + 1}
			if out.Unknown {
				return true, next
			}
			return out.OK && out.Version == next.Version, next
		case OpCAS:
			matches := s.Version == in.Version
			next := s
			if matches {
				next = register{Value: in.Value, Version: s.Version + 1}
			}
			if out.Unknown {
				return true, next
			}
			if out.OK {
				return matches && out.Version == next.Version, next
			}
			return !matches, s
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		res := fmt.Sprintf("ok=%v v=%d %q", out.OK, out.Version, out.Value)
		if out.Unknown {
			res = "unknown"
		}
		switch in.Kind {
		case OpRead:
			return fmt.Sprintf("read(k%d) -> %s", in.Key, res)
		case OpWrite:
			return fmt.Sprintf("write(k%d, %q) -> %s", in.Key, in.Value, res)
		default:
			return fmt.Sprintf("cas(k%d, v%d, %q) -> %s", in.Key, in.Version, in.Value, res)
		}
	},
	DescribeState: func(state any) string {
		s := state.(register)
		return fmt.Sprintf("%q@v%d", s.Value, s.Version)
	},
}
