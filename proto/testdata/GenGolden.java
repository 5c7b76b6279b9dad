// GenGolden prints jute encodings produced by ZooKeeper's own classes, one
// "name hex" line per record; proto's golden tests compare against its output
// (proto/testdata/jute_golden.txt). Regenerate with:
//
//	java -cp /usr/share/java/zookeeper-jute.jar:/usr/share/java/zookeeper.jar \
//	    proto/testdata/GenGolden.java > proto/testdata/jute_golden.txt
//
// (Debian's zookeeper 3.8.0; the records are unchanged in 3.9.)
import java.io.*;
import java.util.*;
import org.apache.jute.*;
import org.apache.zookeeper.*;
import org.apache.zookeeper.data.*;
import org.apache.zookeeper.proto.*;

public class GenGolden {
    interface W { void write(BinaryOutputArchive a) throws IOException; }

    static void emit(String name, W w) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        w.write(BinaryOutputArchive.getArchive(bo));
        StringBuilder sb = new StringBuilder();
        for (byte b : bo.toByteArray()) sb.append(String.format("%02x", b));
        System.out.println(name + " " + sb);
    }

    static void frame(String name, W w) throws IOException {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        w.write(BinaryOutputArchive.getArchive(bo));
        byte[] body = bo.toByteArray();
        emit(name, a -> { a.writeInt(body.length, "len"); for (byte b : body) a.writeByte(b, "b"); });
    }

    static Stat stat() { return new Stat(1, 2, 3, 4, 5, 6, 7, 0x0102030405060708L, 9, 10, 11); }
    static List<ACL> acl() { return Collections.singletonList(new ACL(31, new Id("world", "anyone"))); }
    static byte[] pw() { byte[] p = new byte[16]; for (int i = 0; i < 16; i++) p[i] = (byte) i; return p; }

    public static void main(String[] args) throws Exception {
        emit("reply_header", a -> new ReplyHeader(1, 2, -101).serialize(a, "h"));
        frame("notification_frame", a -> {
            new ReplyHeader(-1, -1, 0).serialize(a, "h");
            new WatcherEvent(1, 3, "/a").serialize(a, "e");
        });
        emit("stat", a -> stat().serialize(a, "s"));
        frame("connect_response_frame", a -> {
            // 3.8's jute record has no readOnly field; ProtocolManager appends it.
            new ConnectResponse(0, 4000, 0x0100000000000001L, pw()).serialize(a, "r");
            a.writeBool(false, "readOnly");
        });
        frame("connect_response_old_frame", a -> {
            // ProtocolManager.serializeConnectResponse for an old client: no readOnly.
            a.writeInt(0, "protocolVersion"); a.writeInt(4000, "timeOut");
            a.writeLong(0x0100000000000001L, "sessionId"); a.writeBuffer(pw(), "passwd");
        });
        emit("connect_request", a -> {
            new ConnectRequest(0, 0x10, 30000, 0, new byte[16]).serialize(a, "r");
            a.writeBool(true, "readOnly");
        });
        emit("connect_request_old", a -> {
            a.writeInt(0, "protocolVersion"); a.writeLong(0x10, "lastZxidSeen"); a.writeInt(30000, "timeOut");
            a.writeLong(0, "sessionId"); a.writeBuffer(new byte[16], "passwd");
        });
        emit("create_request", a -> new CreateRequest("/foo", "bar".getBytes(), acl(), 0).serialize(a, "r"));
        emit("create_ttl_request", a -> new CreateTTLRequest("/t", new byte[0], acl(), 5, 1000L).serialize(a, "r"));
        emit("create_request_null_data", a -> new CreateRequest("/n", null, acl(), 1).serialize(a, "r"));
        emit("get_data_request", a -> new GetDataRequest("/foo", true).serialize(a, "r"));
        emit("get_data_response", a -> new GetDataResponse("bar".getBytes(), stat()).serialize(a, "r"));
        emit("get_data_response_null", a -> new GetDataResponse(null, stat()).serialize(a, "r"));
        emit("get_children_response_null", a -> new GetChildrenResponse(null).serialize(a, "r"));
        emit("get_children_response_empty", a -> new GetChildrenResponse(new ArrayList<>()).serialize(a, "r"));
        emit("set_watches", a -> new SetWatches(5, Arrays.asList("/a"), Arrays.asList("/b", "/c"), new ArrayList<>()).serialize(a, "r"));
        emit("set_watches2", a -> new SetWatches2(5, Arrays.asList("/a"), new ArrayList<>(), new ArrayList<>(),
                Arrays.asList("/p"), Arrays.asList("/r")).serialize(a, "r"));
        emit("auth_packet", a -> new AuthPacket(0, "digest", "u:p".getBytes()).serialize(a, "r"));
        emit("watcher_event", a -> new WatcherEvent(4, 3, "/x").serialize(a, "r"));
        emit("add_watch_request", a -> new AddWatchRequest("/w", 1).serialize(a, "r"));
        emit("whoami_response", a -> new WhoAmIResponse(Arrays.asList(new ClientInfo("ip", "127.0.0.1"),
                new ClientInfo("digest", "u"))).serialize(a, "r"));
        emit("multi_request", a -> new MultiOperationRecord(Arrays.asList(
                Op.create("/c", "d".getBytes(), acl(), 2),
                Op.create("/c2", new byte[0], acl(), CreateMode.PERSISTENT),
                Op.create("/ct", null, acl(), CreateMode.CONTAINER),
                Op.create("/t", "x".getBytes(), acl(), CreateMode.PERSISTENT_WITH_TTL, 60000L),
                Op.delete("/d", 3),
                Op.setData("/s", "v".getBytes(), -1),
                Op.check("/k", 7))).serialize(a, "r"));
        emit("multi_read_request", a -> new MultiOperationRecord(Arrays.asList(
                Op.getData("/g"), Op.getChildren("/h"))).serialize(a, "r"));
        emit("multi_request_empty", a -> new MultiOperationRecord(new ArrayList<>()).serialize(a, "r"));
        MultiResponse mr = new MultiResponse();
        mr.add(new OpResult.CreateResult("/c0000000001"));
        mr.add(new OpResult.CreateResult("/c2", stat()));
        mr.add(new OpResult.DeleteResult());
        mr.add(new OpResult.SetDataResult(stat()));
        mr.add(new OpResult.CheckResult());
        mr.add(new OpResult.GetDataResult("v".getBytes(), stat()));
        mr.add(new OpResult.GetChildrenResult(Arrays.asList("a", "b")));
        mr.add(new OpResult.ErrorResult(0));
        mr.add(new OpResult.ErrorResult(-101));
        mr.add(new OpResult.ErrorResult(-2));
        emit("multi_response", a -> mr.serialize(a, "r"));
        emit("multi_response_empty", a -> new MultiResponse().serialize(a, "r"));
    }
}
