package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrFrameTooLarge is returned by ReadFrame when a frame's length prefix is negative or
// above the limit. Nothing is allocated for such a frame.
var ErrFrameTooLarge = errors.New("proto: frame length out of range")

// ReadFrame reads one length-prefixed frame from r. The length is checked against max
// before any allocation; buf is reused when it is large enough.
func ReadFrame(r io.Reader, max int, buf []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 0 || int(n) > max {
		return nil, fmt.Errorf("%w: %d (max %d)", ErrFrameTooLarge, n, max)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// FrameLength returns the length a frame header announces.
func FrameLength(hdr []byte) int32 { return int32(binary.BigEndian.Uint32(hdr)) }

// BeginFrame starts a frame in e: it reserves four bytes for the length, to be filled by
// EndFrame, and returns the offset to hand to EndFrame.
func BeginFrame(e *Encoder) int {
	off := e.Len()
	e.Int(0)
	return off
}

// EndFrame fills in the length of the frame begun at off.
func EndFrame(e *Encoder, off int) {
	binary.BigEndian.PutUint32(e.buf[off:], uint32(len(e.buf)-off-4))
}

// AppendReply encodes a reply frame (header plus optional body) onto e.
func AppendReply(e *Encoder, h ReplyHeader, body Record) {
	off := BeginFrame(e)
	h.Encode(e)
	if body != nil {
		body.Encode(e)
	}
	EndFrame(e, off)
}
