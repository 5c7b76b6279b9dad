package tree

import (
	"slices"
	"strconv"
	"strings"

	"github.com/corral-io/corral/proto"
)

// aclEntry is an interned ACL list shared by every node that has it, as ZooKeeper's
// ReferenceCountedACLCache does: most trees use a handful of distinct ACLs.
type aclEntry struct {
	acl  []proto.ACL
	key  string
	hash uint64
	refs int
}

// aclKey is the canonical encoding of an ACL list, used to intern it.
func aclKey(acl []proto.ACL) string { return string(proto.AppendACLs(nil, acl)) }

// internACL returns the shared entry for acl. A new entry is not kept in the table
// until a node references it (ref).
func (t *Tree) internACL(acl []proto.ACL) *aclEntry {
	var buf [128]byte // most keys fit: then a known ACL costs no allocation
	kb := proto.AppendACLs(buf[:0], acl)
	if a, ok := t.acls[string(kb)]; ok {
		return a
	}
	k := string(kb)
	cp := make([]proto.ACL, len(acl))
	copy(cp, acl)
	return &aclEntry{acl: cp, key: k, hash: hashString(0x61636c, k)}
}

func (t *Tree) refACL(a *aclEntry) {
	if a.refs == 0 {
		t.acls[a.key] = a
	}
	a.refs++
}

func (t *Tree) unrefACL(a *aclEntry) {
	a.refs--
	if a.refs == 0 {
		delete(t.acls, a.key)
	}
}

// authenticatedScheme reports whether ids of this scheme count for the "auth" ACL
// scheme: ZooKeeper expands "auth" to the ids whose provider isAuthenticated (digest,
// sasl, x509), never to ip, world or the super marker.
func authenticatedScheme(s string) bool {
	return s != "ip" && s != "world" && s != "super" && s != ""
}

// fixupACL validates an ACL list from a request and expands the "auth" scheme, as
// PrepRequestProcessor.fixupACL does: exact duplicates are removed first, an empty list,
// an unknown scheme, a malformed digest or ip id, or "auth" without an authenticated id
// is INVALIDACL.
func fixupACL(auth []proto.ID, acl []proto.ACL) ([]proto.ACL, proto.Code) {
	if len(acl) == 0 {
		return nil, proto.ErrInvalidACL
	}
	// The usual case, no "auth" entry and no repeat, needs no new list.
	plain := true
	for i := range acl {
		if acl[i].ID.Scheme == "auth" || slices.Contains(acl[:i], acl[i]) {
			plain = false
			break
		}
	}
	if plain {
		for i := range acl {
			if !validPlainACL(acl[i]) {
				return nil, proto.ErrInvalidACL
			}
		}
		return acl, proto.ErrOK
	}
	uniq := make([]proto.ACL, 0, len(acl))
	for _, a := range acl {
		dup := false
		for _, u := range uniq {
			if u == a {
				dup = true
				break
			}
		}
		if !dup {
			uniq = append(uniq, a)
		}
	}
	out := make([]proto.ACL, 0, len(uniq))
	for _, a := range uniq {
		if a.ID.Scheme != "auth" {
			if !validPlainACL(a) {
				return nil, proto.ErrInvalidACL
			}
			out = append(out, a)
			continue
		}
		valid := false
		for _, id := range auth {
			if authenticatedScheme(id.Scheme) {
				valid = true
				out = append(out, proto.ACL{Perms: a.Perms, ID: id})
			}
		}
		if !valid {
			return nil, proto.ErrInvalidACL
		}
	}
	return out, proto.ErrOK
}

// validPlainACL reports whether a, of any scheme but "auth", is a valid entry.
func validPlainACL(a proto.ACL) bool {
	switch a.ID.Scheme {
	case "world":
		return a.ID.ID == "anyone"
	case "digest":
		return validDigestID(a.ID.ID)
	case "ip":
		_, _, ok := parseIPACL(a.ID.ID)
		return ok
	}
	return false
}

// validDigestID mirrors DigestAuthenticationProvider.isValid: Java's id.split(":")
// (which drops trailing empty strings) must give at least two parts.
func validDigestID(id string) bool {
	parts := strings.Split(id, ":")
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return len(parts) > 1
}

// parseIPv4 parses a dotted quad the way IPAuthenticationProvider.v4addr2Bytes does
// (exactly four decimal parts of 0..255). ZooKeeper 3.8 accepts no IPv6 ACLs.
func parseIPv4(s string) (uint32, bool) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return 0, false
	}
	var v uint32
	for _, p := range parts {
		if p == "" || len(p) > 10 {
			return 0, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 {
			return 0, false
		}
		v = v<<8 | uint32(n)
	}
	return v, true
}

// parseIPACL parses an ip ACL id "a.b.c.d" or "a.b.c.d/bits".
func parseIPACL(id string) (addr uint32, bits int, ok bool) {
	a, b, hasBits := strings.Cut(id, "/")
	addr, ok = parseIPv4(a)
	if !ok {
		return 0, 0, false
	}
	bits = 32
	if hasBits {
		n, err := strconv.Atoi(b)
		if err != nil || n < 0 || n > 32 {
			return 0, 0, false
		}
		bits = n
	}
	return addr, bits, true
}

func ipMatches(clientIP, aclExpr string) bool {
	addr, bits, ok := parseIPACL(aclExpr)
	if !ok {
		return false
	}
	c, ok := parseIPv4(clientIP)
	if !ok {
		return false
	}
	if bits == 0 {
		return true
	}
	mask := ^uint32(0) << (32 - bits)
	return addr&mask == c&mask
}

// checkACL mirrors ZooKeeperServer.checkACL: an empty ACL or a super id allows
// everything; otherwise some entry with one of the perm bits must match an id.
func checkACL(a *aclEntry, perm int32, auth []proto.ID) bool {
	if a == nil || len(a.acl) == 0 {
		return true
	}
	for _, id := range auth {
		if id.Scheme == "super" {
			return true
		}
	}
	for _, e := range a.acl {
		if e.Perms&perm == 0 {
			continue
		}
		switch e.ID.Scheme {
		case "world":
			if e.ID.ID == "anyone" {
				return true
			}
		case "ip":
			for _, id := range auth {
				if id.Scheme == "ip" && ipMatches(id.ID, e.ID.ID) {
					return true
				}
			}
		default:
			for _, id := range auth {
				if id.Scheme == e.ID.Scheme && id.ID == e.ID.ID {
					return true
				}
			}
		}
	}
	return false
}

// redactACL returns acl as getACL shows it to a caller without ADMIN: digest ids lose
// their hash ("user:x").
func redactACL(acl []proto.ACL) []proto.ACL {
	out := make([]proto.ACL, len(acl))
	for i, a := range acl {
		if a.ID.Scheme == "digest" {
			if j := strings.IndexByte(a.ID.ID, ':'); j >= 0 {
				a.ID.ID = a.ID.ID[:j] + ":x"
			}
		}
		out[i] = a
	}
	return out
}

// aclOf returns the ACL list of n (nil for none).
func aclOf(n *node) []proto.ACL {
	if n == nil || n.acl == nil {
		return nil
	}
	return n.acl.acl
}

// CanRead reports whether a caller with the ids auth has READ on a node with acl.
// The server uses it to withhold watch events about nodes a watcher may not read,
// as ZooKeeper does.
func CanRead(acl []proto.ACL, auth []proto.ID) bool {
	return checkACL(&aclEntry{acl: acl}, proto.PermRead, auth)
}
