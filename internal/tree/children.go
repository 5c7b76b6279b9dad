package tree

import (
	"iter"
	"maps"
	"slices"
)

// childSet holds the names of a node's children (substrings of the children's paths,
// see node). Most znodes have few children, so a set starts as an unordered slice,
// 16 bytes a name, where a Go map takes 35 to 60 once its slack is counted; removing
// a name then scans the slice, which is cheap at that size. Past maxChildList names
// the set moves to a map for good, so very large directories keep O(1) updates.
// Order is never observable: readers sort (getChildren) or count.
type childSet struct {
	list []string            // the names, in no order; unused once m is set
	m    map[string]struct{} // the names, once there were more than maxChildList
}

// maxChildList is the size past which a childSet becomes a map: removing from a
// slice of that many names scans 32 KB.
const maxChildList = 2048

// init makes c an empty set with room for hint names.
func (c *childSet) init(hint uint64) {
	switch {
	case hint > maxChildList:
		*c = childSet{m: make(map[string]struct{}, min(hint, 1<<20))}
	case hint > 0:
		*c = childSet{list: make([]string, 0, hint)}
	default:
		*c = childSet{}
	}
}

// len returns the number of names; 0 for a nil set.
func (c *childSet) len() int {
	switch {
	case c == nil:
		return 0
	case c.m != nil:
		return len(c.m)
	}
	return len(c.list)
}

// add adds name, which must not be in the set.
func (c *childSet) add(name string) {
	if c.m != nil {
		c.m[name] = struct{}{}
		return
	}
	if len(c.list) < maxChildList {
		c.list = append(c.list, name)
		return
	}
	c.m = make(map[string]struct{}, 2*maxChildList)
	for _, n := range c.list {
		c.m[n] = struct{}{}
	}
	c.m[name] = struct{}{}
	c.list = nil
}

// remove removes name if present.
func (c *childSet) remove(name string) {
	if c.m != nil {
		delete(c.m, name)
		return
	}
	if i := slices.Index(c.list, name); i >= 0 {
		last := len(c.list) - 1
		c.list[i] = c.list[last]
		c.list[last] = ""
		c.list = c.list[:last]
	}
}

// has reports whether name is in the set.
func (c *childSet) has(name string) bool {
	switch {
	case c == nil:
		return false
	case c.m != nil:
		_, ok := c.m[name]
		return ok
	}
	return slices.Contains(c.list, name)
}

// all iterates over the names, in no particular order.
func (c *childSet) all() iter.Seq[string] {
	switch {
	case c == nil:
		return func(func(string) bool) {}
	case c.m != nil:
		return maps.Keys(c.m)
	}
	return slices.Values(c.list)
}

// sorted returns the names in order, in a new slice.
func (c *childSet) sorted() []string {
	out := make([]string, 0, c.len())
	out = slices.AppendSeq(out, c.all())
	slices.Sort(out)
	return out
}
