package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestEtcdBusy: the cleanup retries etcd's "come back later" answers, and nothing else.
func TestEtcdBusy(t *testing.T) {
	for _, tc := range []struct {
		err  error
		busy bool
	}{
		{rpctypes.ErrTooManyRequests, true},
		{fmt.Errorf("delete: %w", rpctypes.ErrTooManyRequests), true},
		{rpctypes.ErrNoLeader, true},
		{status.Error(codes.Unavailable, "connection refused"), true},
		{rpctypes.ErrKeyNotFound, false},
		{rpctypes.ErrPermissionDenied, false},
		{context.DeadlineExceeded, false},
		{errors.New("boom"), false},
	} {
		if got := etcdBusy(tc.err); got != tc.busy {
			t.Errorf("etcdBusy(%v) = %v, want %v", tc.err, got, tc.busy)
		}
	}
}
