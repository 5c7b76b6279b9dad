package client

import (
	"context"
	"strings"

	"github.com/corral-io/corral/proto"
)

// ConfigPath is the znode that holds the cluster's configuration. It is read without
// the connection's chroot, as ZooKeeper's getConfig does.
const ConfigPath = "/zookeeper/config"

// GetConfig returns the cluster configuration: one "server.N=host:port:port:role[;client]"
// line per member and a last "version=<hex>" line (empty on a standalone server), and
// the Stat of /zookeeper/config, whose Mzxid is the config version.
func (c *Conn) GetConfig(ctx context.Context) ([]byte, *Stat, error) {
	data, st, _, err := c.getConfig(ctx, false)
	return data, st, err
}

// GetConfigW is GetConfig that also sets a watch, fired when the configuration changes.
func (c *Conn) GetConfigW(ctx context.Context) ([]byte, *Stat, <-chan Event, error) {
	return c.getConfig(ctx, true)
}

func (c *Conn) getConfig(ctx context.Context, watch bool) ([]byte, *Stat, <-chan Event, error) {
	w, ch := c.oneShot(kindData, ConfigPath, watch)
	var resp proto.GetDataResponse
	if err := c.call(ctx, proto.OpGetData, ConfigPath, &proto.PathWatchRequest{Path: ConfigPath, Watch: watch}, &resp, w); err != nil {
		return nil, nil, nil, err
	}
	return resp.Data, &resp.Stat, ch, nil
}

// IncrementalReconfig changes the cluster's membership: joining lists members to add
// (or observers to promote), each as "server.N=host:peerPort[:port][:participant|observer][;clientAddr]",
// and leaving lists the ids of members to remove. version is the config version the
// change applies to (the Mzxid of GetConfig's Stat, or the hex number of its version
// line); -1 applies it to whatever the configuration is. It returns the new
// configuration and its Stat. Errors: ErrBadVersion (the configuration changed),
// ErrBadArguments, ErrReconfigInProgress, ErrNewConfigNoQuorum (the change was not
// committed in time: check GetConfig), ErrReconfigDisabled.
func (c *Conn) IncrementalReconfig(ctx context.Context, joining, leaving []string, version int64) ([]byte, *Stat, error) {
	return c.reconfig(ctx, &proto.ReconfigRequest{
		JoiningServers: strings.Join(joining, ","),
		LeavingServers: strings.Join(leaving, ","),
		CurConfigID:    version,
	})
}

// Reconfig replaces the cluster's membership with members (the same syntax as
// IncrementalReconfig's joining): members not listed are removed, new ones are added.
func (c *Conn) Reconfig(ctx context.Context, members []string, version int64) ([]byte, *Stat, error) {
	return c.reconfig(ctx, &proto.ReconfigRequest{NewMembers: strings.Join(members, ","), CurConfigID: version})
}

func (c *Conn) reconfig(ctx context.Context, req *proto.ReconfigRequest) ([]byte, *Stat, error) {
	var resp proto.GetDataResponse
	if err := c.call(ctx, proto.OpReconfig, "", req, &resp, nil); err != nil {
		return nil, nil, err
	}
	return resp.Data, &resp.Stat, nil
}
