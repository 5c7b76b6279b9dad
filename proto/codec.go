// Package proto encodes and decodes ZooKeeper's wire protocol: the jute records of
// ZooKeeper 3.9 (zookeeper.jute), their framing, and the protocol's constants. It does
// no I/O beyond reading a frame from an io.Reader; everything else works on byte slices.
package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrShortBuffer is returned when a record ends before all of its fields were read.
var ErrShortBuffer = errors.New("proto: record truncated")

// ErrBadLength is returned when a string, buffer or vector carries an impossible length.
var ErrBadLength = errors.New("proto: bad length")

// Encoder appends jute-encoded values to a byte slice.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an Encoder that appends to buf (which may be nil).
func NewEncoder(buf []byte) *Encoder { return &Encoder{buf: buf} }

// Bytes returns the encoded bytes.
func (e *Encoder) Bytes() []byte { return e.buf }

// Len returns the number of bytes encoded so far.
func (e *Encoder) Len() int { return len(e.buf) }

// Reset empties the encoder, keeping its storage.
func (e *Encoder) Reset() { e.buf = e.buf[:0] }

// Int writes a 4-byte big-endian int.
func (e *Encoder) Int(v int32) { e.buf = binary.BigEndian.AppendUint32(e.buf, uint32(v)) }

// Long writes an 8-byte big-endian long.
func (e *Encoder) Long(v int64) { e.buf = binary.BigEndian.AppendUint64(e.buf, uint64(v)) }

// Bool writes a one-byte boolean.
func (e *Encoder) Bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}

// String writes a ustring: int length then UTF-8 bytes.
func (e *Encoder) String(s string) {
	e.Int(int32(len(s)))
	e.buf = append(e.buf, s...)
}

// Buffer writes a buffer: int length then bytes; a nil slice is written with length -1.
func (e *Encoder) Buffer(b []byte) {
	if b == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(b)))
	e.buf = append(e.buf, b...)
}

// Strings writes a vector<ustring>; a nil slice is written with count -1.
func (e *Encoder) Strings(v []string) {
	if v == nil {
		e.Int(-1)
		return
	}
	e.Int(int32(len(v)))
	for _, s := range v {
		e.String(s)
	}
}

// Raw appends bytes as they are.
func (e *Encoder) Raw(b []byte) { e.buf = append(e.buf, b...) }

// Decoder reads jute-encoded values from a byte slice. The first error sticks: later
// reads return zero values and Err reports it, so a record decodes field by field and
// checks once.
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder returns a Decoder over b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first error met, if any.
func (d *Decoder) Err() error { return d.err }

// Remaining returns the number of unread bytes.
func (d *Decoder) Remaining() int { return len(d.b) - d.off }

// Offset returns the number of bytes read so far.
func (d *Decoder) Offset() int { return d.off }

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.fail(ErrShortBuffer)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

// Int reads a 4-byte big-endian int.
func (d *Decoder) Int() int32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(p))
}

// Long reads an 8-byte big-endian long.
func (d *Decoder) Long() int64 {
	p := d.take(8)
	if p == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(p))
}

// Bool reads a one-byte boolean.
func (d *Decoder) Bool() bool {
	p := d.take(1)
	return p != nil && p[0] != 0
}

func (d *Decoder) length() (int, bool) {
	n := d.Int()
	if d.err != nil {
		return 0, false
	}
	if n == -1 {
		return -1, true
	}
	if n < 0 || int(n) > d.Remaining() {
		d.fail(fmt.Errorf("%w: %d with %d bytes left", ErrBadLength, n, d.Remaining()))
		return 0, false
	}
	return int(n), true
}

// String reads a ustring; a null string reads as "".
func (d *Decoder) String() string {
	n, ok := d.length()
	if !ok || n <= 0 {
		return ""
	}
	return string(d.take(n))
}

// Buffer reads a buffer; a null buffer (length -1) reads as nil, an empty one as a
// non-nil empty slice. The result is a copy.
func (d *Decoder) Buffer() []byte {
	n, ok := d.length()
	if !ok || n < 0 {
		return nil
	}
	p := d.take(n)
	if p == nil {
		return nil
	}
	out := make([]byte, n)
	copy(out, p)
	return out
}

// Count reads a vector count and checks it against the bytes left, assuming each
// element takes at least minSize bytes. A null vector reads as -1.
func (d *Decoder) Count(minSize int) int {
	n := d.Int()
	if d.err != nil {
		return 0
	}
	if n == -1 {
		return -1
	}
	if n < 0 || (minSize > 0 && int64(n)*int64(minSize) > int64(d.Remaining())) || n > math.MaxInt32/2 {
		d.fail(fmt.Errorf("%w: vector of %d with %d bytes left", ErrBadLength, n, d.Remaining()))
		return 0
	}
	return int(n)
}

// Strings reads a vector<ustring>; a null vector reads as nil.
func (d *Decoder) Strings() []string {
	n := d.Count(4)
	if n < 0 || d.err != nil {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		out = append(out, d.String())
	}
	return out
}

// Rest returns the unread bytes without copying and marks them read.
func (d *Decoder) Rest() []byte {
	p := d.b[d.off:]
	d.off = len(d.b)
	return p
}

// Record is a jute record: it can encode itself and decode itself.
type Record interface {
	Encode(e *Encoder)
	Decode(d *Decoder)
}

// Marshal encodes r into a new byte slice.
func Marshal(r Record) []byte {
	e := NewEncoder(make([]byte, 0, 64))
	r.Encode(e)
	return e.Bytes()
}

// Unmarshal decodes b into r. It fails if b is truncated; trailing bytes are allowed,
// as the reference server allows them.
func Unmarshal(b []byte, r Record) error {
	d := NewDecoder(b)
	r.Decode(d)
	return d.Err()
}
