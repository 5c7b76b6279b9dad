package proto

import "encoding/binary"

// Stat is a znode's metadata (data.Stat).
type Stat struct {
	Czxid          int64
	Mzxid          int64
	Ctime          int64
	Mtime          int64
	Version        int32
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          int64
}

// Encode implements Record.
func (s *Stat) Encode(e *Encoder) {
	e.Long(s.Czxid)
	e.Long(s.Mzxid)
	e.Long(s.Ctime)
	e.Long(s.Mtime)
	e.Int(s.Version)
	e.Int(s.Cversion)
	e.Int(s.Aversion)
	e.Long(s.EphemeralOwner)
	e.Int(s.DataLength)
	e.Int(s.NumChildren)
	e.Long(s.Pzxid)
}

// Decode implements Record.
func (s *Stat) Decode(d *Decoder) {
	s.Czxid = d.Long()
	s.Mzxid = d.Long()
	s.Ctime = d.Long()
	s.Mtime = d.Long()
	s.Version = d.Int()
	s.Cversion = d.Int()
	s.Aversion = d.Int()
	s.EphemeralOwner = d.Long()
	s.DataLength = d.Int()
	s.NumChildren = d.Int()
	s.Pzxid = d.Long()
}

// StatSize is the encoded size of a Stat.
const StatSize = 68

// ID is an authenticated identity or an ACL subject (data.Id).
type ID struct {
	Scheme string
	ID     string
}

// Encode implements Record.
func (i *ID) Encode(e *Encoder) { e.String(i.Scheme); e.String(i.ID) }

// Decode implements Record.
func (i *ID) Decode(d *Decoder) { i.Scheme = d.String(); i.ID = d.String() }

// ACL is one access-control entry (data.ACL).
type ACL struct {
	Perms int32
	ID    ID
}

// EncodeACLs writes a vector<ACL>; nil is written as an empty vector.
func EncodeACLs(e *Encoder, acls []ACL) { e.buf = AppendACLs(e.buf, acls) }

// AppendACLs appends the encoding of EncodeACLs to dst. It only appends, so a
// caller's stack buffer stays on the stack.
func AppendACLs(dst []byte, acls []ACL) []byte {
	str := func(b []byte, s string) []byte {
		return append(binary.BigEndian.AppendUint32(b, uint32(len(s))), s...)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(acls)))
	for i := range acls {
		dst = binary.BigEndian.AppendUint32(dst, uint32(acls[i].Perms))
		dst = str(str(dst, acls[i].ID.Scheme), acls[i].ID.ID)
	}
	return dst
}

// DecodeACLs reads a vector<ACL>; a null vector reads as nil.
func DecodeACLs(d *Decoder) []ACL {
	n := d.Count(12)
	if n <= 0 {
		return nil
	}
	out := make([]ACL, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		var a ACL
		a.Perms = d.Int()
		a.ID.Decode(d)
		out = append(out, a)
	}
	return out
}

// WorldACL returns the ACL world:anyone with the given perms.
func WorldACL(perms int32) []ACL { return []ACL{{Perms: perms, ID: ID{Scheme: "world", ID: "anyone"}}} }

// ConnectRequest is the first frame a client sends (no RequestHeader).
type ConnectRequest struct {
	ProtocolVersion int32
	LastZxidSeen    int64
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	// OldClient is set by Decode when the trailing readOnly byte was absent.
	OldClient bool
}

// Encode implements Record. The readOnly byte is omitted when OldClient is set.
func (r *ConnectRequest) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Long(r.LastZxidSeen)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if !r.OldClient {
		e.Bool(r.ReadOnly)
	}
}

// Decode implements Record; a missing readOnly byte marks an old client.
func (r *ConnectRequest) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.LastZxidSeen = d.Long()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.OldClient = d.Err() == nil && d.Remaining() == 0
	r.ReadOnly = !r.OldClient && d.Bool()
}

// ConnectResponse answers a ConnectRequest.
type ConnectResponse struct {
	ProtocolVersion int32
	TimeOut         int32
	SessionID       int64
	Passwd          []byte
	ReadOnly        bool
	// OldClient omits the readOnly byte, for clients that did not send one.
	OldClient bool
}

// Encode implements Record.
func (r *ConnectResponse) Encode(e *Encoder) {
	e.Int(r.ProtocolVersion)
	e.Int(r.TimeOut)
	e.Long(r.SessionID)
	e.Buffer(r.Passwd)
	if !r.OldClient {
		e.Bool(r.ReadOnly)
	}
}

// Decode implements Record.
func (r *ConnectResponse) Decode(d *Decoder) {
	r.ProtocolVersion = d.Int()
	r.TimeOut = d.Int()
	r.SessionID = d.Long()
	r.Passwd = d.Buffer()
	r.OldClient = d.Err() == nil && d.Remaining() == 0
	r.ReadOnly = !r.OldClient && d.Bool()
}

// RequestHeader precedes every request after the handshake.
type RequestHeader struct {
	Xid  int32
	Type OpCode
}

// Encode implements Record.
func (h *RequestHeader) Encode(e *Encoder) { e.Int(h.Xid); e.Int(int32(h.Type)) }

// Decode implements Record.
func (h *RequestHeader) Decode(d *Decoder) { h.Xid = d.Int(); h.Type = OpCode(d.Int()) }

// ReplyHeader precedes every reply and notification.
type ReplyHeader struct {
	Xid  int32
	Zxid int64
	Err  Code
}

// Encode implements Record.
func (h *ReplyHeader) Encode(e *Encoder) { e.Int(h.Xid); e.Long(h.Zxid); e.Int(int32(h.Err)) }

// Decode implements Record.
func (h *ReplyHeader) Decode(d *Decoder) { h.Xid = d.Int(); h.Zxid = d.Long(); h.Err = Code(d.Int()) }

// PathRequest is the body of requests that carry only a path: sync, getACL,
// getAllChildrenNumber, getEphemerals (prefix), and the SyncResponse/CreateResponse shape.
type PathRequest struct {
	Path string
}

// Encode implements Record.
func (r *PathRequest) Encode(e *Encoder) { e.String(r.Path) }

// Decode implements Record.
func (r *PathRequest) Decode(d *Decoder) { r.Path = d.String() }

// PathWatchRequest is the body of exists, getData, getChildren and getChildren2.
type PathWatchRequest struct {
	Path  string
	Watch bool
}

// Encode implements Record.
func (r *PathWatchRequest) Encode(e *Encoder) { e.String(r.Path); e.Bool(r.Watch) }

// Decode implements Record.
func (r *PathWatchRequest) Decode(d *Decoder) { r.Path = d.String(); r.Watch = d.Bool() }

// CreateRequest is the body of create, create2, createContainer and createTTL (with TTL
// set only for createTTL, where it is on the wire).
type CreateRequest struct {
	Path  string
	Data  []byte
	ACL   []ACL
	Flags int32
	TTL   int64
}

// Encode writes the CreateRequest fields (without TTL).
func (r *CreateRequest) Encode(e *Encoder) {
	e.String(r.Path)
	e.Buffer(r.Data)
	EncodeACLs(e, r.ACL)
	e.Int(r.Flags)
}

// Decode reads the CreateRequest fields (without TTL).
func (r *CreateRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.ACL = DecodeACLs(d)
	r.Flags = d.Int()
	r.TTL = -1
}

// EncodeTTL writes a CreateTTLRequest.
func (r *CreateRequest) EncodeTTL(e *Encoder) { r.Encode(e); e.Long(r.TTL) }

// DecodeTTL reads a CreateTTLRequest.
func (r *CreateRequest) DecodeTTL(d *Decoder) { r.Decode(d); r.TTL = d.Long() }

// CreateResponse answers create.
type CreateResponse struct{ Path string }

// Encode implements Record.
func (r *CreateResponse) Encode(e *Encoder) { e.String(r.Path) }

// Decode implements Record.
func (r *CreateResponse) Decode(d *Decoder) { r.Path = d.String() }

// Create2Response answers create2, createContainer and createTTL.
type Create2Response struct {
	Path string
	Stat Stat
}

// Encode implements Record.
func (r *Create2Response) Encode(e *Encoder) { e.String(r.Path); r.Stat.Encode(e) }

// Decode implements Record.
func (r *Create2Response) Decode(d *Decoder) { r.Path = d.String(); r.Stat.Decode(d) }

// DeleteRequest is the body of delete and deleteContainer (which sends only a path,
// decoded with Version -1).
type DeleteRequest struct {
	Path    string
	Version int32
}

// Encode implements Record.
func (r *DeleteRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Version) }

// Decode implements Record.
func (r *DeleteRequest) Decode(d *Decoder) { r.Path = d.String(); r.Version = d.Int() }

// CheckVersionRequest is the body of check.
type CheckVersionRequest = DeleteRequest

// StatResponse answers exists and setData.
type StatResponse struct{ Stat Stat }

// Encode implements Record.
func (r *StatResponse) Encode(e *Encoder) { r.Stat.Encode(e) }

// Decode implements Record.
func (r *StatResponse) Decode(d *Decoder) { r.Stat.Decode(d) }

// GetDataResponse answers getData.
type GetDataResponse struct {
	Data []byte
	Stat Stat
}

// Encode implements Record.
func (r *GetDataResponse) Encode(e *Encoder) { e.Buffer(r.Data); r.Stat.Encode(e) }

// Decode implements Record.
func (r *GetDataResponse) Decode(d *Decoder) { r.Data = d.Buffer(); r.Stat.Decode(d) }

// SetDataRequest is the body of setData.
type SetDataRequest struct {
	Path    string
	Data    []byte
	Version int32
}

// Encode implements Record.
func (r *SetDataRequest) Encode(e *Encoder) { e.String(r.Path); e.Buffer(r.Data); e.Int(r.Version) }

// Decode implements Record.
func (r *SetDataRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.Data = d.Buffer()
	r.Version = d.Int()
}

// GetACLResponse answers getACL.
type GetACLResponse struct {
	ACL  []ACL
	Stat Stat
}

// Encode implements Record.
func (r *GetACLResponse) Encode(e *Encoder) { EncodeACLs(e, r.ACL); r.Stat.Encode(e) }

// Decode implements Record.
func (r *GetACLResponse) Decode(d *Decoder) { r.ACL = DecodeACLs(d); r.Stat.Decode(d) }

// SetACLRequest is the body of setACL.
type SetACLRequest struct {
	Path    string
	ACL     []ACL
	Version int32
}

// Encode implements Record.
func (r *SetACLRequest) Encode(e *Encoder) { e.String(r.Path); EncodeACLs(e, r.ACL); e.Int(r.Version) }

// Decode implements Record.
func (r *SetACLRequest) Decode(d *Decoder) {
	r.Path = d.String()
	r.ACL = DecodeACLs(d)
	r.Version = d.Int()
}

// GetChildrenResponse answers getChildren.
type GetChildrenResponse struct{ Children []string }

// Encode implements Record.
func (r *GetChildrenResponse) Encode(e *Encoder) { e.Strings(r.Children) }

// Decode implements Record.
func (r *GetChildrenResponse) Decode(d *Decoder) { r.Children = d.Strings() }

// GetChildren2Response answers getChildren2.
type GetChildren2Response struct {
	Children []string
	Stat     Stat
}

// Encode implements Record.
func (r *GetChildren2Response) Encode(e *Encoder) { e.Strings(r.Children); r.Stat.Encode(e) }

// Decode implements Record.
func (r *GetChildren2Response) Decode(d *Decoder) { r.Children = d.Strings(); r.Stat.Decode(d) }

// IntResponse is a reply body of one int: getAllChildrenNumber's totalNumber, addWatch's
// 0, and the err of an ErrorResponse in multi results.
type IntResponse struct{ Value int32 }

// Encode implements Record.
func (r *IntResponse) Encode(e *Encoder) { e.Int(r.Value) }

// Decode implements Record.
func (r *IntResponse) Decode(d *Decoder) { r.Value = d.Int() }

// StringsResponse answers getEphemerals.
type StringsResponse struct{ Values []string }

// Encode implements Record.
func (r *StringsResponse) Encode(e *Encoder) { e.Strings(r.Values) }

// Decode implements Record.
func (r *StringsResponse) Decode(d *Decoder) { r.Values = d.Strings() }

// AuthPacket is the body of auth (xid -4).
type AuthPacket struct {
	Type   int32
	Scheme string
	Auth   []byte
}

// Encode implements Record.
func (r *AuthPacket) Encode(e *Encoder) { e.Int(r.Type); e.String(r.Scheme); e.Buffer(r.Auth) }

// Decode implements Record.
func (r *AuthPacket) Decode(d *Decoder) { r.Type = d.Int(); r.Scheme = d.String(); r.Auth = d.Buffer() }

// SetWatches is the body of setWatches (101) and, with the persistent lists, of
// setWatches2 (105).
type SetWatches struct {
	RelativeZxid               int64
	DataWatches                []string
	ExistWatches               []string
	ChildWatches               []string
	PersistentWatches          []string
	PersistentRecursiveWatches []string
}

// Encode writes a SetWatches record (101).
func (r *SetWatches) Encode(e *Encoder) {
	e.Long(r.RelativeZxid)
	e.Strings(r.DataWatches)
	e.Strings(r.ExistWatches)
	e.Strings(r.ChildWatches)
}

// Decode reads a SetWatches record (101).
func (r *SetWatches) Decode(d *Decoder) {
	r.RelativeZxid = d.Long()
	r.DataWatches = d.Strings()
	r.ExistWatches = d.Strings()
	r.ChildWatches = d.Strings()
}

// Encode2 writes a SetWatches2 record (105).
func (r *SetWatches) Encode2(e *Encoder) {
	r.Encode(e)
	e.Strings(r.PersistentWatches)
	e.Strings(r.PersistentRecursiveWatches)
}

// Decode2 reads a SetWatches2 record (105).
func (r *SetWatches) Decode2(d *Decoder) {
	r.Decode(d)
	r.PersistentWatches = d.Strings()
	r.PersistentRecursiveWatches = d.Strings()
}

// WatcherEvent is the body of a notification (xid -1).
type WatcherEvent struct {
	Type  EventType
	State int32
	Path  string
}

// Encode implements Record.
func (r *WatcherEvent) Encode(e *Encoder) { e.Int(int32(r.Type)); e.Int(r.State); e.String(r.Path) }

// Decode implements Record.
func (r *WatcherEvent) Decode(d *Decoder) {
	r.Type = EventType(d.Int())
	r.State = d.Int()
	r.Path = d.String()
}

// WatchTypeRequest is the body of checkWatches and removeWatches (path, watcher type)
// and of addWatch (path, mode).
type WatchTypeRequest struct {
	Path string
	Type int32
}

// Encode implements Record.
func (r *WatchTypeRequest) Encode(e *Encoder) { e.String(r.Path); e.Int(r.Type) }

// Decode implements Record.
func (r *WatchTypeRequest) Decode(d *Decoder) { r.Path = d.String(); r.Type = d.Int() }

// WhoAmIResponse answers whoAmI.
type WhoAmIResponse struct{ Clients []ID }

// Encode implements Record.
func (r *WhoAmIResponse) Encode(e *Encoder) {
	e.Int(int32(len(r.Clients)))
	for i := range r.Clients {
		r.Clients[i].Encode(e)
	}
}

// Decode implements Record.
func (r *WhoAmIResponse) Decode(d *Decoder) {
	n := d.Count(8)
	r.Clients = nil
	for i := 0; i < n && d.Err() == nil; i++ {
		var id ID
		id.Decode(d)
		r.Clients = append(r.Clients, id)
	}
}

// ReconfigRequest is the body of reconfig.
type ReconfigRequest struct {
	JoiningServers string
	LeavingServers string
	NewMembers     string
	CurConfigID    int64
}

// Encode implements Record.
func (r *ReconfigRequest) Encode(e *Encoder) {
	e.String(r.JoiningServers)
	e.String(r.LeavingServers)
	e.String(r.NewMembers)
	e.Long(r.CurConfigID)
}

// Decode implements Record.
func (r *ReconfigRequest) Decode(d *Decoder) {
	r.JoiningServers = d.String()
	r.LeavingServers = d.String()
	r.NewMembers = d.String()
	r.CurConfigID = d.Long()
}

// Empty is a record with no fields (ping, closeSession, delete replies).
type Empty struct{}

// Encode implements Record.
func (Empty) Encode(*Encoder) {}

// Decode implements Record.
func (Empty) Decode(*Decoder) {}
