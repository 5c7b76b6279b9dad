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

// crcTables extend crcTable for slicing-by-8: crcTables[k][b] is the CRC state
// after byte b followed by k zero bytes. hash/crc64 uses them only for inputs of
// 64 bytes or more; the digest's inputs (a node's metadata, 61 bytes) are shorter,
// and byte at a time their CRC was a few per cent of a member's CPU under writes.
var crcTables = func() *[8]crc64.Table {
	var t [8]crc64.Table
	t[0] = *crcTable
	for i := range 256 {
		crc := t[0][i]
		for k := 1; k < 8; k++ {
			crc = t[0][byte(crc)] ^ crc>>8
			t[k][i] = crc
		}
	}
	return &t
}()

// crcUpdate is crc64.Update(crc, crcTable, p), eight bytes at a step. The result is
// the same bit for bit (the digest is compared between members).
func crcUpdate(crc uint64, p []byte) uint64 {
	t := crcTables
	crc = ^crc
	for len(p) >= 8 {
		crc ^= binary.LittleEndian.Uint64(p)
		crc = t[7][byte(crc)] ^ t[6][byte(crc>>8)] ^ t[5][byte(crc>>16)] ^ t[4][byte(crc>>24)] ^
			t[3][byte(crc>>32)] ^ t[2][byte(crc>>40)] ^ t[1][byte(crc>>48)] ^ t[0][byte(crc>>56)]
		p = p[8:]
	}
	for _, v := range p {
		crc = t[0][byte(crc)^v] ^ crc>>8
	}
	return ^crc
}

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
	return mix64(crcUpdate(uint64(len(b)), b) + 1)
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
	h := crcUpdate(hashString(2, path), b[:])
	return mix64(h ^ n.acl.hash)
}

func hashSession(s *session) uint64 {
	var b [8 + 4 + 8]byte
	binary.LittleEndian.PutUint64(b[0:], uint64(s.info.ID))
	binary.LittleEndian.PutUint32(b[8:], uint32(s.info.Timeout))
	binary.LittleEndian.PutUint64(b[12:], uint64(s.info.Created))
	h := crcUpdate(3, b[:])
	return mix64(h ^ hashBytes(s.info.Passwd))
}
