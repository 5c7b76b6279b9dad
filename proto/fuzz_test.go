package proto

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// Fuzz targets (run one with: go test -run=XXX -fuzz=FuzzRequest -fuzztime=10s ./proto/):
//
//	FuzzConnectRequest FuzzConnectResponse FuzzRequest FuzzReply
//	FuzzMultiRequest FuzzMultiResponse FuzzRecord FuzzReadFrame
//
// Every target asserts that decoding never panics and, when it succeeds, that the
// decoded value re-encodes to exactly as many bytes as were consumed and that
// encode→decode→encode is a fixed point.

// checkStable decodes data into a new record from mk and, if that succeeds, checks
// that re-encoding is canonical and stable. It returns the decoded record or nil.
func checkStable(t *testing.T, mk func() Record, data []byte) Record {
	t.Helper()
	r1 := mk()
	d := NewDecoder(data)
	r1.Decode(d)
	if d.Err() != nil {
		if d.Offset() > len(data) {
			t.Fatalf("decoder offset %d past input %d", d.Offset(), len(data))
		}
		return nil
	}
	b1 := Marshal(r1)
	if len(b1) != d.Offset() {
		t.Fatalf("%T: consumed %d bytes but re-encodes to %d\n in  %x\n out %x", r1, d.Offset(), len(b1), data[:d.Offset()], b1)
	}
	r2 := mk()
	d2 := NewDecoder(b1)
	r2.Decode(d2)
	if d2.Err() != nil {
		t.Fatalf("%T: re-encoding does not decode: %v\n %x", r1, d2.Err(), b1)
	}
	if d2.Remaining() != 0 {
		t.Fatalf("%T: re-encoding has %d bytes left over", r1, d2.Remaining())
	}
	if !reflect.DeepEqual(r1, r2) {
		t.Fatalf("%T: decode is not stable:\n first  %#v\n second %#v", r1, r1, r2)
	}
	if b2 := Marshal(r2); !bytes.Equal(b1, b2) {
		t.Fatalf("%T: encode is not stable:\n %x\n %x", r1, b1, b2)
	}
	return r1
}

func seedAll(f *testing.F, add func(Record)) {
	for _, tc := range allRecords() {
		add(tc.rec)
	}
}

func FuzzConnectRequest(f *testing.F) {
	seedAll(f, func(r Record) {
		if _, ok := r.(*ConnectRequest); ok {
			f.Add(Marshal(r))
		}
	})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := checkStable(t, func() Record { return &ConnectRequest{} }, data)
		if r == nil {
			return
		}
		c := r.(*ConnectRequest)
		// The body is 44 bytes + passwd for an old client, one more for a new one.
		want := 4 + 8 + 4 + 8 + 4 + len(c.Passwd)
		if !c.OldClient {
			want++
		}
		if len(data) < want || (c.OldClient && len(data) != want) {
			t.Fatalf("OldClient=%v for %d bytes with a %d-byte passwd", c.OldClient, len(data), len(c.Passwd))
		}
	})
}

func FuzzConnectResponse(f *testing.F) {
	seedAll(f, func(r Record) {
		if _, ok := r.(*ConnectResponse); ok {
			f.Add(Marshal(r))
		}
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		checkStable(t, func() Record { return &ConnectResponse{} }, data)
	})
}

// requestBody returns the record a request of type op carries, as the server decodes
// it, or nil for an op with no known body.
func requestBody(op OpCode) Record {
	switch op {
	case OpCreate, OpCreate2, OpCreateContainer:
		return &CreateRequest{}
	case OpCreateTTL:
		return &ttlCreate{}
	case OpDelete, OpCheck:
		return &DeleteRequest{}
	case OpExists, OpGetData, OpGetChildren, OpGetChildren2:
		return &PathWatchRequest{}
	case OpSetData:
		return &SetDataRequest{}
	case OpGetACL, OpSync, OpGetAllChildrenNum, OpGetEphemerals, OpDeleteContainer:
		return &PathRequest{}
	case OpSetACL:
		return &SetACLRequest{}
	case OpMulti, OpMultiRead:
		return &MultiRequest{}
	case OpReconfig:
		return &ReconfigRequest{}
	case OpCheckWatches, OpRemoveWatches, OpAddWatch:
		return &WatchTypeRequest{}
	case OpAuth:
		return &AuthPacket{}
	case OpSetWatches:
		return &SetWatches{}
	case OpSetWatches2:
		return &setWatches2{}
	case OpPing, OpCloseSession, OpWhoAmI:
		return &Empty{}
	}
	return nil
}

// replyBody returns the record a successful reply to op carries.
func replyBody(op OpCode) Record {
	switch op {
	case OpCreate, OpSync:
		return &CreateResponse{}
	case OpCreate2, OpCreateContainer, OpCreateTTL:
		return &Create2Response{}
	case OpExists, OpSetData, OpSetACL:
		return &StatResponse{}
	case OpGetData, OpReconfig:
		return &GetDataResponse{}
	case OpGetACL:
		return &GetACLResponse{}
	case OpGetChildren:
		return &GetChildrenResponse{}
	case OpGetChildren2:
		return &GetChildren2Response{}
	case OpMulti, OpMultiRead:
		return &MultiResponse{}
	case OpGetAllChildrenNum, OpAddWatch:
		return &IntResponse{}
	case OpGetEphemerals:
		return &StringsResponse{}
	case OpWhoAmI:
		return &WhoAmIResponse{}
	}
	return &Empty{}
}

var allOps = []OpCode{OpNotification, OpCreate, OpDelete, OpExists, OpGetData, OpSetData, OpGetACL, OpSetACL,
	OpGetChildren, OpSync, OpPing, OpGetChildren2, OpCheck, OpMulti, OpCreate2, OpReconfig, OpCheckWatches,
	OpRemoveWatches, OpCreateContainer, OpDeleteContainer, OpCreateTTL, OpMultiRead, OpAuth, OpSetWatches,
	OpSASL, OpGetEphemerals, OpGetAllChildrenNum, OpSetWatches2, OpAddWatch, OpWhoAmI, OpCreateSession,
	OpCloseSession}

// headerPlus encodes a header followed by a body record.
func headerPlus(h Record, body Record) []byte {
	e := NewEncoder(nil)
	h.Encode(e)
	if body != nil {
		body.Encode(e)
	}
	return e.Bytes()
}

func FuzzRequest(f *testing.F) {
	for _, tc := range allRecords() {
		for _, op := range allOps {
			if b := requestBody(op); b != nil && reflect.TypeOf(b) == reflect.TypeOf(tc.rec) {
				f.Add(headerPlus(&RequestHeader{Xid: 1, Type: op}, tc.rec))
			}
		}
	}
	f.Add(headerPlus(&RequestHeader{Xid: XidPing, Type: OpPing}, nil))
	f.Add(headerPlus(&RequestHeader{Xid: 5, Type: 10}, &PathRequest{Path: "/x"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		var h RequestHeader
		d := NewDecoder(data)
		h.Decode(d)
		if d.Err() != nil {
			if len(data) >= 8 {
				t.Fatalf("header of %d bytes failed: %v", len(data), d.Err())
			}
			return
		}
		if got := Marshal(&h); !bytes.Equal(got, data[:8]) {
			t.Fatalf("RequestHeader re-encodes as %x, read %x", got, data[:8])
		}
		body := requestBody(h.Type)
		if body == nil {
			return
		}
		checkStable(t, func() Record { return fresh(body) }, data[8:])
	})
}

func FuzzReply(f *testing.F) {
	for _, tc := range allRecords() {
		for _, op := range allOps {
			if reflect.TypeOf(replyBody(op)) == reflect.TypeOf(tc.rec) {
				f.Add(int32(op), headerPlus(&ReplyHeader{Xid: 1, Zxid: 2}, tc.rec))
			}
		}
	}
	f.Add(int32(OpNotification), headerPlus(&ReplyHeader{Xid: -1, Zxid: -1}, &WatcherEvent{Type: 1, State: 3, Path: "/a"}))
	f.Add(int32(OpGetData), headerPlus(&ReplyHeader{Xid: 4, Zxid: 2, Err: ErrNoNode}, nil))
	f.Fuzz(func(t *testing.T, op int32, data []byte) {
		var h ReplyHeader
		d := NewDecoder(data)
		h.Decode(d)
		if d.Err() != nil {
			return
		}
		if got := Marshal(&h); !bytes.Equal(got, data[:16]) {
			t.Fatalf("ReplyHeader re-encodes as %x, read %x", got, data[:16])
		}
		var body Record
		switch {
		case h.Xid == XidNotification:
			body = &WatcherEvent{}
		case h.Err != ErrOK:
			return // header-only on error
		default:
			body = replyBody(OpCode(op))
		}
		checkStable(t, func() Record { return fresh(body) }, data[16:])
	})
}

func FuzzMultiRequest(f *testing.F) {
	f.Add(Marshal(&MultiRequest{Ops: allMultiOps()}))
	f.Add(Marshal(&MultiRequest{}))
	for _, op := range allMultiOps() {
		f.Add(Marshal(&MultiRequest{Ops: []MultiOp{op}}))
	}
	if g, err := loadGoldenFile(); err == nil {
		f.Add(g["multi_request"])
		f.Add(g["multi_read_request"])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := checkStable(t, func() Record { return &MultiRequest{} }, data)
		if r == nil {
			return
		}
		for _, op := range r.(*MultiRequest).Ops {
			_ = op.Path()
			if requestBody(op.Type) == nil {
				t.Fatalf("decoded op type %v", op.Type)
			}
		}
	})
}

func FuzzMultiResponse(f *testing.F) {
	f.Add(Marshal(&MultiResponse{Results: allMultiResults()}))
	f.Add(Marshal(&MultiResponse{}))
	for _, res := range allMultiResults() {
		f.Add(Marshal(&MultiResponse{Results: []MultiResult{res}}))
	}
	if g, err := loadGoldenFile(); err == nil {
		f.Add(g["multi_response"])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := checkStable(t, func() Record { return &MultiResponse{} }, data)
		if r == nil {
			return
		}
		for _, res := range r.(*MultiResponse).Results {
			if res.Type != OpError && res.Err != ErrOK {
				t.Fatalf("non-error result %v with err %v", res.Type, res.Err)
			}
		}
	})
}

// recordKinds is one record of each distinct type in allRecords.
func recordKinds() []Record {
	var out []Record
	seen := map[reflect.Type]bool{}
	for _, tc := range allRecords() {
		if typ := reflect.TypeOf(tc.rec); !seen[typ] {
			seen[typ] = true
			out = append(out, tc.rec)
		}
	}
	return out
}

// FuzzRecord decodes data as any record type (kind picks which).
func FuzzRecord(f *testing.F) {
	kinds := recordKinds()
	index := map[reflect.Type]uint8{}
	for i, k := range kinds {
		index[reflect.TypeOf(k)] = uint8(i)
	}
	for _, tc := range allRecords() {
		f.Add(index[reflect.TypeOf(tc.rec)], Marshal(tc.rec))
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		k := kinds[int(kind)%len(kinds)]
		checkStable(t, func() Record { return fresh(k) }, data)
	})
}

// FuzzReadFrame reads frames from data through a reader that returns the fuzzer's
// chunk sizes, and checks that the result matches reading it in one piece.
func FuzzReadFrame(f *testing.F) {
	f.Add(frameBytes([]byte{1, 2, 3}, []byte{}, Marshal(&ConnectRequest{Passwd: pw16()})), []byte{1, 3, 2}, uint16(100))
	f.Add(cat(be32(-1), []byte{1, 2}), []byte{2}, uint16(10))
	f.Add(cat(be32(0x7fffffff), []byte{1, 2}), []byte{}, uint16(0xffff))
	f.Add(cat(be32(8), []byte{1, 2}), []byte{1}, uint16(8))
	f.Add([]byte{0, 0}, []byte{1}, uint16(8))
	f.Add(frameBytes(bytes.Repeat([]byte{7}, 64)), []byte{5, 0, 9}, uint16(64))
	f.Fuzz(func(t *testing.T, data, splits []byte, max uint16) {
		type result struct {
			frames [][]byte
			err    error
		}
		read := func(r io.Reader) result {
			var res result
			for i := 0; i <= len(data); i++ { // each frame consumes at least 4 bytes
				fr, err := ReadFrame(r, int(max), nil)
				if err != nil {
					res.err = err
					return res
				}
				if len(fr) > int(max) {
					t.Fatalf("frame of %d bytes with max %d", len(fr), max)
				}
				res.frames = append(res.frames, append([]byte{}, fr...))
			}
			t.Fatal("ReadFrame did not stop")
			return res
		}
		whole := read(bytes.NewReader(data))
		split := read(&chunkReader{r: bytes.NewReader(data), sizes: splits})
		if len(whole.frames) != len(split.frames) {
			t.Fatalf("%d frames whole, %d split", len(whole.frames), len(split.frames))
		}
		var consumed []byte
		for i := range whole.frames {
			if !bytes.Equal(whole.frames[i], split.frames[i]) {
				t.Fatalf("frame %d differs", i)
			}
			consumed = append(consumed, frameBytes(whole.frames[i])...)
		}
		if !bytes.HasPrefix(data, consumed) {
			t.Fatal("frames are not a prefix of the input")
		}
		kind := func(err error) error {
			for _, k := range []error{io.ErrUnexpectedEOF, ErrFrameTooLarge, io.EOF} {
				if errors.Is(err, k) {
					return k
				}
			}
			t.Fatalf("unexpected error %v", err)
			return nil
		}
		kw, ks := kind(whole.err), kind(split.err)
		if kw != ks {
			t.Fatalf("whole ended with %v, split with %v", whole.err, split.err)
		}
		rest := len(data) - len(consumed)
		switch {
		case rest == 0 && kw != io.EOF,
			rest > 0 && rest < 4 && kw != io.ErrUnexpectedEOF:
			t.Fatalf("%d bytes left, error %v", rest, whole.err)
		}
	})
}
