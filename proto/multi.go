package proto

import "fmt"

// MultiOp is one operation of a multi (14) or multiRead (22) request. Type selects which
// of the fields is meaningful.
type MultiOp struct {
	Type    OpCode
	Create  CreateRequest    // create, create2, createContainer, createTTL
	Delete  DeleteRequest    // delete, check (path, version)
	SetData SetDataRequest   // setData
	Read    PathWatchRequest // getChildren, getData (multiRead)
}

// Path returns the path the op acts on.
func (op *MultiOp) Path() string {
	switch op.Type {
	case OpCreate, OpCreate2, OpCreateContainer, OpCreateTTL:
		return op.Create.Path
	case OpDelete, OpCheck:
		return op.Delete.Path
	case OpSetData:
		return op.SetData.Path
	default:
		return op.Read.Path
	}
}

// MultiRequest is the body of multi and multiRead.
type MultiRequest struct {
	Ops []MultiOp
}

// Encode implements Record.
func (r *MultiRequest) Encode(e *Encoder) {
	for i := range r.Ops {
		op := &r.Ops[i]
		e.Int(int32(op.Type))
		e.Bool(false)
		e.Int(-1)
		switch op.Type {
		case OpCreate, OpCreate2, OpCreateContainer:
			op.Create.Encode(e)
		case OpCreateTTL:
			op.Create.EncodeTTL(e)
		case OpDelete, OpCheck:
			op.Delete.Encode(e)
		case OpSetData:
			op.SetData.Encode(e)
		case OpGetChildren, OpGetData:
			op.Read.Encode(e)
		}
	}
	e.Int(-1)
	e.Bool(true)
	e.Int(-1)
}

// Decode implements Record. An op type that cannot appear in a multi is an error.
func (r *MultiRequest) Decode(d *Decoder) {
	r.Ops = nil
	for d.Err() == nil {
		typ := OpCode(d.Int())
		done := d.Bool()
		d.Int() // err, unused in requests
		if d.Err() != nil || done {
			return
		}
		op := MultiOp{Type: typ}
		switch typ {
		case OpCreate, OpCreate2, OpCreateContainer:
			op.Create.Decode(d)
		case OpCreateTTL:
			op.Create.DecodeTTL(d)
		case OpDelete, OpCheck:
			op.Delete.Decode(d)
		case OpSetData:
			op.SetData.Decode(d)
		case OpGetChildren, OpGetData:
			op.Read.Decode(d)
		default:
			d.fail(fmt.Errorf("proto: invalid op type %d in multi", int32(typ)))
			return
		}
		r.Ops = append(r.Ops, op)
	}
}

// MultiResult is one result of a multi or multiRead reply. Type is the op's type, or
// OpError with Err set.
type MultiResult struct {
	Type     OpCode
	Err      Code
	Path     string   // create, create2
	Stat     Stat     // create2, setData, getData
	Data     []byte   // getData
	Children []string // getChildren
}

// MultiResponse is the body of a multi or multiRead reply.
type MultiResponse struct {
	Results []MultiResult
}

// Encode implements Record.
func (r *MultiResponse) Encode(e *Encoder) {
	for i := range r.Results {
		res := &r.Results[i]
		e.Int(int32(res.Type))
		e.Bool(false)
		if res.Type == OpError {
			e.Int(int32(res.Err))
		} else {
			e.Int(0)
		}
		switch res.Type {
		case OpCreate:
			e.String(res.Path)
		case OpCreate2, OpCreateTTL, OpCreateContainer:
			e.String(res.Path)
			res.Stat.Encode(e)
		case OpSetData:
			res.Stat.Encode(e)
		case OpGetChildren:
			e.Strings(res.Children)
		case OpGetData:
			e.Buffer(res.Data)
			res.Stat.Encode(e)
		case OpError:
			e.Int(int32(res.Err))
		}
	}
	e.Int(-1)
	e.Bool(true)
	e.Int(-1)
}

// Decode implements Record.
func (r *MultiResponse) Decode(d *Decoder) {
	r.Results = nil
	for d.Err() == nil {
		typ := OpCode(d.Int())
		done := d.Bool()
		errc := Code(d.Int())
		if d.Err() != nil || done {
			return
		}
		res := MultiResult{Type: typ}
		switch typ {
		case OpCreate:
			res.Path = d.String()
		case OpCreate2, OpCreateTTL, OpCreateContainer:
			res.Path = d.String()
			res.Stat.Decode(d)
		case OpSetData:
			res.Stat.Decode(d)
		case OpGetChildren:
			res.Children = d.Strings()
		case OpGetData:
			res.Data = d.Buffer()
			res.Stat.Decode(d)
		case OpError:
			res.Err = Code(d.Int())
			_ = errc
		case OpDelete, OpCheck:
		default:
			d.fail(fmt.Errorf("proto: invalid result type %d in multi", int32(typ)))
			return
		}
		r.Results = append(r.Results, res)
	}
}
