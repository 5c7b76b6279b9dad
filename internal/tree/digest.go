package tree

import (
	"encoding/binary"
	"hash/crc64"
)

// The digest is a wrapping sum of per-item hashes, so it does not depend on the order
// in which nodes were created or are iterated, and an update costs O(1): subtract the
// item's old hash, add its new one. A node contributes two hashes, one over its path and
// data and one over its path and metadata, so that metadata changes (a child created
// under a large node) do not rehash the data. Derived values (numChildren, the visible
// cversion) are not hashed; they follow from the set of paths.

var crcTable = crc64.MakeTable(crc64.ECMA)

// mix64 is the splitmix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func hashString(seed uint64, s string) uint64 {
	h := seed ^ 0xcbf29ce484222325
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return mix64(h ^ uint64(len(s)))
}

func hashBytes(b []byte) uint64 {
	if b == nil {
		return 0x6e756c6c // distinguishes null data from empty data
	}
	return mix64(crc64.Update(uint64(len(b)), crcTable, b) + 1)
}

func hashData(path string, data []byte) uint64 {
	return mix64(hashString(1, path) ^ hashBytes(data))
}

func hashMeta(path string, n *node) uint64 {
	var b [8*6 + 4*3 + 1]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(n.czxid))
	binary.LittleEndian.PutUint64(b[8:], uint64(n.mzxid))
	binary.LittleEndian.PutUint64(b[16:], uint64(n.pzxid()))
	binary.LittleEndian.PutUint64(b[24:], uint64(n.ctime))
	binary.LittleEndian.PutUint64(b[32:], uint64(n.mtime))
	binary.LittleEndian.PutUint64(b[40:], uint64(n.owner()))
	binary.LittleEndian.PutUint32(b[48:], uint32(n.version))
	binary.LittleEndian.PutUint32(b[52:], uint32(n.cversion()))
	binary.LittleEndian.PutUint32(b[56:], uint32(n.aversion()))
	b[60] = byte(n.kind())
	h := crc64.Update(hashString(2, path), crcTable, b[:])
	return mix64(h ^ n.acl.hash)
}

func hashSession(s *session) uint64 {
	var b [8 + 4 + 8]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(s.info.ID))
	binary.LittleEndian.PutUint32(b[8:], uint32(s.info.Timeout))
	binary.LittleEndian.PutUint64(b[12:], uint64(s.info.Created))
	h := crc64.Update(3, crcTable, b[:])
	return mix64(h ^ hashBytes(s.info.Passwd))
}
