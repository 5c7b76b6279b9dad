package recipe

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/corral-io/corral/client"
)

// watchSnapshots follows the subtree at path with a persistent recursive watch and
// sends load's result on the returned channel first, then after every change (and
// after every reconnection, since a server may not replay the changes a persistent
// watch missed while the client was away). An unread snapshot is replaced by a newer
// one. The channel is closed when ctx ends or the session ends.
func watchSnapshots[T any](ctx context.Context, conn *client.Conn, path string, load func(context.Context) (T, error)) (<-chan T, error) {
	events, remove, err := conn.AddWatch(ctx, path, client.WatchPersistentRecursive)
	if err != nil {
		return nil, err
	}
	first, err := load(ctx)
	if err != nil {
		_ = remove(context.WithoutCancel(ctx))
		return nil, err
	}
	res := make(chan T)
	go func() {
		defer close(res)
		defer func() {
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = remove(rctx)
			cancel()
		}()
		last := first
		have := true // last not yet delivered
		dirty := false
		tick := time.NewTicker(pollInterval)
		defer tick.Stop()
		wasDown := false
		for {
			var send chan T
			if have {
				send = res
			}
			select {
			case <-ctx.Done():
				return
			case send <- last:
				have = false
			case ev, ok := <-events:
				if !ok || ev.Type == client.EventNone {
					return
				}
				dirty = true
			case <-tick.C:
				st := conn.State()
				switch st {
				case client.StateExpired, client.StateClosed:
					return
				case client.StateConnected, client.StateConnectedReadOnly:
					if wasDown {
						dirty = true
					}
					wasDown = false
				default:
					wasDown = true
				}
			}
			if dirty {
				// Drain what is queued, then load once.
				for drained := false; !drained; {
					select {
					case ev, ok := <-events:
						if !ok || ev.Type == client.EventNone {
							return
						}
					default:
						drained = true
					}
				}
				v, err := load(ctx)
				if err != nil {
					if errors.Is(err, client.ErrSessionExpired) || errors.Is(err, client.ErrClosed) || ctx.Err() != nil {
						return
					}
					continue // retried on the next tick
				}
				dirty = false
				if !reflect.DeepEqual(v, last) {
					last, have = v, true
				}
			}
		}
	}()
	return res, nil
}
