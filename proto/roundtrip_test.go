package proto

import (
	"bytes"
	"reflect"
	"testing"
)

func TestRoundTripAllRecords(t *testing.T) {
	for _, tc := range allRecords() {
		t.Run(tc.name, func(t *testing.T) {
			b := Marshal(tc.rec)
			if tc.size >= 0 && len(b) != tc.size {
				t.Fatalf("encoded %d bytes, want %d: %x", len(b), tc.size, b)
			}
			got := fresh(tc.rec)
			d := NewDecoder(b)
			got.Decode(d)
			if err := d.Err(); err != nil {
				t.Fatalf("decode: %v (bytes %x)", err, b)
			}
			if d.Remaining() != 0 {
				t.Fatalf("decode left %d bytes unread", d.Remaining())
			}
			if !reflect.DeepEqual(got, tc.rec) {
				t.Fatalf("round trip mismatch:\n got  %#v\n want %#v", got, tc.rec)
			}
			// Encoding is deterministic and the re-encoding is byte-identical.
			if b2 := Marshal(got); !bytes.Equal(b, b2) {
				t.Fatalf("re-encoding differs:\n %x\n %x", b, b2)
			}
			// Unmarshal agrees and tolerates trailing bytes.
			got2 := fresh(tc.rec)
			if err := Unmarshal(append(append([]byte{}, b...), 0xde, 0xad), got2); err != nil {
				t.Fatalf("Unmarshal with trailing bytes: %v", err)
			}
		})
	}
}

// Null and empty buffers are different on the wire (-1 vs 0) and must stay different.
func TestNullVersusEmptyBuffer(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		wire []byte
	}{
		{nil, []byte{0xff, 0xff, 0xff, 0xff}},
		{[]byte{}, []byte{0, 0, 0, 0}},
		{[]byte{7}, []byte{0, 0, 0, 1, 7}},
	} {
		e := NewEncoder(nil)
		e.Buffer(tc.in)
		if !bytes.Equal(e.Bytes(), tc.wire) {
			t.Fatalf("Buffer(%#v) = %x, want %x", tc.in, e.Bytes(), tc.wire)
		}
		d := NewDecoder(tc.wire)
		got := d.Buffer()
		if d.Err() != nil {
			t.Fatal(d.Err())
		}
		if (got == nil) != (tc.in == nil) || !bytes.Equal(got, tc.in) {
			t.Fatalf("Buffer decode of %x = %#v, want %#v", tc.wire, got, tc.in)
		}
	}
	// The decoded buffer is a copy: mutating the input afterwards must not change it.
	wire := []byte{0, 0, 0, 2, 'a', 'b'}
	d := NewDecoder(wire)
	got := d.Buffer()
	wire[4] = 'z'
	if string(got) != "ab" {
		t.Fatalf("Buffer aliases its input: %q", got)
	}
}

func TestNullVersusEmptyStrings(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		wire []byte
	}{
		{nil, []byte{0xff, 0xff, 0xff, 0xff}},
		{[]string{}, []byte{0, 0, 0, 0}},
		{[]string{""}, []byte{0, 0, 0, 1, 0, 0, 0, 0}},
	} {
		e := NewEncoder(nil)
		e.Strings(tc.in)
		if !bytes.Equal(e.Bytes(), tc.wire) {
			t.Fatalf("Strings(%#v) = %x, want %x", tc.in, e.Bytes(), tc.wire)
		}
		d := NewDecoder(tc.wire)
		got := d.Strings()
		if d.Err() != nil {
			t.Fatal(d.Err())
		}
		if !reflect.DeepEqual(got, tc.in) {
			t.Fatalf("Strings decode of %x = %#v, want %#v", tc.wire, got, tc.in)
		}
	}
	// A null ustring (-1) is accepted and reads as "".
	d := NewDecoder([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1})
	if s := d.String(); s != "" || d.Err() != nil {
		t.Fatalf("null string = %q, %v", s, d.Err())
	}
	if v := d.Int(); v != 1 {
		t.Fatalf("after null string, Int = %d", v)
	}
}

func TestConnectRequestReadOnlyByte(t *testing.T) {
	base := ConnectRequest{ProtocolVersion: 0, LastZxidSeen: 0x10, TimeOut: 30000, SessionID: 0x0100000000000001, Passwd: pw16()}
	newer := base
	newer.ReadOnly = true
	b := Marshal(&newer)
	if len(b) != 45 {
		t.Fatalf("new-client ConnectRequest body = %d bytes, want 45", len(b))
	}
	old := base
	old.OldClient = true
	ob := Marshal(&old)
	if len(ob) != 44 {
		t.Fatalf("old-client ConnectRequest body = %d bytes, want 44", len(ob))
	}
	if !bytes.Equal(ob, b[:44]) || b[44] != 1 {
		t.Fatalf("old encoding is not a prefix of the new one:\n%x\n%x", ob, b)
	}

	var got ConnectRequest
	if err := Unmarshal(ob, &got); err != nil {
		t.Fatal(err)
	}
	if !got.OldClient || got.ReadOnly {
		t.Fatalf("44-byte body: OldClient=%v ReadOnly=%v, want true,false", got.OldClient, got.ReadOnly)
	}
	got = ConnectRequest{}
	if err := Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.OldClient || !got.ReadOnly {
		t.Fatalf("45-byte body: OldClient=%v ReadOnly=%v, want false,true", got.OldClient, got.ReadOnly)
	}
	// Decoding into a reused value must not keep stale flags from an earlier decode.
	reused := ConnectRequest{}
	if err := Unmarshal(ob, &reused); err != nil {
		t.Fatal(err)
	}
	if err := Unmarshal(b, &reused); err != nil {
		t.Fatal(err)
	}
	if reused.OldClient || !reused.ReadOnly {
		t.Fatalf("reused after old then new: OldClient=%v ReadOnly=%v", reused.OldClient, reused.ReadOnly)
	}
	if err := Unmarshal(ob, &reused); err != nil {
		t.Fatal(err)
	}
	if !reused.OldClient || reused.ReadOnly {
		t.Fatalf("reused after new then old: OldClient=%v ReadOnly=%v", reused.OldClient, reused.ReadOnly)
	}
	// 43 bytes is truncated, not old.
	if err := Unmarshal(ob[:43], &ConnectRequest{}); err == nil {
		t.Fatal("43-byte ConnectRequest decoded")
	}
}

func TestConnectResponseReadOnlyByte(t *testing.T) {
	r := ConnectResponse{TimeOut: 4000, SessionID: 5, Passwd: pw16(), ReadOnly: true}
	b := Marshal(&r)
	if len(b) != 37 {
		t.Fatalf("ConnectResponse body = %d bytes, want 37", len(b))
	}
	r.OldClient = true
	ob := Marshal(&r)
	if len(ob) != 36 || !bytes.Equal(ob, b[:36]) {
		t.Fatalf("old ConnectResponse = %d bytes %x", len(ob), ob)
	}
	var got ConnectResponse
	if err := Unmarshal(ob, &got); err != nil || !got.OldClient || got.ReadOnly {
		t.Fatalf("36-byte response: %+v, %v", got, err)
	}
	got = ConnectResponse{}
	if err := Unmarshal(b, &got); err != nil || got.OldClient || !got.ReadOnly {
		t.Fatalf("37-byte response: %+v, %v", got, err)
	}
	reused := ConnectResponse{}
	_ = Unmarshal(ob, &reused)
	if err := Unmarshal(b, &reused); err != nil || reused.OldClient || !reused.ReadOnly {
		t.Fatalf("reused response: %+v, %v", reused, err)
	}
}

func TestCreateTTL(t *testing.T) {
	r := CreateRequest{Path: "/ttl", Data: []byte("x"), ACL: worldAll, Flags: ModePersistentWithTTL, TTL: 123456}
	e := NewEncoder(nil)
	r.EncodeTTL(e)
	ttlBytes := e.Bytes()
	plain := Marshal(&r)
	if len(ttlBytes) != len(plain)+8 || !bytes.Equal(ttlBytes[:len(plain)], plain) {
		t.Fatalf("EncodeTTL is not Encode + long:\n%x\n%x", ttlBytes, plain)
	}
	var got CreateRequest
	d := NewDecoder(ttlBytes)
	got.DecodeTTL(d)
	if d.Err() != nil || d.Remaining() != 0 || !reflect.DeepEqual(got, r) {
		t.Fatalf("DecodeTTL = %+v, %v, %d left", got, d.Err(), d.Remaining())
	}
	// Plain Decode sets TTL to -1 (what create sends implicitly) and ignores a TTL.
	got = CreateRequest{TTL: 99}
	d = NewDecoder(ttlBytes)
	got.Decode(d)
	if d.Err() != nil || got.TTL != -1 || d.Remaining() != 8 {
		t.Fatalf("Decode of createTTL body: TTL=%d err=%v left=%d", got.TTL, d.Err(), d.Remaining())
	}
	// DecodeTTL of a plain create body is truncated.
	d = NewDecoder(plain)
	got.DecodeTTL(d)
	if d.Err() == nil {
		t.Fatal("DecodeTTL accepted a body without ttl")
	}
}

func TestSetWatchesVersusSetWatches2(t *testing.T) {
	sw := SetWatches{RelativeZxid: 77, DataWatches: []string{"/d"}, ExistWatches: []string{"/e"}, ChildWatches: []string{"/c"},
		PersistentWatches: []string{"/p"}, PersistentRecursiveWatches: []string{"/r"}}
	e := NewEncoder(nil)
	sw.Encode(e)
	v1 := append([]byte{}, e.Bytes()...)
	e.Reset()
	sw.Encode2(e)
	v2 := e.Bytes()
	if !bytes.Equal(v2[:len(v1)], v1) || len(v2) != len(v1)+2*(4+4+2) {
		t.Fatalf("SetWatches2 is not SetWatches + 2 vectors:\n%x\n%x", v1, v2)
	}
	var got SetWatches
	d := NewDecoder(v1)
	got.Decode(d)
	if d.Err() != nil || got.PersistentWatches != nil || got.PersistentRecursiveWatches != nil ||
		!reflect.DeepEqual(got.ChildWatches, []string{"/c"}) {
		t.Fatalf("Decode(setWatches) = %+v, %v", got, d.Err())
	}
	got = SetWatches{}
	d = NewDecoder(v2)
	got.Decode2(d)
	if d.Err() != nil || d.Remaining() != 0 || !reflect.DeepEqual(got, sw) {
		t.Fatalf("Decode2(setWatches2) = %+v, %v", got, d.Err())
	}
	// A setWatches (101) body decoded as setWatches2 is truncated.
	d = NewDecoder(v1)
	(&SetWatches{}).Decode2(d)
	if d.Err() == nil {
		t.Fatal("Decode2 accepted a SetWatches body")
	}
}

func TestMultiRequestAllOps(t *testing.T) {
	r := MultiRequest{Ops: allMultiOps()}
	b := Marshal(&r)
	// Terminator: MultiHeader{-1, true, -1}.
	if term := b[len(b)-9:]; !bytes.Equal(term, []byte{0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff}) {
		t.Fatalf("terminator = %x", term)
	}
	var got MultiRequest
	if err := Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("multi round trip:\n got  %+v\n want %+v", got, r)
	}
	for i, op := range got.Ops {
		want := []string{"/c", "/c2", "/ct", "/t", "/d", "/k", "/s", "/s", "/h", "/g"}[i]
		if op.Path() != want {
			t.Errorf("op %d (%v) Path() = %q, want %q", i, op.Type, op.Path(), want)
		}
	}
	// Without the terminator the record is truncated.
	if err := Unmarshal(b[:len(b)-9], &MultiRequest{}); err == nil {
		t.Fatal("multi without terminator decoded")
	}
	// Bytes after the terminator are left unread.
	d := NewDecoder(append(append([]byte{}, b...), 1, 2, 3))
	got.Decode(d)
	if d.Err() != nil || d.Remaining() != 3 {
		t.Fatalf("trailing bytes: err=%v remaining=%d", d.Err(), d.Remaining())
	}
	// Decoding into a value that already has ops replaces them.
	got = MultiRequest{Ops: allMultiOps()}
	if err := Unmarshal(Marshal(&MultiRequest{}), &got); err != nil || got.Ops != nil {
		t.Fatalf("empty multi into used value: %+v, %v", got, err)
	}
}

func TestMultiRequestRejectsBadOp(t *testing.T) {
	for _, typ := range []OpCode{OpSetACL, OpGetACL, OpExists, OpMulti, OpPing, OpError, 999} {
		e := NewEncoder(nil)
		e.Int(int32(typ))
		e.Bool(false)
		e.Int(-1)
		e.String("/x")
		e.Int(-1)
		e.Bool(true)
		e.Int(-1)
		if err := Unmarshal(e.Bytes(), &MultiRequest{}); err == nil {
			t.Errorf("op %v accepted in multi", typ)
		}
	}
}

func TestMultiResponseAllResults(t *testing.T) {
	r := MultiResponse{Results: allMultiResults()}
	b := Marshal(&r)
	var got MultiResponse
	if err := Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("multi response round trip:\n got  %+v\n want %+v", got, r)
	}
	// Error results carry the code both in the MultiHeader and in the ErrorResponse body.
	e := NewEncoder(nil)
	(&MultiResponse{Results: []MultiResult{{Type: OpError, Err: ErrNoNode}}}).Encode(e)
	want := []byte{
		0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0x9b, // {-1, false, -101}
		0xff, 0xff, 0xff, 0x9b, // ErrorResponse{-101}
		0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff, // terminator
	}
	if !bytes.Equal(e.Bytes(), want) {
		t.Fatalf("error result = %x, want %x", e.Bytes(), want)
	}
	// Non-error results carry err 0 in their header.
	e.Reset()
	(&MultiResponse{Results: []MultiResult{{Type: OpDelete}}}).Encode(e)
	if !bytes.Equal(e.Bytes()[:9], []byte{0, 0, 0, 2, 0, 0, 0, 0, 0}) {
		t.Fatalf("delete result header = %x", e.Bytes()[:9])
	}
	// An unknown result type is an error.
	e.Reset()
	e.Int(int32(OpSetACL))
	e.Bool(false)
	e.Int(0)
	e.Int(-1)
	e.Bool(true)
	e.Int(-1)
	if err := Unmarshal(e.Bytes(), &MultiResponse{}); err == nil {
		t.Fatal("setACL result accepted")
	}
}

func TestWhoAmIResponse(t *testing.T) {
	r := WhoAmIResponse{Clients: []ID{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: "u"}}}
	b := Marshal(&r)
	got := WhoAmIResponse{Clients: []ID{{"stale", "x"}}}
	if err := Unmarshal(b, &got); err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("whoAmI = %+v, %v", got, err)
	}
	// A null vector (-1) decodes as no clients.
	got = WhoAmIResponse{Clients: []ID{{"stale", "x"}}}
	if err := Unmarshal([]byte{0xff, 0xff, 0xff, 0xff}, &got); err != nil || got.Clients != nil {
		t.Fatalf("null whoAmI = %+v, %v", got, err)
	}
}

func TestMarshalHelpers(t *testing.T) {
	e := NewEncoder(make([]byte, 0, 8))
	e.Raw([]byte{1, 2})
	if e.Len() != 2 {
		t.Fatal(e.Len())
	}
	e.Reset()
	if e.Len() != 0 {
		t.Fatal(e.Len())
	}
	d := NewDecoder([]byte{0, 0, 0, 5, 9, 8, 7})
	if d.Int() != 5 || d.Offset() != 4 || d.Remaining() != 3 {
		t.Fatal("offsets")
	}
	if rest := d.Rest(); !bytes.Equal(rest, []byte{9, 8, 7}) || d.Remaining() != 0 {
		t.Fatalf("Rest = %x", rest)
	}
	if !reflect.DeepEqual(WorldACL(PermRead), []ACL{{Perms: PermRead, ID: ID{"world", "anyone"}}}) {
		t.Fatal("WorldACL")
	}
}

func TestStringers(t *testing.T) {
	if OpGetData.String() != "getData" || OpCode(10).String() != "op(10)" {
		t.Fatal(OpGetData.String(), OpCode(10).String())
	}
	if ErrNoNode.String() != "node does not exist" || Code(-126).String() != "code(-126)" {
		t.Fatal(ErrNoNode.String())
	}
	if ErrNoNode.Error() != "zk: node does not exist (-101)" {
		t.Fatal(ErrNoNode.Error())
	}
}
