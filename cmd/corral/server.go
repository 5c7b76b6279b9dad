package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/corral-io/corral/internal/admin"
	"github.com/corral-io/corral/internal/config"
	"github.com/corral-io/corral/internal/server"
	"github.com/corral-io/corral/internal/sysmon"
	"github.com/spf13/cobra"
)

func serverCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run a corral member",
		Long: `Run a corral member. With no flags it serves ZooKeeper clients on 0.0.0.0:2181 and
keeps its data in ./corral-data. Settings come from flags, then CORRAL_* environment
variables, then a zoo.cfg-style file given with --config, then built-in defaults.`,
		Example: `  corral server
  corral server --client-addr 127.0.0.1:2181 --data-dir /var/lib/corral
  corral server --config /etc/zookeeper/conf/zoo.cfg`,
		Args: cobra.NoArgs,
	}
	cfg := config.Default()
	config.Bind(cmd.Flags(), &cfg)
	var cpuProfile string
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) to this file until shutdown")
	cmd.Flags().MarkHidden("cpuprofile")
	var mutexProfile, blockProfile string
	cmd.Flags().StringVar(&mutexProfile, "mutexprofile", "", "write a mutex contention profile (pprof) to this file at shutdown")
	cmd.Flags().MarkHidden("mutexprofile")
	cmd.Flags().StringVar(&blockProfile, "blockprofile", "", "write a goroutine blocking profile (pprof) to this file at shutdown")
	cmd.Flags().MarkHidden("blockprofile")
	var memProfile string
	cmd.Flags().StringVar(&memProfile, "memprofile", "", "write a heap profile (pprof, as of the last collection) to this file at shutdown")
	cmd.Flags().MarkHidden("memprofile")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, warnings, err := config.Load(cmd.Flags(), os.LookupEnv)
		if err != nil {
			return err
		}
		if err := c.Validate(); err != nil {
			return err
		}
		// First, before anything that re-executing would do twice.
		var steadyErr error
		if c.SteadySysmon {
			steadyErr = sysmon.Steady()
		}
		log := newLogger(c.LogLevel, c.LogFormat)
		slog.SetDefault(log)
		for _, w := range warnings {
			log.Warn(w)
		}
		if steadyErr != nil {
			log.Warn("the Go runtime's monitor thread will poll every 20 µs after idle spells (--steady-sysmon)", "err", steadyErr)
		} else if c.SteadySysmon && strings.Contains(os.Getenv("GODEBUG"), sysmon.SteadyGODEBUG) {
			log.Debug("running with GODEBUG=" + os.Getenv("GODEBUG") + ": the Go runtime's monitor thread stays at its slow interval (--steady-sysmon)")
		}
		if cpuProfile != "" {
			f, err := os.Create(cpuProfile)
			if err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
		if mutexProfile != "" {
			runtime.SetMutexProfileFraction(5)
			defer writeProfile(log, "mutex", mutexProfile)
		}
		if blockProfile != "" {
			runtime.SetBlockProfileRate(int(10 * time.Microsecond))
			defer writeProfile(log, "block", blockProfile)
		}
		if memProfile != "" {
			defer writeProfile(log, "heap", memProfile)
		}
		return runServer(c, log)
	}
	return cmd
}

// writeProfile writes the named runtime profile (mutex, block, heap) to path.
func writeProfile(log *slog.Logger, name, path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup(name).WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		log.Warn("could not write profile", "profile", name, "path", path, "err", err)
	}
}

func runServer(c config.Server, log *slog.Logger) error {
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir %s: %w", c.DataDir, err)
	}
	peers, err := config.ParsePeers(c.Peers)
	if err != nil {
		return err
	}
	observers, err := config.ParseIDs(c.Observers)
	if err != nil {
		return err
	}
	var peerMap map[uint64]string
	if len(peers) > 0 {
		peerMap = make(map[uint64]string, len(peers))
		for _, p := range peers {
			peerMap[p.ID] = p.Addr
		}
		if _, ok := peerMap[c.ID]; !ok {
			return fmt.Errorf("config: --id %d is not among --peers %q", c.ID, c.Peers)
		}
		if c.PeerAddr == "" {
			c.PeerAddr = peerMap[c.ID]
		}
	}
	onLeadership := shareHostCPUs(peers, log)
	if c.HoldSysmon {
		release, ok := sysmon.Hold()
		defer release()
		log.Debug("holding a P to keep the runtime's sysmon from polling after idle spells (--hold-sysmon)", "held", ok, "gomaxprocs", runtime.GOMAXPROCS(0))
	}
	restoreGC := startupGC()
	srv, err := server.New(server.Config{
		Peers:                  peerMap,
		PeerAddr:               c.PeerAddr,
		Observers:              observers,
		Join:                   c.Join,
		ClusterID:              c.ClusterID,
		ReadOnlyMode:           c.ReadOnlyMode,
		ForceNewCluster:        c.ForceNewCluster,
		MinFreeDisk:            int64(c.MinFreeDisk),
		ReconfigDisabled:       !c.ReconfigEnabled,
		SuperDigest:            c.SuperDigest,
		ID:                     c.ID,
		ClientAddr:             c.ClientAddr,
		DataDir:                c.DataDir,
		TickTime:               c.TickTime,
		MinSessionTimeout:      c.MinSessionTimeout,
		MaxSessionTimeout:      c.MaxSessionTimeout,
		MaxClientCnxns:         c.MaxClientCnxns,
		MaxConnections:         c.MaxConnections,
		MaxBuffer:              c.MaxBuffer,
		MaxOutstanding:         c.MaxOutstanding,
		MaxSendQueueBytes:      c.MaxSendQueueBytes,
		MaxInflightBytes:       c.MaxInflightBytes,
		ContainerCheckInterval: c.ContainerCheckInterval,
		ContainerMaxPerMinute:  c.ContainerMaxPerMinute,
		ContainerMaxNeverUsed:  c.ContainerMaxNeverUsed,
		FourLetterWords:        c.FourLetterWords,
		SnapshotCount:          c.SnapshotCount,
		SnapshotRetain:         c.SnapshotRetain,
		ConfDump: func() string {
			size := server.DirSize(c.DataDir)
			return c.Dump(size, size)
		},
		OnLeadership: onLeadership,
		Logger:       log,
	})
	restoreGC()
	if err != nil {
		return err
	}
	stopRelease := make(chan struct{})
	defer close(stopRelease)
	go releaseIdleMemory(stopRelease, log)
	if err := srv.Listen(); err != nil {
		srv.Close()
		return err
	}
	if c.AdminAddr != "" {
		// Metrics and the admin API are a convenience: a busy port is not fatal.
		if adm, err := admin.Start(c.AdminAddr, srv, srv.Registry(), log); err != nil {
			log.Warn("admin server not started", "err", err)
		} else {
			defer adm.Close()
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	select {
	case sig := <-sigs:
		log.Info("shutting down", "signal", sig.String())
		srv.Close()
		return nil
	case err := <-errc:
		srv.Close()
		return err
	}
}

func newLogger(level, format string) *slog.Logger {
	var lv slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lv = slog.LevelDebug
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		lv = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lv}
	if strings.ToLower(format) == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
