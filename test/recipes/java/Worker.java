// Curator side of the recipe interop tests (test/recipes/recipes_test.go), compiled at
// test time against Debian's Curator and ZooKeeper jars.
//
// java Worker MODE CONNECT PATH LOG ITERS CLIENTS STARTNODE
//   MODE mutex:    each client takes an InterProcessMutex ITERS times, logging enter/exit
//   MODE latch:    each client leads once with a LeaderLatch, logging lead/resign
//   MODE selector: each client leads once with a LeaderSelector, logging lead/resign
// Every client has its own CuratorFramework, so its own session. Prints "OK MODE".
import java.nio.charset.StandardCharsets;
import java.nio.file.*;
import java.util.*;
import java.util.concurrent.*;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.RetryNTimes;

public class Worker {
    static String out;

    static synchronized void log(String event, String who) throws Exception {
        String line = event + " " + who + " " + (System.currentTimeMillis() * 1000000L) + "\n";
        Files.write(Paths.get(out), line.getBytes(StandardCharsets.UTF_8),
            StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE);
    }

    public static void main(String[] args) {
        try {
            realMain(args);
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
        }
    }

    static void realMain(String[] args) throws Exception {
        String mode = args[0], connect = args[1], path = args[2];
        out = args[3];
        int iters = Integer.parseInt(args[4]), clients = Integer.parseInt(args[5]);
        String start = args[6];
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        List<Future<?>> fs = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            final String who = "curator-" + i;
            fs.add(pool.submit(() -> { run(mode, connect, path, iters, start, who); return null; }));
        }
        for (Future<?> f : fs) f.get(120, TimeUnit.SECONDS);
        System.out.println("OK " + mode);
        System.out.flush();
        System.exit(0);
    }

    static void run(String mode, String connect, String path, int iters, String start, String who) throws Exception {
        CuratorFramework c = CuratorFrameworkFactory.newClient(connect, 10000, 5000, new RetryNTimes(20, 200));
        c.start();
        if (!c.blockUntilConnected(30, TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
        long deadline = System.currentTimeMillis() + 60000;
        while (c.checkExists().forPath(start) == null) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("no start node");
            Thread.sleep(20);
        }
        switch (mode) {
        case "mutex": {
            InterProcessMutex m = new InterProcessMutex(c, path);
            for (int i = 0; i < iters; i++) {
                if (!m.acquire(60, TimeUnit.SECONDS)) throw new IllegalStateException("acquire timed out");
                log("enter", who);
                Thread.sleep(20);
                log("exit", who);
                m.release();
            }
            break;
        }
        case "latch": {
            LeaderLatch l = new LeaderLatch(c, path, who);
            l.start();
            if (!l.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("await timed out");
            log("lead", who);
            Thread.sleep(100);
            log("resign", who);
            l.close();
            break;
        }
        case "selector": {
            CountDownLatch done = new CountDownLatch(1);
            LeaderSelector s = new LeaderSelector(c, path, new LeaderSelectorListenerAdapter() {
                @Override public void takeLeadership(CuratorFramework cf) throws Exception {
                    log("lead", who);
                    Thread.sleep(100);
                    log("resign", who);
                    done.countDown();
                }
            });
            s.setId(who);
            s.start();
            if (!done.await(60, TimeUnit.SECONDS)) throw new IllegalStateException("never led");
            s.close();
            break;
        }
        default:
            throw new IllegalArgumentException(mode);
        }
        c.close();
    }
}
