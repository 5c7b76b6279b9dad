package tree

import (
	"sort"

	"github.com/corral-io/corral/proto"
)

// due reports whether the container or TTL node n is due for deletion at now, by
// ContainerManager.getCandidates' rules: no children, and for a container either a
// child was ever created (internal cversion > 0) or maxNeverUsedMs is non-zero and
// now - mtime exceeds it; for a TTL node, now - mtime exceeds its TTL.
func due(n *node, now, maxNeverUsedMs int64) bool {
	if n.nchildren() > 0 {
		return false
	}
	switch n.kind() {
	case kindContainer:
		if n.cversion() != 0 {
			return true
		}
		return maxNeverUsedMs != 0 && now-n.mtime > maxNeverUsedMs
	case kindTTL:
		return n.owner() != 0 && now-n.mtime > n.owner()
	}
	return false
}

// ReapCandidates lists, sorted, up to limit container and TTL nodes due for deletion
// at time now (ms since the epoch). maxNeverUsedMs is
// znode.container.maxNeverUsedIntervalMs (0: never-used containers are kept). The
// leader proposes a KindDeleteContainer entry for each; limit <= 0 means no limit.
func (t *Tree) ReapCandidates(now int64, maxNeverUsedMs int64, limit int) []string {
	var out []string
	for p := range t.containers {
		if due(t.nodes.get(p), now, maxNeverUsedMs) {
			out = append(out, p)
		}
	}
	for p := range t.ttls {
		if due(t.nodes.get(p), now, maxNeverUsedMs) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// deleteContainer applies KindDeleteContainer: it deletes e.Path only if, at e.Time,
// it still exists (else NONODE), is a container or TTL node (else BADVERSION, as
// ZooKeeper answers for an ephemeral), has no children (else NOTEMPTY) and is due
// (else BADVERSION). On success the events are those of a delete.
func (t *Tree) deleteContainer(zxid int64, e *Entry) Result {
	n := t.nodes.get(e.Path)
	if n == nil || e.Path == rootPath {
		return Result{Err: proto.ErrNoNode}
	}
	if n.kind() != kindContainer && n.kind() != kindTTL {
		return Result{Err: proto.ErrBadVersion}
	}
	if n.nchildren() > 0 {
		return Result{Err: proto.ErrNotEmpty}
	}
	if !due(n, e.Time, e.MaxNeverUsed) {
		return Result{Err: proto.ErrBadVersion}
	}
	pp := parentOf(e.Path)
	return Result{Resp: proto.Empty{}, Events: t.deleteChild(e.Path, n, pp, t.nodes.get(pp), zxid)}
}
