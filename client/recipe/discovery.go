package recipe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/corral-io/corral/client"
)

// ServiceInstance is one instance of a service, in the JSON of Curator x-discovery's
// ServiceInstance (JsonInstanceSerializer), so Java ServiceDiscovery clients can read
// the instances a Go process registers and the other way round.
type ServiceInstance struct {
	Name                string          `json:"name"`
	ID                  string          `json:"id"`
	Address             string          `json:"address"`
	Port                *int            `json:"port"`
	SSLPort             *int            `json:"sslPort"`
	Payload             json.RawMessage `json:"payload"`
	RegistrationTimeUTC int64           `json:"registrationTimeUTC"`
	// ServiceType is "DYNAMIC" (an ephemeral node, the default), "STATIC" or
	// "PERMANENT" (persistent nodes), as in Curator.
	ServiceType string   `json:"serviceType"`
	URISpec     *URISpec `json:"uriSpec"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// URISpec is Curator's UriSpec: a URI template such as
// "{scheme}://{address}:{port}/api".
type URISpec struct {
	Parts []URISpecPart `json:"parts"`
}

// URISpecPart is one literal or variable part of a URISpec.
type URISpecPart struct {
	Value    string `json:"value"`
	Variable bool   `json:"variable"`
}

// ServiceDiscovery registers service instances under "<base>/<service>/<id>" (Curator
// x-discovery's layout) and lists and watches them.
//
// What can go wrong: a DYNAMIC registration is an ephemeral node and goes away with
// its session (expiry, Close) — a registered instance can vanish from the list while
// its process runs. Registration.Lost says so; register again on a new Conn. Curator
// re-registers on reconnection by itself; this type leaves that to the caller.
type ServiceDiscovery struct {
	conn *client.Conn
	base string
}

// NewServiceDiscovery returns a ServiceDiscovery rooted at base (Curator's basePath).
func NewServiceDiscovery(conn *client.Conn, base string) *ServiceDiscovery {
	return &ServiceDiscovery{conn: conn, base: cleanPath(base)}
}

// Registration is a registered instance.
type Registration struct {
	Instance ServiceInstance
	Path     string

	mu   sync.Mutex
	h    *held // nil for persistent registrations
	done bool
	conn *client.Conn
}

// Register records inst under "<base>/<inst.Name>/<inst.ID>". An empty ID gets a new
// UUID, an empty ServiceType "DYNAMIC" (an ephemeral node), a zero
// RegistrationTimeUTC the current time. An existing node of the same path is replaced
// (as Curator does).
func (d *ServiceDiscovery) Register(ctx context.Context, inst ServiceInstance) (*Registration, error) {
	if inst.Name == "" {
		return nil, errors.New("recipe: service instance without a name")
	}
	if inst.ID == "" {
		inst.ID = newUUID()
	}
	if inst.ServiceType == "" {
		inst.ServiceType = "DYNAMIC"
	}
	if inst.RegistrationTimeUTC == 0 {
		inst.RegistrationTimeUTC = time.Now().UnixMilli()
	}
	if inst.Enabled == nil {
		t := true
		inst.Enabled = &t
	}
	data, err := json.Marshal(inst)
	if err != nil {
		return nil, err
	}
	dir := join(d.base, inst.Name)
	path := join(dir, inst.ID)
	mode := client.Ephemeral
	if inst.ServiceType == "STATIC" || inst.ServiceType == "PERMANENT" {
		mode = client.Persistent
	}
	if err := ensurePath(ctx, d.conn, dir); err != nil {
		return nil, err
	}
	for {
		_, err = d.conn.Create(ctx, path, data, mode)
		if errors.Is(err, client.ErrNodeExists) {
			// Ours from a create whose reply was lost, or a stale one: replace it.
			if err = d.conn.Delete(ctx, path, -1); err == nil || errors.Is(err, client.ErrNoNode) {
				continue
			}
		}
		if errors.Is(err, client.ErrConnectionLoss) {
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	r := &Registration{Instance: inst, Path: path, conn: d.conn}
	if mode == client.Ephemeral {
		if r.h, err = holdNode(ctx, d.conn, path); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Lost returns a channel closed when a DYNAMIC registration is known to be gone
// (see Mutex.Lost); nil for a persistent one.
func (r *Registration) Lost() <-chan struct{} {
	if r.h == nil {
		return nil
	}
	return r.h.lost
}

// Unregister removes the instance.
func (r *Registration) Unregister(ctx context.Context) error {
	r.mu.Lock()
	done := r.done
	r.done = true
	r.mu.Unlock()
	if done {
		return ErrNotHeld
	}
	if r.h != nil {
		return r.h.release(ctx)
	}
	return deleteQuietlyCtx(ctx, r.conn, r.Path)
}

// Base returns the base path.
func (d *ServiceDiscovery) Base() string { return d.base }

// Services returns the names of the services that have (or had) instances.
func (d *ServiceDiscovery) Services(ctx context.Context) ([]string, error) {
	kids, _, err := d.conn.Children(ctx, d.base)
	if errors.Is(err, client.ErrNoNode) {
		return nil, nil
	}
	slices.Sort(kids)
	return kids, err
}

// List returns the instances of service, sorted by ID. Nodes whose data is not an
// instance's JSON are skipped.
func (d *ServiceDiscovery) List(ctx context.Context, service string) ([]ServiceInstance, error) {
	dir := join(d.base, service)
	kids, _, err := d.conn.Children(ctx, dir)
	if errors.Is(err, client.ErrNoNode) {
		return []ServiceInstance{}, nil
	}
	if err != nil {
		return nil, err
	}
	slices.Sort(kids)
	out := []ServiceInstance{}
	for _, k := range kids {
		data, _, err := d.conn.Get(ctx, join(dir, k))
		if errors.Is(err, client.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var inst ServiceInstance
		if json.Unmarshal(data, &inst) != nil {
			continue
		}
		out = append(out, inst)
	}
	return out, nil
}

// Watch sends the instances of service (as List) at once and after every change, until
// ctx ends or the session ends; then the channel is closed. An unread list is replaced
// by a newer one, so the reader always gets the latest.
func (d *ServiceDiscovery) Watch(ctx context.Context, service string) (<-chan []ServiceInstance, error) {
	if service == "" {
		return nil, fmt.Errorf("recipe: empty service name")
	}
	return watchSnapshots(ctx, d.conn, join(d.base, service), func(ctx context.Context) ([]ServiceInstance, error) {
		return d.List(ctx, service)
	})
}
