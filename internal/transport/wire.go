package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

const (
	handshakeMagic = "CRLPEER1"

	kindStream   = 1
	kindSnapshot = 2

	frameRaft    = 1
	frameApp     = 2
	frameGoodbye = 3

	statusOK      = 0
	statusRefused = 1

	// maxFrame bounds one frame. raft's append messages are bounded by
	// MaxSizePerMsg, but a single entry may exceed it.
	maxFrame      = 256 << 20
	maxClusterID  = 1024
	maxStatusText = 4096
)

// handshake is the first thing a dialler writes on a new stream.
type handshake struct {
	kind      uint8
	from, to  uint64
	clusterID string
}

func (h handshake) encode() []byte {
	b := make([]byte, 0, len(handshakeMagic)+1+8+8+2+len(h.clusterID))
	b = append(b, handshakeMagic...)
	b = append(b, h.kind)
	b = binary.BigEndian.AppendUint64(b, h.from)
	b = binary.BigEndian.AppendUint64(b, h.to)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.clusterID)))
	return append(b, h.clusterID...)
}

func readHandshake(r io.Reader) (handshake, error) {
	var h handshake
	var fixed [len(handshakeMagic) + 1 + 8 + 8 + 2]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return h, err
	}
	if string(fixed[:len(handshakeMagic)]) != handshakeMagic {
		return h, fmt.Errorf("not a corral peer (bad handshake magic %q)", fixed[:len(handshakeMagic)])
	}
	p := fixed[len(handshakeMagic):]
	h.kind = p[0]
	h.from = binary.BigEndian.Uint64(p[1:])
	h.to = binary.BigEndian.Uint64(p[9:])
	n := int(binary.BigEndian.Uint16(p[17:]))
	if n > maxClusterID {
		return h, fmt.Errorf("cluster id of %d bytes", n)
	}
	cid := make([]byte, n)
	if _, err := io.ReadFull(r, cid); err != nil {
		return h, err
	}
	h.clusterID = string(cid)
	return h, nil
}

func writeStatus(w io.Writer, status uint8, msg string) error {
	if len(msg) > maxStatusText {
		msg = msg[:maxStatusText]
	}
	b := make([]byte, 0, 3+len(msg))
	b = append(b, status)
	b = binary.BigEndian.AppendUint16(b, uint16(len(msg)))
	b = append(b, msg...)
	_, err := w.Write(b)
	return err
}

func readStatus(r io.Reader) (uint8, string, error) {
	var hdr [3]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, "", err
	}
	n := int(binary.BigEndian.Uint16(hdr[1:]))
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return 0, "", err
	}
	return hdr[0], string(msg), nil
}

// writeFrame writes one frame: len u32 | typ u8 | payload.
func writeFrame(w *bufio.Writer, typ uint8, payload []byte) error {
	var hdr [5]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(1+len(payload)))
	hdr[4] = typ
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	_, err := w.Write(payload)
	return err
}

// readFrame reads one frame. The payload is a fresh slice the caller owns.
func readFrame(r io.Reader) (uint8, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n == 0 || n > maxFrame {
		return 0, nil, fmt.Errorf("frame of %d bytes", n)
	}
	p := make([]byte, n-1)
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return hdr[4], p, nil
}

// isPeerGone reports whether err means the peer's process (or its listener)
// is gone: the stream ended, was reset, or nobody listens at the address.
// Timeouts, name resolution failures and our own closes are not.
func isPeerGone(err error) bool {
	if err == nil || errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
}

// errGoodbye marks a stream its peer closed on purpose.
var errGoodbye = errors.New("peer closed the stream on purpose")
