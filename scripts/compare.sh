#!/usr/bin/env bash
# compare.sh — measure corral, Apache ZooKeeper 3.8 and etcd on loopback with the
# same `corral bench` workloads, and write the results (tables with the ratios
# corral/ZooKeeper and corral/etcd, and PNG bar charts of throughput and p99 latency drawn
# by `corral bench plot` into docs/benchmarks/, linked from the page) into docs/benchmarks.md.
#
#   scripts/compare.sh [-d DURATION] [-W PREWARM] [-s SESSIONS] [-k INFLIGHT] [-w WORKLOADS]
#                      [-m "1 3"] [-c CHURNERS] [-l "200000 1000000"] [-i] [-o FILE]
#
# Systems are measured one after the other: each is started, runs every workload, and is
# stopped before the next one starts. With -i (side by side), for each member count the
# three systems are started together and each workload is measured on each system in turn
# (ZooKeeper, etcd, corral), each left to settle (at most 5 % of a core over a second)
# before the next starts, so that the figures compared are taken seconds rather than
# minutes apart: on a shared VM the host's speed drifts by tens of percent over minutes.
# The two modes differ in more than the drift: one after the other, a system meets each
# workload right after its own previous one; side by side, rested.
#
# Each system first runs every workload (the churn burst too) for PREWARM (-W, default
# 3s; 0s skips it), unreported: ZooKeeper's JVM compiles its hot paths over the first tens
# of seconds of load, and measured cold it looks slower than it is.
#
# After the workloads, each system also runs session-churn with CHURNERS concurrent
# churners (-c, default 256; 0 skips it): a burst of connections beyond ZooKeeper's default
# listen backlog of 50, reported as its own row with its own count of dropped connections,
# and against `corral bench floor-server` (canned replies, no state; once at the end, or
# with -i right after each member count's bursts): what
# connections and round trips alone leave with this client on this machine, for scale.
# Besides the workloads, memory and recovery are measured on one member of corral and of
# ZooKeeper (-l: cumulative znode counts to load, 128 B each; -l "" skips it): RSS after
# each load, and the time from process start to the first served getData after a restart.
# Environment: CORRAL_BIN=path measures a prebuilt binary instead of building ./cmd/corral
# (CORRAL_REV describes it in the report); BUDGET=seconds (default 900); KEEP=1 keeps the
# work directory with every log and JSON report.
# Systems: Debian's ZooKeeper (package zookeeper; fsync on, the default), Debian's etcd
# (package etcd-server, installed when missing) and corral built from this checkout, each with 1 and
# (with -m "1 3", the default) 3 members on 127.0.0.1. A system that is not installed or
# does not come up is reported as not measured. Everything runs in a temporary directory
# and every process this script starts is killed by its PID when it ends. The whole run
# is bounded (each bench by `timeout`; once BUDGET seconds have passed, what remains is skipped).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=5s
WARMUP=1s
PREWARM=3s
SESSIONS=16
INFLIGHT=16
WORKLOADS=get,set,mixed,create,session-churn,watch,lock
CHURNERS=256
MEMBERS="1 3"
LOADS="200000 1000000"
SIDE_BY_SIDE=0
OUT=$ROOT/docs/benchmarks.md
BUDGET=${BUDGET:-900}
ZK_JAR=/usr/share/java/zookeeper.jar
SLF4J_JAR=/usr/share/java/slf4j-simple.jar
# Debian's etcd (and ZooKeeper, with the test dependencies) is installed when missing;
# NO_INSTALL=1 skips that, and what is absent is reported as not measured.
if [[ ${NO_INSTALL:-0} != 1 ]]; then
	bash "$ROOT/scripts/install-test-deps.sh" "etcd-server|/usr/bin/etcd" ||
		echo "compare: could not install the dependencies; what is missing will not be measured" >&2
fi
ETCD=$(command -v etcd || true)

while getopts "d:W:s:k:w:m:c:l:io:h" opt; do
	case $opt in
	d) DURATION=$OPTARG ;;
	W)
		PREWARM=$OPTARG
		[[ $PREWARM =~ ^[0-9]+s$ ]] || { echo "compare: -W wants a duration in seconds such as 3s (0s skips), not '$PREWARM'" >&2; exit 2; }
		;;
	s) SESSIONS=$OPTARG ;;
	k) INFLIGHT=$OPTARG ;;
	w) WORKLOADS=$OPTARG ;;
	m) MEMBERS=$OPTARG ;;
	c)
		CHURNERS=$OPTARG
		[[ $CHURNERS =~ ^(0|[1-9][0-9]{0,4})$ ]] || { echo "compare: -c wants a number of churners (0 skips), not '$CHURNERS'" >&2; exit 2; }
		;;
	l) LOADS=$OPTARG ;;
	i) SIDE_BY_SIDE=1 ;;
	o) OUT=$OPTARG ;;
	*) sed -n '2,/^set -euo/{/^#/p}' "$0"; exit 2 ;;
	esac
done

# bench_timeout DURATION prints the bound on one bench run whose workloads last DURATION
# each: 300 s, or more when they take longer (a bench cut short by it reports only the
# workloads that finished).
bench_timeout() {
	local nwl t=300
	if [[ $1 =~ ^([0-9]+)s$ ]]; then
		nwl=$(tr ',' '\n' <<<"$WORKLOADS" | grep -c .)
		t=$((nwl * (BASH_REMATCH[1] + 1) * 2 + 120))
	fi
	echo $((t > 300 ? t : 300))
}
BENCH_TIMEOUT=$(bench_timeout "$DURATION")
PREWARM_TIMEOUT=$(bench_timeout "$PREWARM")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-compare.XXXXXX")
PIDS=()
log() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }

# stop_all kills every process this script started, by PID.
stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
}
cleanup() {
	stop_all
	if [[ -n ${KEEP:-} ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ports: a random base, then consecutive ports checked to be free. alloc_port sets PORT
# (no subshell, so NEXT_PORT advances).
NEXT_PORT=$((20000 + RANDOM % 10000))
alloc_port() {
	while (exec 3<>"/dev/tcp/127.0.0.1/$NEXT_PORT") 2>/dev/null; do NEXT_PORT=$((NEXT_PORT + 1)); done
	PORT=$NEXT_PORT
	NEXT_PORT=$((NEXT_PORT + 1))
}

# fourlw PORT WORD prints the answer of a four-letter word.
fourlw() {
	timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && printf %s '$2' >&3 && cat <&3" 2>/dev/null || true
}

# CORRAL_BIN, when set, is a prebuilt corral binary to measure (and to bench with).
if [[ -n ${CORRAL_BIN:-} ]]; then
	BIN=$CORRAL_BIN
	REV="prebuilt $("$BIN" version 2>/dev/null | head -n1)${CORRAL_REV:+, $CORRAL_REV}"
else
	log "building corral"
	BIN=$WORK/corral
	(cd "$ROOT" && go build -o "$BIN" ./cmd/corral)
	REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [[ -n $(git -C "$ROOT" status --porcelain -- cmd internal proto 2>/dev/null) ]]; then REV="$REV (with uncommitted changes)"; fi
fi

# wait_zkproto ADDRS [WORKLOAD]: until a one-request bench of WORKLOAD (default get)
# succeeds on every address (at most 60 s).
wait_zkproto() {
	local a
	for a in ${1//,/ }; do
		for i in $(seq 120); do
			if timeout 10 "$BIN" bench --servers "$a" --workload "${2:-get}" --keys 1 --sessions 1 --inflight 1 \
				--requests 1 --warmup 0 -q >/dev/null 2>&1; then
				continue 2
			fi
			sleep 0.5
		done
		return 1
	done
}

start_zk() { # N -> sets ADDRS
	local n=$1 i cfg dir servers="" cls=org.apache.zookeeper.server.ZooKeeperServerMain
	[[ -f $ZK_JAR ]] || return 1
	local -a cports
	for i in $(seq "$n"); do
		alloc_port
		cports[i]=$PORT
		alloc_port
		servers+="server.$i=127.0.0.1:$PORT:"
		alloc_port
		servers+="$PORT"$'\n'
	done
	[[ $n -gt 1 ]] || servers=""
	[[ $n -gt 1 ]] && cls=org.apache.zookeeper.server.quorum.QuorumPeerMain
	ADDRS=""
	for i in $(seq "$n"); do
		dir=$WORK/zk$n-$i
		mkdir -p "$dir/data"
		echo "$i" >"$dir/data/myid"
		cfg=$dir/zoo.cfg
		cat >"$cfg" <<-CFG
			tickTime=2000
			initLimit=10
			syncLimit=5
			dataDir=$dir/data
			clientPort=${cports[i]}
			clientPortAddress=127.0.0.1
			maxClientCnxns=0
			admin.enableServer=false
			4lw.commands.whitelist=*
			autopurge.purgeInterval=0
			$servers
		CFG
		java -Xmx1g -Xms1g -Dzookeeper.admin.enableServer=false -Djava.net.preferIPv4Stack=true \
			-Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$ZK_JAR:$SLF4J_JAR" "$cls" "$cfg" \
			>"$dir/log" 2>&1 &
		PIDS+=($!)
		ADDRS+=${ADDRS:+,}127.0.0.1:${cports[i]}
	done
	for i in $(seq "$n"); do
		for _ in $(seq 120); do
			fourlw "${cports[i]}" srvr | grep -q "Mode: " && continue 2
			sleep 0.5
		done
		return 1
	done
	wait_zkproto "$ADDRS"
}

start_etcd() { # N -> sets ADDRS (client URLs)
	local n=$1 i cluster="" dir
	[[ -n $ETCD ]] || return 1
	local -a cports pports
	for i in $(seq "$n"); do
		alloc_port
		cports[i]=$PORT
		alloc_port
		pports[i]=$PORT
		cluster+=${cluster:+,}e$i=http://127.0.0.1:${pports[i]}
	done
	ADDRS=""
	for i in $(seq "$n"); do
		dir=$WORK/etcd$n-$i
		mkdir -p "$dir"
		"$ETCD" --name "e$i" --data-dir "$dir/data" \
			--listen-client-urls "http://127.0.0.1:${cports[i]}" --advertise-client-urls "http://127.0.0.1:${cports[i]}" \
			--listen-peer-urls "http://127.0.0.1:${pports[i]}" --initial-advertise-peer-urls "http://127.0.0.1:${pports[i]}" \
			--initial-cluster "$cluster" --initial-cluster-state new >"$dir/log" 2>&1 &
		PIDS+=($!)
		ADDRS+=${ADDRS:+,}http://127.0.0.1:${cports[i]}
	done
	for i in $(seq "$n"); do
		for _ in $(seq 120); do
			curl -sf "http://127.0.0.1:${cports[i]}/health" | grep -q '"true"' && continue 2
			sleep 0.5
		done
		return 1
	done
}

start_corral() { # N -> sets ADDRS
	local n=$1 i dir peers=""
	local -a cports pports
	for i in $(seq "$n"); do
		alloc_port
		cports[i]=$PORT
		alloc_port
		pports[i]=$PORT
		peers+=${peers:+,}$i=127.0.0.1:${pports[i]}
	done
	ADDRS=""
	for i in $(seq "$n"); do
		dir=$WORK/corral$n-$i
		mkdir -p "$dir"
		local -a cluster=()
		[[ $n -gt 1 ]] && cluster=(--id "$i" --peer-addr "127.0.0.1:${pports[i]}" --peers "$peers")
		"$BIN" server --client-addr "127.0.0.1:${cports[i]}" --data-dir "$dir/data" --log-level warn \
			"${cluster[@]}" >"$dir/log" 2>&1 &
		PIDS+=($!)
		ADDRS+=${ADDRS:+,}127.0.0.1:${cports[i]}
	done
	wait_zkproto "$ADDRS" || return 1
	# A build without cluster mode runs every member standalone: that is no cluster.
	if [[ $n -gt 1 ]] && fourlw "${cports[1]}" srvr | grep -q "Mode: standalone"; then
		log "corral x$n: members report Mode: standalone (no cluster mode in this build)"
		return 1
	fi
	if [[ $n -gt 1 ]]; then
		local modes=""
		for i in $(seq "$n"); do modes+=" $(fourlw "${cports[i]}" srvr | sed -n 's/^Mode: //p')"; done
		log "corral x$n: modes:$modes"
	fi
}






# The yardstick of session churn: a server that keeps no state and only answers, with
# canned replies (`corral bench floor-server`, a goroutine per connection like corral),
# under the same client and churners. What it reaches is what connections and round
# trips alone leave on this machine. It is measured once after the systems
# (measure_floor: $WORK/floor-burst.json), or with -i right after the systems' churn
# bursts of each member count (measure_side_by_side: $WORK/floor-N-burst.json).
start_floor() { # N -> sets ADDRS
	local dir=$WORK/floor$1-1
	mkdir -p "$dir"
	alloc_port
	ADDRS=127.0.0.1:$PORT
	"$BIN" bench floor-server --listen "$ADDRS" --duration 0 2>"$dir/log" &
	PIDS+=($!)
	# It answers no getData: wait with the workload it serves.
	wait_zkproto "$ADDRS" session-churn
}

# start_one SYSTEM N starts SYSTEM with N members (start_zk, start_etcd, start_corral,
# start_floor) and records its addresses and process ids in SYS_ADDRS and SYS_PIDS; one
# that does not come up is stopped again and reported as not measured.
declare -A SYS_ADDRS SYS_PIDS
start_one() {
	local sys=$1 n=$2 first=${#PIDS[@]} pid
	# No system pays for another one's writes: flush the dirty pages left so far.
	sync
	log "$sys x$n: starting"
	if ! "start_$sys" "$n"; then
		log "$sys x$n: did not start (not measured); logs:"
		tail -n 5 "$WORK/$sys$n"-*/log 2>/dev/null >&2 || true
		for pid in "${PIDS[@]:first}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
		PIDS=("${PIDS[@]:0:first}")
		return 1
	fi
	SYS_ADDRS[$sys]=$ADDRS
	SYS_PIDS[$sys]=$(IFS=,; echo "${PIDS[*]:first}")
}

# use SYSTEM points run_bench and prewarm at SYSTEM's servers.
use() {
	sys=$1
	if [[ $sys == etcd ]]; then target=(--etcd "${SYS_ADDRS[$sys]}"); else target=(--servers "${SYS_ADDRS[$sys]}"); fi
	SPIDS=${SYS_PIDS[$sys]}
}

# warm runs the warm-up pass on the system in use: every workload (and the churn burst)
# for PREWARM, unreported.
warm() {
	[[ $PREWARM != 0s ]] || return 0
	log "$sys x$n: warm-up pass, $PREWARM per workload (not reported)"
	prewarm --workload "$WORKLOADS" --sessions "$SESSIONS" --inflight "$INFLIGHT"
	if [[ $CHURNERS -gt 0 ]]; then prewarm --workload session-churn --sessions "$CHURNERS"; fi
}

# measure SYSTEM N (the default, one system after the other): start it, run the
# workloads, stop it. Results in $WORK/SYSTEM-N.json and $WORK/SYSTEM-N-burst.json.
measure() {
	local sys=$1 n=$2
	if ((SECONDS > BUDGET)); then
		log "$sys x$n: skipped, time budget of ${BUDGET}s spent"
		return 0
	fi
	start_one "$sys" "$n" || return 0
	use "$sys"
	warm
	log "$sys x$n: running $WORKLOADS on ${SYS_ADDRS[$sys]}"
	run_bench "$WORK/$sys-$n" --workload "$WORKLOADS" --sessions "$SESSIONS" --inflight "$INFLIGHT"
	if [[ $CHURNERS -gt 0 ]]; then
		log "$sys x$n: session-churn with $CHURNERS churners"
		run_bench "$WORK/$sys-$n-burst" --workload session-churn --sessions "$CHURNERS" --label "$CHURNERS churners"
	fi
	stop_all
}

# measure_floor (the default): the floor server's churn burst, once. Result:
# $WORK/floor-burst.json.
measure_floor() {
	local sys n=1
	[[ $CHURNERS -gt 0 ]] || return 0
	if ((SECONDS > BUDGET)); then
		log "floor: skipped, time budget of ${BUDGET}s spent"
		return 0
	fi
	start_one floor "$n" || return 0
	use floor
	log "floor: session-churn with $CHURNERS churners against canned replies on ${SYS_ADDRS[floor]}"
	run_bench "$WORK/floor-burst" --workload session-churn --sessions "$CHURNERS" --label "$CHURNERS churners"
	stop_all
}

# cpu_ticks PIDS prints the CPU time (user and system, in clock ticks) the comma-separated
# processes have used so far.
cpu_ticks() {
	local p t=0
	local -a f
	for p in ${1//,/ }; do
		read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
		t=$((t + f[13] + f[14]))
	done
	echo "$t"
}

# settle waits until the system just measured is quiet: at most 5 % of a core over a
# second (at most 20 s). Work a system leaves behind a workload (collections, compactions,
# a backlog of fsyncs) must not run while the next system is measured.
settle() {
	local before after hz i
	hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
	for i in $(seq 20); do
		before=$(cpu_ticks "$SPIDS")
		sleep 1
		after=$(cpu_ticks "$SPIDS")
		((100 * (after - before) <= 5 * hz)) && return 0
	done
	log "$sys x$n: still busy 20 s after its $1 (measured on)"
}

# measure_side_by_side N (-i): start every system with N members (and the floor server), then
# measure each workload on each system in turn, so that the figures of one workload are
# taken within seconds of each other: on a shared VM the host's speed drifts by tens of
# percent over minutes, and measured minutes apart the ratios would carry that drift.
# The systems not measured at a moment sit idle; after each bench, the system measured is
# left to settle (settle) before the next one starts. Results: $WORK/SYSTEM-N-WORKLOAD.json
# and $WORK/SYSTEM-N-burst.json.
measure_side_by_side() {
	local n=$1 sys w
	local -a up=()
	if ((SECONDS > BUDGET)); then
		log "x$n: skipped, time budget of ${BUDGET}s spent"
		return 0
	fi
	for sys in zk etcd corral; do
		start_one "$sys" "$n" && up+=("$sys")
	done
	if [[ $CHURNERS -gt 0 ]] && start_one floor "$n"; then FLOOR_UP=1; else FLOOR_UP=0; fi
	if [[ $PREWARM != 0s ]]; then
		for sys in "${up[@]}"; do
			use "$sys"
			warm
			settle "warm-up pass"
		done
	fi
	for w in ${WORKLOADS//,/ }; do
		if ((SECONDS > BUDGET)); then
			log "x$n: $w and what follows skipped, time budget of ${BUDGET}s spent"
			break
		fi
		log "x$n: $w on ${up[*]}"
		for sys in "${up[@]}"; do
			use "$sys"
			sync
			run_bench "$WORK/$sys-$n-$w" --workload "$w" --sessions "$SESSIONS" --inflight "$INFLIGHT"
			settle "$w"
		done
	done
	if [[ $CHURNERS -gt 0 ]] && ((SECONDS <= BUDGET)); then
		[[ $FLOOR_UP == 1 ]] && up+=(floor)
		log "x$n: session-churn with $CHURNERS churners on ${up[*]}"
		for sys in "${up[@]}"; do
			use "$sys"
			sync
			run_bench "$WORK/$sys-$n-burst" --workload session-churn --sessions "$CHURNERS" --label "$CHURNERS churners"
			settle "churn burst"
		done
	fi
	stop_all
}

# run_bench OUT ARGS... runs one bench (with $target, the duration and the warm-up) and
# leaves OUT.json, OUT.txt, OUT.err and, in OUT.ovf, the connections dropped at a full
# listen queue meanwhile. A failed bench is logged; its report keeps the workloads that
# finished, and the others read "–".
run_bench() {
	local out=$1 ovf0 ovf1
	shift
	ovf0=$(listen_overflows)
	# The servers' CPU time over each measured window comes with the results.
	if ! timeout "$BENCH_TIMEOUT" "$BIN" bench "${target[@]}" "$@" --duration "$DURATION" --warmup "$WARMUP" \
		--server-pids "$SPIDS" -q --json --out "$out.json" >"$out.txt" 2>"$out.err"; then
		log "$(basename "$out"): bench failed (workloads before the failure are kept): $(tail -n 3 "$out.err")"
	fi
	ovf1=$(listen_overflows)
	[[ -z $ovf0 || -z $ovf1 ]] || echo $((ovf1 - ovf0)) >"$out.ovf"
}

# prewarm ARGS... runs one bench of PREWARM per workload and throws its report away
# (kept in $WORK/SYS-N-prewarm.txt); a failure is logged and the measurement goes on.
prewarm() {
	if ! timeout "$PREWARM_TIMEOUT" "$BIN" bench "${target[@]}" "$@" --duration "$PREWARM" --warmup 0s -q \
		>>"$WORK/$sys-$n-prewarm.txt" 2>&1; then
		log "$sys x$n: warm-up pass failed: $(tail -n 3 "$WORK/$sys-$n-prewarm.txt")"
	fi
}

# listen_overflows prints the host's count of connections dropped because a listen
# queue was full (TcpExt ListenOverflows, /proc/net/netstat), or nothing if unknown.
listen_overflows() {
	awk '$1 == "TcpExt:" { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 } else if ("ListenOverflows" in col) print $col["ListenOverflows"] }' \
		/proc/net/netstat 2>/dev/null
}

if [[ $SIDE_BY_SIDE == 1 ]]; then
	for n in $MEMBERS; do measure_side_by_side "$n"; done
else
	for n in $MEMBERS; do
		for sys in zk etcd corral; do measure "$sys" "$n"; done
	done
	measure_floor
fi


# Memory and recovery, one member each: start on a data dir, load znodes, read RSS;
# restart and time process start -> first served getData. Results: $WORK/mem-SYS.txt.
# status_kb PID FIELD prints a kB field of /proc/PID/status (0 if the process is gone).
status_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_kb() { status_kb "$1" VmRSS; }
# settled_rss_kb prints the RSS once it has settled: read every 0.5 s from 2 s on, until two
# readings in a row differ by less than 1 % (at most 10 s). A garbage-collected process
# holds its load's garbage for a moment (corral frees it and returns it to the OS once
# idle, a second or so after a large load on a 2-core machine); what it keeps is its size.
settled_rss_kb() {
	local pid=$1 prev cur i
	sleep 2
	prev=$(rss_kb "$pid")
	for i in $(seq 16); do
		sleep 0.5
		cur=$(rss_kb "$pid")
		if ((cur * 100 >= prev * 99 && cur * 100 <= prev * 101)); then break; fi
		prev=$cur
	done
	echo "$cur"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

mem_start() { # SYS DIR PORT -> MPID
	local sys=$1 dir=$2 port=$3
	case $sys in
	zk)
		mkdir -p "$dir/data"
		cat >"$dir/zoo.cfg" <<-CFG
			tickTime=2000
			dataDir=$dir/data
			clientPort=$port
			clientPortAddress=127.0.0.1
			maxClientCnxns=0
			admin.enableServer=false
			4lw.commands.whitelist=*
			autopurge.purgeInterval=0
		CFG
		java -Xmx2g -Dzookeeper.admin.enableServer=false -Djava.net.preferIPv4Stack=true \
			-Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$ZK_JAR:$SLF4J_JAR" \
			org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" >>"$dir/log" 2>&1 &
		;;
	corral)
		"$BIN" server --client-addr "127.0.0.1:$port" --data-dir "$dir/data" --log-level warn >>"$dir/log" 2>&1 &
		;;
	esac
	MPID=$!
	PIDS+=($MPID)
}

mem_stop() { # PID
	kill -TERM "$1" 2>/dev/null || true
	for _ in $(seq 300); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

measure_mem() { # SYS
	local sys=$1 dir=$WORK/mem-$1 port loaded=0 n t0 t1 out=$WORK/mem-$1.txt
	[[ $sys != zk || -f $ZK_JAR ]] || return 0
	mkdir -p "$dir"
	alloc_port
	port=$PORT
	mem_start "$sys" "$dir" "$port"
	if ! timeout 120 "$BIN" bench probe --server "127.0.0.1:$port" --path / --timeout 110s 2>>"$dir/log"; then
		log "$sys memory: did not start"
		mem_stop "$MPID"
		return 0
	fi
	sleep 1
	echo "idle_rss_kb=$(rss_kb "$MPID")" >"$out"
	for n in $LOADS; do
		log "$sys memory: loading to $n znodes"
		if ! timeout 900 "$BIN" bench load --server "127.0.0.1:$port" --from "$loaded" --count $((n - loaded)) \
			--value-size 128 >>"$dir/load.txt" 2>&1; then
			log "$sys memory: load failed: $(tail -n 2 "$dir/load.txt")"
			break
		fi
		loaded=$n
		echo "rss_kb_$n=$(settled_rss_kb "$MPID")" >>"$out"
		echo "peak_kb_$n=$(status_kb "$MPID" VmHWM)" >>"$out"
		mem_stop "$MPID"
		t0=$(now_ms)
		mem_start "$sys" "$dir" "$port"
		if timeout 600 "$BIN" bench probe --server "127.0.0.1:$port" --path "/corral-load/p-$(printf %05d $(((n - 1) / 1000)))/n-$(printf %08d $((n - 1)))" \
			--timeout 590s 2>>"$dir/log"; then
			t1=$(now_ms)
			echo "recovery_ms_$n=$((t1 - t0))" >>"$out"
			echo "rss_kb_restarted_$n=$(settled_rss_kb "$MPID")" >>"$out"
			log "$sys memory: $n znodes, recovery $((t1 - t0)) ms"
		else
			log "$sys memory: no read served after restart with $n znodes"
			break
		fi
	done
	mem_stop "$MPID"
	PIDS=()
}

if [[ -n $LOADS ]]; then
	for sys in zk corral; do measure_mem "$sys"; done
fi

# mem_table prints the memory and recovery table from $WORK/mem-*.txt.
mem_table() {
	local n sys v
	declare -A M
	for sys in corral zk; do
		[[ -f $WORK/mem-$sys.txt ]] || continue
		while IFS== read -r k v; do M[$sys.$k]=$v; done <"$WORK/mem-$sys.txt"
	done
	echo "| znodes (128 B) | corral RSS MB | zookeeper RSS MB | corral B/znode | zookeeper B/znode | B/znode corral/zookeeper | corral peak RSS MB | zookeeper peak RSS MB | corral recovery s | zookeeper recovery s | recovery corral/zookeeper | corral RSS after restart MB | zookeeper RSS after restart MB |"
	echo "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
	echo "| 0 (idle) | $(mb "${M[corral.idle_rss_kb]:-}") | $(mb "${M[zk.idle_rss_kb]:-}") | | | | | | | | | | |"
	for n in $LOADS; do
		local cr=${M[corral.rss_kb_$n]:-} zr=${M[zk.rss_kb_$n]:-} ci=${M[corral.idle_rss_kb]:-} zi=${M[zk.idle_rss_kb]:-}
		local cb="" zb=""
		[[ -n $cr && -n $ci ]] && cb=$(((cr - ci) * 1024 / n))
		[[ -n $zr && -n $zi ]] && zb=$(((zr - zi) * 1024 / n))
		local ct=${M[corral.recovery_ms_$n]:-} zt=${M[zk.recovery_ms_$n]:-}
		echo "| $n | $(mb "$cr") | $(mb "$zr") | ${cb:-–} | ${zb:-–} | $(ratio "$cb" "$zb") | $(mb "${M[corral.peak_kb_$n]:-}") | $(mb "${M[zk.peak_kb_$n]:-}") | $(secs "$ct") | $(secs "$zt") | $(ratio "$ct" "$zt") | $(mb "${M[corral.rss_kb_restarted_$n]:-}") | $(mb "${M[zk.rss_kb_restarted_$n]:-}") |"
	done
}
# json_num FILE KEY prints the first numeric KEY of a --json report, rounded, or nothing.
json_num() {
	[[ -s $1 ]] || return 0
	grep -o "\"$2\": *[0-9.e+]*" "$1" | head -n 1 | sed 's/.*: *//' | awk '{printf "%.0f", $1}'
}

# floor_line N prints, for N members, the churn burst of corral and ZooKeeper against
# the floor server's, measured right after them (measure), when there is one.
floor_line() {
	local f c z
	local fj=$WORK/floor-$1-burst.json
	[[ -s $fj ]] || fj=$WORK/floor-burst.json
	f=$(json_num "$fj" ops_per_sec)
	[[ -n $f && $f != 0 ]] || return 0
	c=$(json_num "$WORK/corral-$1-burst.json" ops_per_sec)
	z=$(json_num "$WORK/zk-$1-burst.json" ops_per_sec)
	local twice="" fcpu
	[[ -n $z ]] && twice="; twice ZooKeeper's rate would be $(ratio "$((2 * z))" "$f") of it"
	fcpu=$(json_num "$fj" server_cpu_us_per_op)
	echo "For scale, session-churn with $CHURNERS churners against a server that keeps no state and only answers" \
		"(\`corral bench floor-server\`, canned replies${fcpu:+, $fcpu µs of CPU per session}), under the same client: $f sessions/s," \
		"what connections and round trips alone leave on this machine. corral reaches $(ratio "$c" "$f") of it, ZooKeeper $(ratio "$z" "$f")$twice."
	echo
}
mb() { if [[ -n $1 ]]; then awk -v k="$1" 'BEGIN {printf "%.0f", k/1024}'; else echo "–"; fi; }
secs() { if [[ -n $1 ]]; then awk -v m="$1" 'BEGIN {printf "%.2f", m/1000}'; else echo "–"; fi; }
ratio() { if [[ -n $1 && -n $2 && $2 != 0 ]]; then awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a/b}'; else echo "–"; fi; }

# files SYSTEM N prints the comma-separated reports of SYSTEM with N members: its
# workloads (one report, or with -i one per workload, in the order run) and its churn burst.
files() {
	local w out=""
	if [[ $SIDE_BY_SIDE == 1 ]]; then
		for w in ${WORKLOADS//,/ } burst; do out+="${out:+,}$WORK/$1-$2-$w.json"; done
	else
		out="$WORK/$1-$2.json,$WORK/$1-$2-burst.json"
	fi
	echo "$out"
}

# reports N sets REPORTS to the NAME=FILE,FILE arguments of `corral bench compare` and
# `plot` for N members: each system's workloads and its churn burst.
reports() {
	REPORTS=("corral=$(files corral "$1")" "zookeeper=$(files zk "$1")" "etcd=$(files etcd "$1")")
}

# overflows N [burst] prints "corral N, zookeeper N, etcd N": the connections dropped at a
# full listen queue during each system's workloads (or, with burst, its churn burst), from
# the $WORK/SYS-N*.ovf files there are.
overflows() {
	local sys f total out="" w
	local -a list
	for sys in corral zk etcd; do
		if [[ ${2:-} == burst ]]; then
			list=("$WORK/$sys-$1-burst.ovf")
		else
			list=("$WORK/$sys-$1.ovf")
			for w in ${WORKLOADS//,/ }; do list+=("$WORK/$sys-$1-$w.ovf"); done
		fi
		total=""
		for f in "${list[@]}"; do
			[[ -f $f ]] && total=$((${total:-0} + $(cat "$f")))
		done
		[[ -n $total ]] && out+="${out:+, }${sys/zk/zookeeper} $total"
	done
	echo "$out"
}

# Plots: PNG bar charts of throughput and p99 per member count, drawn from the JSON
# reports (still in $WORK: it is removed only on exit) into the directory named after the
# page (docs/benchmarks/ for docs/benchmarks.md), linked relative to the page.
PLOTREL=$(basename "$OUT" .md)
PLOTDIR=$(dirname "$OUT")/$PLOTREL
declare -A PLOTTED
for n in $MEMBERS; do
	members="$n member"
	if [[ $n -gt 1 ]]; then members+=s; fi
	reports "$n"
	if "$BIN" bench plot --dir "$PLOTDIR" --prefix "${members// /-}" --title "$members" \
		"${REPORTS[@]}" >/dev/null 2>"$WORK/plot-$n.err"; then
		PLOTTED[$n]=${members// /-}
	else
		log "plots for $members not drawn: $(tail -n 1 "$WORK/plot-$n.err")"
	fi
done

# The report.
IFLAG=""
[[ $SIDE_BY_SIDE == 1 ]] && IFLAG=" -i"
CMD="scripts/compare.sh$IFLAG -d $DURATION -W $PREWARM -s $SESSIONS -k $INFLIGHT -w $WORKLOADS -m \"$MEMBERS\" -c $CHURNERS -l \"$LOADS\""
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
ZKV=$(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo "not installed")
ETCDV=$(dpkg-query -W -f '${Version}' etcd-server 2>/dev/null || echo "not installed")
JAVAV=$(java -version 2>&1 | head -n1 || true)
if [[ $SIDE_BY_SIDE == 1 ]]; then
	ORDER_TEXT="side by side (-i): the systems of one member count ran together, idle but
  for the one measured, and each workload was measured on each of them in turn, seconds apart."
else
	ORDER_TEXT="one after the other: each system was started, ran every workload and was
  stopped before the next one started."
fi
BURST_TEXT=""
if [[ $CHURNERS -gt 0 ]]; then
	BURST_TEXT="then, on the same servers, session-churn again with $CHURNERS concurrent churners (the row
  \"session-churn ($CHURNERS churners)\"; -c 0 skips it); "
fi
{
	cat <<-MD
		# Benchmarks: corral, Apache ZooKeeper and etcd

		Produced by \`scripts/compare.sh\`; rerun it to refresh this page. Numbers are only
		comparable within one run: every system ran on the same machine, on loopback, measured
		by the same client, $ORDER_TEXT

		- date: $(date -u '+%Y-%m-%d %H:%M UTC')
		- machine: $(nproc) cores ($CPU), $MEM, $(uname -sr); data directories on $(df -h "$WORK" | awk 'NR==2 {print $1}')
		- command: \`$CMD\`
		- corral: $REV, built with $(go version | cut -d' ' -f3)
		- ZooKeeper: Debian zookeeper $ZKV ($JAVAV, -Xmx1g, defaults otherwise: fsync on, maxClientCnxns=0)
		- etcd: Debian etcd-server $ETCDV (defaults)
		- load: \`corral bench\`, $SESSIONS sessions x $INFLIGHT requests in flight (get, set, mixed, create),
		  $SESSIONS watchers / lock contenders / concurrent churners; a warm-up pass first (every workload for $PREWARM, not reported),
		  then per workload ${WARMUP} of warm-up and $DURATION measured;
		  ${BURST_TEXT}values of 128 B; mixed is 90 % reads. ZooKeeper-protocol servers (corral, ZooKeeper) are driven by
		  corral's pipelined raw client, etcd by go.etcd.io/etcd/client/v3 (serializable reads).
		  The client runs on the same 2 cores as the servers.

		Ratios are corral / other: above 1 is better for corral in ops/s, below 1 is better
		for corral in p99. "–" means not measured (not installed, failed to start, skipped, or
		the bench failed before that workload: see the full results).

	MD
	for n in $MEMBERS; do
		echo "## $n member$([[ $n -gt 1 ]] && echo s)"
		echo
		reports "$n"
		"$BIN" bench compare "${REPORTS[@]}" 2>"$WORK/compare-$n.err" ||
			echo "(no table: \`corral bench compare\` failed: $(tail -n 1 "$WORK/compare-$n.err"))"
		echo
		ovf=$(overflows "$n")
		if [[ -n $ovf ]]; then
			echo "Connections dropped at a full listen queue (TcpExt ListenOverflows) during all the workloads: $ovf."
			echo
		fi
		ovf=$(overflows "$n" burst)
		if [[ -n $ovf ]]; then
			echo "The same during session-churn with $CHURNERS churners: $ovf."
			echo
		fi
		floor_line "$n"
		if [[ -n ${PLOTTED[$n]:-} ]]; then
			echo "![throughput, $n member(s)]($PLOTREL/${PLOTTED[$n]}-throughput.png)"
			echo "![p99 latency, $n member(s)]($PLOTREL/${PLOTTED[$n]}-p99.png)"
			echo
		fi
	done
	if [[ -n $LOADS ]]; then
		cat <<-MD
			## Memory and recovery (1 member)

			Each system alone on a fresh data dir: \`corral bench load\` creates the znodes (128 B of data,
			1000 per parent, pipelined on one session), RSS (VmRSS) is read once it has settled after
			each load (from 2 s on, every 0.5 s, until two readings differ by less than 1 %, at most
			10 s; peak RSS is VmHWM, the most the process held, during the loads), then the process is
			stopped (SIGTERM) and started again on the same data dir, and recovery is the time from
			that start to the first getData served (\`corral bench probe\`, retrying every 5 ms); RSS
			after restart is read the same way. B/znode is (RSS after the load − RSS idle) / znodes. ZooKeeper runs with
			-Xmx2g here (no -Xms), its defaults otherwise (snapCount 100000); corral with its
			defaults (snapshot every 100000 entries and at a graceful stop when 10000 entries were
			applied since the last, GOGC 100 once started, memory returned to the OS when idle;
			ZooKeeper writes no snapshot at stop and replays its log). Ratios are corral / ZooKeeper:
			below 1 is better for corral.

		MD
		mem_table
		echo
	fi
	cat <<-MD
		## What each workload measures

		- **get / set / mixed**: getData / setData (etcd: serializable Get / Put) on 1000 keys.
		- **create**: persistent-sequential creates under one parent (etcd: a create-if-absent txn on a fresh key).
		- **session-churn**: open a session, create an ephemeral node, close the session; ops are sessions;
		  p99 is of the connect (TCP connect + handshake; etcd: new client + lease grant). With
		  more concurrent connects than a listen backlog holds, the kernel drops SYNs and the
		  client retransmits after 1 s: that shows in p99.9 and in the dropped-connection counts.
		- **watch**: one-shot data watches re-armed before each write (etcd: persistent watches);
		  ops are delivered events; latency from the write's acknowledgement to each event. The
		  writes go to each member in turn (etcd: through one client over all members), so the
		  leader and the followers answer their share whichever member was elected.
		- **lock**: the Curator/kazoo lock recipe (ephemeral-sequential child, watch the predecessor;
		  etcd: concurrency.Mutex); ops are acquisitions; latency is the wait for the lock.

		## Full results

	MD
	for n in $MEMBERS; do
		for sys in corral zk etcd; do
			txts=()
			for w in "" ${WORKLOADS//,/ }; do [[ -s $WORK/$sys-$n${w:+-$w}.txt ]] && txts+=("$WORK/$sys-$n${w:+-$w}.txt"); done
			[[ ${#txts[@]} -gt 0 || -s $WORK/$sys-$n-burst.txt ]] || continue
			echo "<details><summary>$sys, $n member(s)</summary>"
			echo
			echo '```'
			# One table of the workloads (each report's header once, its rows), then the details.
			if [[ ${#txts[@]} -gt 0 ]]; then
				awk 'FNR == 1 { body = 0; if (!h++) print; next }
					!body && /^ / { print; next }
					{ body = 1; rest = rest $0 "\n" }
					END { printf "%s", rest }' "${txts[@]}"
			fi
			if [[ -s $WORK/$sys-$n-burst.txt ]]; then
				echo
				cat "$WORK/$sys-$n-burst.txt"
			fi
			echo '```'
			echo
			echo "</details>"
			echo
		done
	done
	# Hand-written notes at the end of the page (from this marker on) are kept.
	if [[ -f $OUT ]]; then sed -n '/^<!-- kept by compare.sh -->$/,$p' "$OUT"; fi
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "wrote $OUT"
