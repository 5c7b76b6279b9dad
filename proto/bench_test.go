package proto

import (
	"bytes"
	"testing"
)

// BenchmarkGetDataRequest decodes a getData request frame body (header + body) and
// encodes it again, as a server's read path and a client's write path do.
func BenchmarkGetDataRequest(b *testing.B) {
	in := headerPlus(&RequestHeader{Xid: 7, Type: OpGetData}, &PathWatchRequest{Path: "/app/config/service-a", Watch: true})
	e := NewEncoder(make([]byte, 0, 256))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		d := NewDecoder(in)
		var h RequestHeader
		var r PathWatchRequest
		h.Decode(d)
		r.Decode(d)
		if d.Err() != nil {
			b.Fatal(d.Err())
		}
		e.Reset()
		h.Encode(e)
		r.Encode(e)
	}
	if !bytes.Equal(e.Bytes(), in) {
		b.Fatal("mismatch")
	}
}

// BenchmarkGetDataResponse encodes a getData reply frame (1 KiB of data) and decodes it.
func BenchmarkGetDataResponse(b *testing.B) {
	resp := GetDataResponse{Data: bytes.Repeat([]byte{'x'}, 1024), Stat: testStat()}
	hdr := ReplyHeader{Xid: 7, Zxid: 0x100000042}
	e := NewEncoder(make([]byte, 0, 2048))
	AppendReply(e, hdr, &resp)
	b.SetBytes(int64(e.Len()))
	b.ReportAllocs()
	for b.Loop() {
		e.Reset()
		AppendReply(e, hdr, &resp)
		d := NewDecoder(e.Bytes()[4:])
		var h ReplyHeader
		var r GetDataResponse
		h.Decode(d)
		r.Decode(d)
		if d.Err() != nil {
			b.Fatal(d.Err())
		}
	}
}

// BenchmarkCreateRequest decodes a create request (header + body with data and an ACL)
// and encodes it again.
func BenchmarkCreateRequest(b *testing.B) {
	in := headerPlus(&RequestHeader{Xid: 9, Type: OpCreate}, &CreateRequest{Path: "/locks/lock-", Data: []byte("10.0.0.1"),
		ACL: worldAll, Flags: ModeEphemeralSequential})
	e := NewEncoder(make([]byte, 0, 256))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		d := NewDecoder(in)
		var h RequestHeader
		var r CreateRequest
		h.Decode(d)
		r.Decode(d)
		if d.Err() != nil {
			b.Fatal(d.Err())
		}
		e.Reset()
		h.Encode(e)
		r.Encode(e)
	}
	if !bytes.Equal(e.Bytes(), in) {
		b.Fatal("mismatch")
	}
}

// BenchmarkMultiRequest decodes and encodes a multi of every op type.
func BenchmarkMultiRequest(b *testing.B) {
	in := Marshal(&MultiRequest{Ops: allMultiOps()})
	e := NewEncoder(make([]byte, 0, 1024))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var r MultiRequest
		d := NewDecoder(in)
		r.Decode(d)
		if d.Err() != nil {
			b.Fatal(d.Err())
		}
		e.Reset()
		r.Encode(e)
	}
}
