package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/corral-io/corral/proto"
)

// LoadRoot is the parent of the znodes Load creates.
const LoadRoot = "/corral-load"

// loadFanout is the number of znodes per parent under LoadRoot.
const loadFanout = 1000

// LoadPath is the path of the i-th znode Load creates.
func LoadPath(i int) string {
	return fmt.Sprintf("%s/p-%05d/n-%08d", LoadRoot, i/loadFanout, i)
}

// Load creates znodes from..from+count-1 of valueSize bytes under LoadRoot, loadFanout
// per parent, pipelined on one session, and leaves them there: it prepares the memory
// and recovery measurements of scripts/compare.sh. Existing znodes are kept.
func Load(ctx context.Context, server string, from, count, valueSize int, timeout time.Duration) error {
	admin, err := Dial(server, DialOptions{Timeout: timeout, SessionTimeout: 30 * time.Second})
	if err != nil {
		return fmt.Errorf("connect %s: %w", server, err)
	}
	defer admin.Close(timeout)
	b := &zkBench{cfg: &Config{OpTimeout: timeout}, admin: admin, value: randomValue(valueSize)}
	if err := b.create(LoadRoot, nil); err != nil {
		return err
	}
	first, last := from/loadFanout, (from+count-1)/loadFanout
	err = b.pipeline(last-first+1, func(i int) (proto.OpCode, proto.Record) {
		return proto.OpCreate, &proto.CreateRequest{Path: fmt.Sprintf("%s/p-%05d", LoadRoot, first+i), ACL: openACL}
	}, proto.ErrNodeExists)
	if err != nil {
		return err
	}
	const chunk = 50000
	for done := 0; done < count; done += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(chunk, count-done)
		err := b.pipeline(n, func(i int) (proto.OpCode, proto.Record) {
			return proto.OpCreate, &proto.CreateRequest{Path: LoadPath(from + done + i), Data: b.value, ACL: openACL}
		}, proto.ErrNodeExists)
		if err != nil {
			return err
		}
	}
	return nil
}

// Probe connects to server and reads path, retrying every 5 ms until it succeeds or
// ctx ends: the first served read of a server that is starting.
func Probe(ctx context.Context, server, path string) error {
	for {
		c, err := Dial(server, DialOptions{Timeout: time.Second, SessionTimeout: 30 * time.Second})
		if err == nil {
			_, err = c.Call(proto.OpGetData, &proto.PathWatchRequest{Path: path}, nil, 5*time.Second)
			c.Abort()
			if err == nil {
				return nil
			}
			if errors.Is(err, proto.ErrNoNode) {
				return fmt.Errorf("probe %s: %w", path, err)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("probe %s: %w (last error: %v)", server, ctx.Err(), err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}
