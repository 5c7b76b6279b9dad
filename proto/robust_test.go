package proto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"
)

// validPrefix reports whether a strict prefix of a record's encoding is itself a
// complete encoding: only the optional trailing readOnly byte of the connect records.
func validPrefix(r Record, n int) bool {
	switch r := r.(type) {
	case *ConnectRequest:
		return !r.OldClient && n == len(Marshal(r))-1
	case *ConnectResponse:
		return !r.OldClient && n == len(Marshal(r))-1
	}
	return false
}

func TestTruncatedAtEveryOffset(t *testing.T) {
	for _, tc := range allRecords() {
		b := Marshal(tc.rec)
		for n := 0; n < len(b); n++ {
			// Exact-capacity copy, so a read past the end cannot silently succeed.
			in := append(make([]byte, 0, n), b[:n]...)
			got := fresh(tc.rec)
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s: panic decoding %d of %d bytes: %v", tc.name, n, len(b), p)
					}
				}()
				err = Unmarshal(in, got)
			}()
			if validPrefix(tc.rec, n) {
				if err != nil {
					t.Errorf("%s: %d-byte prefix (old client) failed: %v", tc.name, n, err)
				}
				continue
			}
			if err == nil {
				t.Errorf("%s: %d of %d bytes decoded without error", tc.name, n, len(b))
			} else if !errors.Is(err, ErrShortBuffer) && !errors.Is(err, ErrBadLength) {
				t.Errorf("%s: %d of %d bytes: unexpected error %v", tc.name, n, len(b), err)
			}
		}
	}
}

// allocBytes returns the bytes allocated by f, averaged over runs.
func allocBytes(runs int, f func()) uint64 {
	var before, after runtime.MemStats
	f() // warm up
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := 0; i < runs; i++ {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

func be32(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// A length or count of 0x7fffffff (or any impossible length) must fail at once,
// without allocating anything near its size.
func TestHugeLengthsFailFast(t *testing.T) {
	huge := be32(0x7fffffff)
	neg := be32(-2)
	pad := make([]byte, 64)
	str := func(s string) []byte { return append(be32(int32(len(s))), s...) }
	multiHdr := func(op OpCode) []byte { return cat(be32(int32(op)), []byte{0}, be32(-1)) }
	for _, tc := range []struct {
		name string
		rec  Record
		in   []byte
	}{
		{"string", &PathRequest{}, cat(huge, pad)},
		{"string/negative", &PathRequest{}, cat(neg, pad)},
		{"string/minInt", &PathRequest{}, cat(be32(-1<<31), pad)},
		{"buffer", &GetDataResponse{}, cat(huge, pad)},
		{"buffer/negative", &GetDataResponse{}, cat(neg, pad)},
		{"buffer/oneTooMany", &GetDataResponse{}, cat(be32(int32(len(pad)+1)), pad)},
		{"connect passwd", &ConnectRequest{}, cat(make([]byte, 24), huge, pad)},
		{"vector<ustring>", &GetChildrenResponse{}, cat(huge, pad)},
		{"vector<ustring>/negative", &GetChildrenResponse{}, cat(neg, pad)},
		{"vector<ustring>/count>bytes/4", &GetChildrenResponse{}, cat(be32(17), pad)},
		{"vector<ustring>/string", &GetChildrenResponse{}, cat(be32(1), huge, pad)},
		{"vector<ACL>", &SetACLRequest{}, cat(str("/a"), huge, pad)},
		{"vector<ACL>/negative", &SetACLRequest{}, cat(str("/a"), neg, pad)},
		{"vector<ACL>/scheme", &SetACLRequest{}, cat(str("/a"), be32(1), be32(31), huge, pad)},
		{"create data", &CreateRequest{}, cat(str("/a"), huge, pad)},
		{"vector<ClientInfo>", &WhoAmIResponse{}, cat(huge, pad)},
		{"vector<ClientInfo>/count>bytes/8", &WhoAmIResponse{}, cat(be32(9), pad)},
		{"setWatches", &SetWatches{}, cat(make([]byte, 8), be32(0), huge, pad)},
		{"setWatches2", &setWatches2{}, cat(make([]byte, 8), be32(0), be32(0), be32(0), be32(-1), huge, pad)},
		{"multi create data", &MultiRequest{}, cat(multiHdr(OpCreate), str("/a"), huge, pad)},
		{"multi setData data", &MultiRequest{}, cat(multiHdr(OpSetData), str("/a"), huge, pad)},
		{"multi path", &MultiRequest{}, cat(multiHdr(OpDelete), huge, pad)},
		{"multi result children", &MultiResponse{}, cat(multiHdr(OpGetChildren), huge, pad)},
		{"multi result data", &MultiResponse{}, cat(multiHdr(OpGetData), huge, pad)},
		{"multi result path", &MultiResponse{}, cat(multiHdr(OpCreate2), huge, pad)},
		{"auth", &AuthPacket{}, cat(be32(0), str("digest"), huge, pad)},
		{"reconfig", &ReconfigRequest{}, cat(str(""), huge, pad)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Unmarshal(tc.in, fresh(tc.rec))
			if !errors.Is(err, ErrBadLength) && !errors.Is(err, ErrShortBuffer) {
				t.Fatalf("err = %v, want a length error", err)
			}
			if n := allocBytes(20, func() { _ = Unmarshal(tc.in, fresh(tc.rec)) }); n > 4096 {
				t.Fatalf("failed decode allocated %d bytes", n)
			}
		})
	}
}

// A 1 MiB frame of 4-byte empty strings is the worst case for vector amplification:
// decoding must stay proportional to the input.
func TestVectorAllocationBounded(t *testing.T) {
	const n = 1 << 16
	in := be32(n)
	in = append(in, make([]byte, 4*n)...)
	var r GetChildrenResponse
	if err := Unmarshal(in, &r); err != nil || len(r.Children) != n {
		t.Fatalf("decode: %v, %d children", err, len(r.Children))
	}
	if got := allocBytes(3, func() { _ = Unmarshal(in, &GetChildrenResponse{}) }); got > uint64(8*len(in)) {
		t.Fatalf("decoding %d bytes allocated %d", len(in), got)
	}
}

func frameBytes(bodies ...[]byte) []byte {
	var out []byte
	for _, b := range bodies {
		out = append(out, be32(int32(len(b)))...)
		out = append(out, b...)
	}
	return out
}

func TestReadFrameLengths(t *testing.T) {
	const max = 1024
	body := bytes.Repeat([]byte{0xab}, max)
	for _, tc := range []struct {
		name    string
		in      []byte
		wantLen int
		wantErr error
	}{
		{"empty", frameBytes([]byte{}), 0, nil},
		{"small", frameBytes([]byte{1, 2, 3}), 3, nil},
		{"exactly max", frameBytes(body), max, nil},
		{"max+1", cat(be32(max+1), body, []byte{0}), 0, ErrFrameTooLarge},
		{"negative", cat(be32(-1), body), 0, ErrFrameTooLarge},
		{"minInt", cat(be32(-1<<31), body), 0, ErrFrameTooLarge},
		{"0x7fffffff", cat(be32(0x7fffffff), body), 0, ErrFrameTooLarge},
		{"EOF before header", nil, 0, io.EOF},
		{"EOF mid-header", []byte{0, 0}, 0, io.ErrUnexpectedEOF},
		{"EOF right after header", be32(5), 0, io.ErrUnexpectedEOF},
		{"EOF mid-body", cat(be32(5), []byte{1, 2}), 0, io.ErrUnexpectedEOF},
	} {
		for _, rd := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"plain", func(r io.Reader) io.Reader { return r }},
			{"onebyte", iotest.OneByteReader},
			{"half", iotest.HalfReader},
			{"dataerr", iotest.DataErrReader},
		} {
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				got, err := ReadFrame(rd.wrap(bytes.NewReader(tc.in)), max, nil)
				if tc.wantErr != nil {
					if !errors.Is(err, tc.wantErr) {
						t.Fatalf("err = %v, want %v", err, tc.wantErr)
					}
					if got != nil {
						t.Fatalf("returned %d bytes with an error", len(got))
					}
					return
				}
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if len(got) != tc.wantLen || !bytes.Equal(got, tc.in[4:]) {
					t.Fatalf("got %d bytes, want %d", len(got), tc.wantLen)
				}
			})
		}
	}
}

func TestReadFrameMaxBufferNoAlloc(t *testing.T) {
	in := cat(be32(0x7fffffff), make([]byte, 16))
	if n := allocBytes(20, func() { _, _ = ReadFrame(bytes.NewReader(in), DefaultMaxBuffer, nil) }); n > 4096 {
		t.Fatalf("rejected frame allocated %d bytes", n)
	}
	// jute.maxbuffer itself is accepted; one more is not.
	ok := cat(be32(DefaultMaxBuffer), make([]byte, DefaultMaxBuffer))
	if b, err := ReadFrame(bytes.NewReader(ok), DefaultMaxBuffer, nil); err != nil || len(b) != DefaultMaxBuffer {
		t.Fatalf("max frame: %d, %v", len(b), err)
	}
	over := cat(be32(DefaultMaxBuffer+1), make([]byte, DefaultMaxBuffer+1))
	if _, err := ReadFrame(bytes.NewReader(over), DefaultMaxBuffer, nil); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("max+1 frame: %v", err)
	}
}

func TestReadFrameSequenceSplitReads(t *testing.T) {
	bodies := [][]byte{{1}, {}, bytes.Repeat([]byte{2}, 300), Marshal(&ConnectRequest{Passwd: pw16()}), {3, 4}}
	stream := frameBytes(bodies...)
	for _, wrap := range []func(io.Reader) io.Reader{iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader,
		func(r io.Reader) io.Reader { return &chunkReader{r: r, sizes: []byte{3, 1, 7, 2}} }} {
		r := wrap(bytes.NewReader(stream))
		buf := make([]byte, 0, 512)
		for i, want := range bodies {
			got, err := ReadFrame(r, 1024, buf)
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("frame %d: got %x want %x", i, got, want)
			}
			if len(got) > 0 && &got[:1][0] != &buf[:1][0] {
				t.Fatalf("frame %d: buf with enough capacity was not reused", i)
			}
		}
		if _, err := ReadFrame(r, 1024, buf); err != io.EOF {
			t.Fatalf("after last frame: %v, want io.EOF", err)
		}
	}
}

func TestReadFrameReaderError(t *testing.T) {
	boom := errors.New("boom")
	if _, err := ReadFrame(iotest.ErrReader(boom), 10, nil); err != boom {
		t.Fatalf("header read error = %v", err)
	}
	r := io.MultiReader(bytes.NewReader(cat(be32(4), []byte{1})), iotest.ErrReader(boom))
	if _, err := ReadFrame(r, 10, nil); err != boom {
		t.Fatalf("body read error = %v", err)
	}
	r = iotest.TimeoutReader(bytes.NewReader(cat(be32(4), []byte{1, 2, 3, 4})))
	if _, err := ReadFrame(iotest.OneByteReader(r), 10, nil); err != iotest.ErrTimeout {
		t.Fatalf("timeout = %v", err)
	}
}

// chunkReader returns at most sizes[i] bytes from the i-th Read (cycling; a size of 0
// is read as 1), so a frame can be split at arbitrary points.
type chunkReader struct {
	r     io.Reader
	sizes []byte
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	n := 1
	if len(c.sizes) > 0 {
		n = int(c.sizes[c.i%len(c.sizes)])
		c.i++
		if n == 0 {
			n = 1
		}
	}
	if n > len(p) {
		n = len(p)
	}
	return c.r.Read(p[:n])
}

func TestFrameHelpers(t *testing.T) {
	e := NewEncoder([]byte{9, 9}) // frames can follow other bytes in the same buffer
	off := BeginFrame(e)
	e.Int(7)
	EndFrame(e, off)
	if off != 2 || !bytes.Equal(e.Bytes(), []byte{9, 9, 0, 0, 0, 4, 0, 0, 0, 7}) {
		t.Fatalf("frame = %x (off %d)", e.Bytes(), off)
	}
	if FrameLength(e.Bytes()[2:]) != 4 {
		t.Fatal("FrameLength")
	}
}
