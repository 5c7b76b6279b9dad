package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-io/corral/proto"
)

// FloorServer is a ZooKeeper-protocol server that keeps no state and does no work
// beyond answering: a session is granted at once, a create succeeds with the path
// asked for (a sequence number appended for sequential modes), a delete succeeds,
// getChildren lists nothing, a ping is answered and closeSession is answered and the
// connection closed. Anything else gets UNIMPLEMENTED.
//
// It is the yardstick of the session-churn workload: with the same client on the same
// machine, what the connection set-up, the request round trips and the tear-down
// (kernel and Go runtime, a goroutine per connection as in corral) cost when nothing
// else is done. It is a yardstick, not a bound: a server built otherwise (an event
// loop, another runtime) may spend less.
type FloorServer struct {
	ln      net.Listener
	seq     atomic.Int64
	session atomic.Int64
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	closed  bool
}

// floorMaxFrame bounds the frames the floor server reads.
const floorMaxFrame = 1 << 20

// ListenFloor starts a FloorServer on addr.
func ListenFloor(addr string) (*FloorServer, error) {
	ln, err := (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &FloorServer{ln: ln, conns: map[net.Conn]struct{}{}}
	f.session.Store(time.Now().UnixNano() &^ (0x7f << 56))
	f.wg.Add(1)
	go f.acceptLoop()
	return f, nil
}

// Addr is the address the server listens on.
func (f *FloorServer) Addr() net.Addr { return f.ln.Addr() }

// Close stops the server and closes its connections.
func (f *FloorServer) Close() {
	f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

func (f *FloorServer) acceptLoop() {
	defer f.wg.Done()
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors or another passing failure: keep serving.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		f.mu.Lock()
		if f.closed {
			f.mu.Unlock()
			nc.Close()
			return
		}
		f.conns[nc] = struct{}{}
		f.wg.Add(1)
		f.mu.Unlock()
		go func() {
			defer f.wg.Done()
			f.serve(nc)
			f.mu.Lock()
			delete(f.conns, nc)
			f.mu.Unlock()
			nc.Close()
		}()
	}
}

// serve answers one connection until it closes or sends something malformed.
func (f *FloorServer) serve(nc net.Conn) {
	br := bufio.NewReaderSize(nc, 4096)
	frame, err := proto.ReadFrame(br, floorMaxFrame, nil)
	if err != nil {
		return
	}
	var creq proto.ConnectRequest
	if proto.Unmarshal(frame, &creq) != nil {
		return
	}
	e := proto.NewEncoder(make([]byte, 0, 256))
	off := proto.BeginFrame(e)
	(&proto.ConnectResponse{TimeOut: creq.TimeOut, SessionID: f.session.Add(1), Passwd: make([]byte, 16)}).Encode(e)
	proto.EndFrame(e, off)
	if _, err := nc.Write(e.Bytes()); err != nil {
		return
	}
	for {
		frame, err = proto.ReadFrame(br, floorMaxFrame, frame[:0])
		if err != nil {
			return
		}
		d := proto.NewDecoder(frame)
		var h proto.RequestHeader
		h.Decode(d)
		if d.Err() != nil {
			return
		}
		body := frame[d.Offset():]
		rh := proto.ReplyHeader{Xid: h.Xid, Zxid: 1}
		var rec proto.Record
		switch h.Type {
		case proto.OpPing, proto.OpDelete, proto.OpCloseSession:
		case proto.OpCreate:
			var req proto.CreateRequest
			if proto.Unmarshal(body, &req) != nil {
				return
			}
			p := req.Path
			if req.Flags == proto.ModePersistentSequential || req.Flags == proto.ModeEphemeralSequential {
				p += fmt.Sprintf("%010d", f.seq.Add(1))
			}
			rec = &proto.CreateResponse{Path: p}
		case proto.OpGetChildren:
			rec = &proto.GetChildrenResponse{}
		default:
			rh.Err = proto.ErrUnimplemented
		}
		e.Reset()
		proto.AppendReply(e, rh, rec)
		if _, err := nc.Write(e.Bytes()); err != nil {
			return
		}
		if h.Type == proto.OpCloseSession {
			return
		}
	}
}
