package proto

import (
	"reflect"
)

// Test-only adapters that turn the non-Record encodings (createTTL, setWatches2,
// vector<ACL>) into Records, so that every wire shape goes through the same tables.

// ttlCreate is a CreateTTLRequest (createTTL, 21).
type ttlCreate struct{ CreateRequest }

func (r *ttlCreate) Encode(e *Encoder) { r.CreateRequest.EncodeTTL(e) }
func (r *ttlCreate) Decode(d *Decoder) { r.CreateRequest.DecodeTTL(d) }

// setWatches2 is a SetWatches2 record (105).
type setWatches2 struct{ SetWatches }

func (r *setWatches2) Encode(e *Encoder) { r.SetWatches.Encode2(e) }
func (r *setWatches2) Decode(d *Decoder) { r.SetWatches.Decode2(d) }

// aclVector is a bare vector<ACL>.
type aclVector struct{ ACL []ACL }

func (r *aclVector) Encode(e *Encoder) { EncodeACLs(e, r.ACL) }
func (r *aclVector) Decode(d *Decoder) { r.ACL = DecodeACLs(d) }

// fresh returns a new zero value of r's dynamic type.
func fresh(r Record) Record {
	return reflect.New(reflect.TypeOf(r).Elem()).Interface().(Record)
}

func testStat() Stat {
	return Stat{Czxid: 1, Mzxid: 2, Ctime: 3, Mtime: 4, Version: 5, Cversion: 6, Aversion: 7,
		EphemeralOwner: 0x0102030405060708, DataLength: 9, NumChildren: 10, Pzxid: 11}
}

func bigStat() Stat {
	return Stat{Czxid: -1, Mzxid: 1<<63 - 1, Ctime: -1 << 63, Mtime: 1700000000000, Version: -1,
		Cversion: 1<<31 - 1, Aversion: -1 << 31, EphemeralOwner: ContainerOwner, DataLength: 1 << 20,
		NumChildren: 0, Pzxid: 0x7fffffff00000001}
}

func pw16() []byte {
	p := make([]byte, 16)
	for i := range p {
		p[i] = byte(i)
	}
	return p
}

var worldAll = []ACL{{Perms: PermAll, ID: ID{Scheme: "world", ID: "anyone"}}}

type recordCase struct {
	name string
	rec  Record
	// size is the expected encoded length, or -1 to skip the check.
	size int
}

// allMultiOps has one op of every type a multi or multiRead can carry. Create ops that
// are not createTTL decode with TTL -1.
func allMultiOps() []MultiOp {
	return []MultiOp{
		{Type: OpCreate, Create: CreateRequest{Path: "/c", Data: []byte("d"), ACL: worldAll, Flags: ModePersistentSequential, TTL: -1}},
		{Type: OpCreate2, Create: CreateRequest{Path: "/c2", Data: []byte{}, ACL: worldAll, Flags: ModeEphemeral, TTL: -1}},
		{Type: OpCreateContainer, Create: CreateRequest{Path: "/ct", Data: nil, ACL: worldAll, Flags: ModeContainer, TTL: -1}},
		{Type: OpCreateTTL, Create: CreateRequest{Path: "/t", Data: []byte("x"), ACL: worldAll, Flags: ModePersistentWithTTL, TTL: 60000}},
		{Type: OpDelete, Delete: DeleteRequest{Path: "/d", Version: 3}},
		{Type: OpCheck, Delete: DeleteRequest{Path: "/k", Version: -1}},
		{Type: OpSetData, SetData: SetDataRequest{Path: "/s", Data: []byte("v"), Version: -1}},
		{Type: OpSetData, SetData: SetDataRequest{Path: "/s", Data: nil, Version: 2}},
		{Type: OpGetChildren, Read: PathWatchRequest{Path: "/h"}},
		{Type: OpGetData, Read: PathWatchRequest{Path: "/g", Watch: true}},
	}
}

// allMultiResults has one result of every type a multi or multiRead reply can carry,
// including the three error results of a failed multi.
func allMultiResults() []MultiResult {
	return []MultiResult{
		{Type: OpCreate, Path: "/c0000000001"},
		{Type: OpCreate2, Path: "/c2", Stat: testStat()},
		{Type: OpCreateTTL, Path: "/t", Stat: testStat()},
		{Type: OpCreateContainer, Path: "/ct", Stat: bigStat()},
		{Type: OpDelete},
		{Type: OpCheck},
		{Type: OpSetData, Stat: testStat()},
		{Type: OpGetChildren, Children: []string{"a", "b"}},
		{Type: OpGetChildren, Children: []string{}},
		{Type: OpGetChildren, Children: nil},
		{Type: OpGetData, Data: []byte("v"), Stat: testStat()},
		{Type: OpGetData, Data: []byte{}, Stat: testStat()},
		{Type: OpGetData, Data: nil, Stat: testStat()},
		{Type: OpError, Err: ErrOK},
		{Type: OpError, Err: ErrNoNode},
		{Type: OpError, Err: ErrRuntimeInconsistency},
	}
}

// allRecords lists a value of every record type, with the edge cases of null and
// empty buffers, strings and vectors. Values are what Decode produces, so that
// Encode-then-Decode must give them back exactly.
func allRecords() []recordCase {
	return []recordCase{
		{"Stat", ptr(testStat()), StatSize},
		{"Stat/extremes", ptr(bigStat()), StatSize},
		{"ID", &ID{Scheme: "digest", ID: "u:hash"}, 4 + 6 + 4 + 6},
		{"ID/empty", &ID{}, 8},
		{"ACLs", &aclVector{ACL: []ACL{{Perms: PermRead | PermWrite, ID: ID{"ip", "10.0.0.1"}}, worldAll[0]}}, -1},
		{"ACLs/nil", &aclVector{}, 4},
		{"ConnectRequest", &ConnectRequest{ProtocolVersion: 0, LastZxidSeen: 0x10, TimeOut: 30000, SessionID: 0, Passwd: make([]byte, 16), ReadOnly: true}, 45},
		{"ConnectRequest/rw", &ConnectRequest{LastZxidSeen: -1, TimeOut: 4000, SessionID: 0x0100000000000001, Passwd: pw16()}, 45},
		{"ConnectRequest/old", &ConnectRequest{LastZxidSeen: 0x10, TimeOut: 30000, Passwd: make([]byte, 16), OldClient: true}, 44},
		{"ConnectRequest/nilPasswd", &ConnectRequest{TimeOut: 1, Passwd: nil}, 4 + 8 + 4 + 8 + 4 + 1},
		{"ConnectRequest/emptyPasswd", &ConnectRequest{TimeOut: 1, Passwd: []byte{}}, 4 + 8 + 4 + 8 + 4 + 1},
		{"ConnectRequest/oldNilPasswd", &ConnectRequest{TimeOut: 1, Passwd: nil, OldClient: true}, 4 + 8 + 4 + 8 + 4},
		{"ConnectResponse", &ConnectResponse{TimeOut: 4000, SessionID: 0x0100000000000001, Passwd: pw16()}, 37},
		{"ConnectResponse/ro", &ConnectResponse{TimeOut: 4000, SessionID: 7, Passwd: pw16(), ReadOnly: true}, 37},
		{"ConnectResponse/old", &ConnectResponse{TimeOut: 4000, SessionID: 0x0100000000000001, Passwd: pw16(), OldClient: true}, 36},
		{"ConnectResponse/expired", &ConnectResponse{TimeOut: 0, SessionID: 0, Passwd: make([]byte, 16)}, 37},
		{"ConnectResponse/nilPasswd", &ConnectResponse{Passwd: nil}, 4 + 4 + 8 + 4 + 1},
		{"RequestHeader", &RequestHeader{Xid: 1, Type: OpGetData}, 8},
		{"RequestHeader/ping", &RequestHeader{Xid: XidPing, Type: OpPing}, 8},
		{"ReplyHeader", &ReplyHeader{Xid: 1, Zxid: 2, Err: ErrNoNode}, 16},
		{"ReplyHeader/notification", &ReplyHeader{Xid: XidNotification, Zxid: -1}, 16},
		{"PathRequest", &PathRequest{Path: "/a/b"}, 8},
		{"PathRequest/empty", &PathRequest{}, 4},
		{"PathWatchRequest", &PathWatchRequest{Path: "/foo", Watch: true}, 9},
		{"PathWatchRequest/nowatch", &PathWatchRequest{Path: "/foo"}, 9},
		{"CreateRequest", &CreateRequest{Path: "/foo", Data: []byte("bar"), ACL: worldAll, Flags: ModePersistent, TTL: -1}, -1},
		{"CreateRequest/nilData", &CreateRequest{Path: "/n", Data: nil, ACL: worldAll, Flags: ModeEphemeral, TTL: -1}, -1},
		{"CreateRequest/emptyData", &CreateRequest{Path: "/n", Data: []byte{}, ACL: worldAll, Flags: ModeEphemeralSequential, TTL: -1}, -1},
		{"CreateRequest/nilACL", &CreateRequest{Path: "/n", Data: []byte{0}, Flags: ModeContainer, TTL: -1}, 6 + 5 + 4 + 4},
		{"CreateTTLRequest", &ttlCreate{CreateRequest{Path: "/t", Data: []byte{}, ACL: worldAll, Flags: ModePersistentWithTTL, TTL: 1000}}, -1},
		{"CreateTTLRequest/max", &ttlCreate{CreateRequest{Path: "/t", Data: nil, ACL: worldAll, Flags: ModePersistentSequentialWithTTL, TTL: MaxTTL}}, -1},
		{"CreateTTLRequest/negative", &ttlCreate{CreateRequest{Path: "/t", Flags: ModePersistentSequential, TTL: -5}}, 6 + 4 + 4 + 4 + 8},
		{"CreateResponse", &CreateResponse{Path: "/foo0000000001"}, 18},
		{"Create2Response", &Create2Response{Path: "/foo", Stat: testStat()}, 8 + StatSize},
		{"DeleteRequest", &DeleteRequest{Path: "/foo", Version: -1}, 12},
		{"CheckVersionRequest", &CheckVersionRequest{Path: "/foo", Version: 12}, 12},
		{"StatResponse", &StatResponse{Stat: testStat()}, StatSize},
		{"GetDataResponse", &GetDataResponse{Data: []byte("bar"), Stat: testStat()}, 7 + StatSize},
		{"GetDataResponse/nil", &GetDataResponse{Data: nil, Stat: testStat()}, 4 + StatSize},
		{"GetDataResponse/empty", &GetDataResponse{Data: []byte{}, Stat: testStat()}, 4 + StatSize},
		{"SetDataRequest", &SetDataRequest{Path: "/s", Data: []byte{0, 1, 2, 0xff}, Version: 4}, 6 + 8 + 4},
		{"SetDataRequest/nil", &SetDataRequest{Path: "/s", Data: nil, Version: -1}, 6 + 4 + 4},
		{"SetDataRequest/empty", &SetDataRequest{Path: "/s", Data: []byte{}, Version: -1}, 6 + 4 + 4},
		{"GetACLResponse", &GetACLResponse{ACL: worldAll, Stat: testStat()}, -1},
		{"GetACLResponse/nil", &GetACLResponse{Stat: testStat()}, 4 + StatSize},
		{"SetACLRequest", &SetACLRequest{Path: "/a", ACL: []ACL{{Perms: PermAll, ID: ID{"digest", "u:x"}}, {Perms: PermRead, ID: ID{"world", "anyone"}}}, Version: 3}, -1},
		{"GetChildrenResponse", &GetChildrenResponse{Children: []string{"a", "bb", ""}}, 4 + 5 + 6 + 4},
		{"GetChildrenResponse/nil", &GetChildrenResponse{Children: nil}, 4},
		{"GetChildrenResponse/empty", &GetChildrenResponse{Children: []string{}}, 4},
		{"GetChildren2Response", &GetChildren2Response{Children: []string{"x"}, Stat: testStat()}, 4 + 5 + StatSize},
		{"GetChildren2Response/nil", &GetChildren2Response{Stat: testStat()}, 4 + StatSize},
		{"IntResponse", &IntResponse{Value: 42}, 4},
		{"IntResponse/negative", &IntResponse{Value: -101}, 4},
		{"StringsResponse", &StringsResponse{Values: []string{"/e1", "/e2"}}, 4 + 7 + 7},
		{"StringsResponse/nil", &StringsResponse{}, 4},
		{"StringsResponse/empty", &StringsResponse{Values: []string{}}, 4},
		{"AuthPacket", &AuthPacket{Type: 0, Scheme: "digest", Auth: []byte("u:p")}, 4 + 10 + 7},
		{"AuthPacket/nil", &AuthPacket{Scheme: "x", Auth: nil}, 4 + 5 + 4},
		{"AuthPacket/empty", &AuthPacket{Scheme: "x", Auth: []byte{}}, 4 + 5 + 4},
		{"SetWatches", &SetWatches{RelativeZxid: 5, DataWatches: []string{"/a"}, ExistWatches: []string{"/b", "/c"}, ChildWatches: []string{}}, -1},
		{"SetWatches/null", &SetWatches{RelativeZxid: -1}, 8 + 12},
		{"SetWatches2", &setWatches2{SetWatches{RelativeZxid: 5, DataWatches: []string{"/a"}, ExistWatches: []string{}, ChildWatches: nil,
			PersistentWatches: []string{"/p"}, PersistentRecursiveWatches: []string{"/r", "/"}}}, -1},
		{"SetWatches2/null", &setWatches2{SetWatches{RelativeZxid: 9}}, 8 + 20},
		{"WatcherEvent", &WatcherEvent{Type: EventNodeCreated, State: StateSyncConnected, Path: "/a"}, 14},
		{"WatcherEvent/session", &WatcherEvent{Type: EventNone, State: StateExpired, Path: ""}, 12},
		{"WatchTypeRequest", &WatchTypeRequest{Path: "/w", Type: AddWatchPersistentRecursive}, 10},
		{"WhoAmIResponse", &WhoAmIResponse{Clients: []ID{{"ip", "127.0.0.1"}, {"digest", "u"}}}, -1},
		{"WhoAmIResponse/nil", &WhoAmIResponse{}, 4},
		{"WhoAmIResponse/emptyStrings", &WhoAmIResponse{Clients: []ID{{}}}, 12},
		{"ReconfigRequest", &ReconfigRequest{JoiningServers: "server.4=h:1:2;3", LeavingServers: "", NewMembers: "", CurConfigID: -1}, -1},
		{"Empty", &Empty{}, 0},
		{"MultiRequest", &MultiRequest{Ops: allMultiOps()}, -1},
		{"MultiRequest/empty", &MultiRequest{}, 9},
		{"MultiResponse", &MultiResponse{Results: allMultiResults()}, -1},
		{"MultiResponse/empty", &MultiResponse{}, 9},
	}
}

func ptr[T any](v T) *T { return &v }
