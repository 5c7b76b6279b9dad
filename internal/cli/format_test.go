package cli

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
)

func TestWriteStat(t *testing.T) {
	old := time.Local
	time.Local = time.UTC
	defer func() { time.Local = old }()
	var b bytes.Buffer
	writeStat(&b, &client.Stat{
		Czxid: 0x2, Mzxid: 0xb, Pzxid: 0x6, Ctime: 1795631424000, Mtime: 1795631424123,
		Version: 2, Cversion: 3, Aversion: 1, EphemeralOwner: 0x100002944030001, DataLength: 6, NumChildren: 3,
	})
	// As zkCli 3.8 prints it (captured from Debian's zkCli.sh).
	want := `cZxid = 0x2
ctime = Wed Nov 25 18:30:24 UTC 2026
mZxid = 0xb
mtime = Wed Nov 25 18:30:24 UTC 2026
pZxid = 0x6
cversion = 3
dataVersion = 2
aclVersion = 1
ephemeralOwner = 0x100002944030001
dataLength = 6
numChildren = 3
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
	// The epoch, as the root's stat shows it.
	b.Reset()
	writeStat(&b, &client.Stat{})
	if !bytes.Contains(b.Bytes(), []byte("ctime = Thu Jan 01 00:00:00 UTC 1970\n")) {
		t.Fatalf("epoch: %s", b.String())
	}
}

func TestACLFormatAndParse(t *testing.T) {
	if got := formatACL(client.ACL{Perms: client.PermAll, ID: client.ID{Scheme: "world", ID: "anyone"}}); got != "'world,'anyone\n: cdrwa" {
		t.Fatalf("formatACL = %q", got)
	}
	if got := formatACL(client.ACL{Perms: client.PermRead | client.PermAdmin, ID: client.ID{Scheme: "digest", ID: "u:a,b%"}}); got != "'digest,'u:a%2Cb%25\n: ra" {
		t.Fatalf("formatACL escapes = %q", got)
	}
	acl, warn := ParseACL("world:anyone:r,digest:u:abc:cdrwa,bogus,ip:10.0.0.1:rz")
	want := []client.ACL{
		{Perms: client.PermRead, ID: client.ID{Scheme: "world", ID: "anyone"}},
		{Perms: client.PermAll, ID: client.ID{Scheme: "digest", ID: "u:abc"}},
		{Perms: client.PermRead, ID: client.ID{Scheme: "ip", ID: "10.0.0.1"}},
	}
	if !reflect.DeepEqual(acl, want) {
		t.Fatalf("ParseACL = %+v", acl)
	}
	if !reflect.DeepEqual(warn, []string{"bogus does not have the form scheme:id:perm", "Unknown perm type: z"}) {
		t.Fatalf("warnings = %q", warn)
	}
	if PermString(client.PermWrite|client.PermCreate) != "cw" {
		t.Fatal(PermString(client.PermWrite | client.PermCreate))
	}
}

func TestEventAndListFormats(t *testing.T) {
	if got := formatEvent("SyncConnected", "NodeDataChanged", "/x"); got != "WatchedEvent state:SyncConnected type:NodeDataChanged path:/x" {
		t.Fatal(got)
	}
	if got := formatEvent("SyncConnected", "None", ""); got != "WatchedEvent state:SyncConnected type:None path:null" {
		t.Fatal(got)
	}
	if got := javaList([]string{"a", "b"}); got != "[a, b]" {
		t.Fatal(got)
	}
	if got := javaList(nil); got != "[]" {
		t.Fatal(got)
	}
	if got := hexDump([]byte("hello, world!\x00\x01\x02xyz")); got != "00000000  68 65 6c 6c 6f 2c 20 77  6f 72 6c 64 21 00 01 02  |hello, world!...|\n00000010  78 79 7a                                          |xyz|\n" {
		t.Fatalf("%q", got)
	}
	m := map[string]any{}
	jsonData(m, []byte{0xff, 0xfe})
	if _, ok := m["dataBase64"]; !ok || m["data"] != nil {
		t.Fatalf("binary data: %v", m)
	}
}
