#!/usr/bin/env bash
# failover.sh — measure, in one run on this machine, the write outage that clients of the
# surviving members see when the leader of a 3-member corral and of a 3-member Apache
# ZooKeeper 3.8 (Debian's package, default tickTime/initLimit/syncLimit) is killed
# (SIGKILL) and frozen (SIGSTOP), and write the table into docs/failover.md.
#
#   scripts/failover.sh [-t TRIALS] [-f FREEZE] [-s SYSTEMS] [-o FILE]
#
#   -t  trials per fault and system (default 3)
#   -f  how long a frozen leader stays stopped, at least (default 15s)
#   -s  systems, in order (default corral,zookeeper)
#   -o  report file (default docs/failover.md; text below its notes marker is kept)
#
# Environment: CORRAL_BIN=path measures a prebuilt binary instead of building ./cmd/corral;
# BUDGET=seconds bounds the measurement (default 420; the script adds the build and at most
# 30 s more); KEEP=1 keeps the work directory with every member's log.
# The measuring program is internal/failover (see its package comment for the method). It
# starts every ensemble on free 127.0.0.1 ports in a temporary directory, signals only the
# processes it started, by PID, and they die with it (Pdeathsig) if it is killed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TRIALS=3
FREEZE=15s
SYSTEMS=corral,zookeeper
OUT=$ROOT/docs/failover.md
BUDGET=${BUDGET:-420}
ARGS="$*"

while getopts "t:f:s:o:h" opt; do
	case $opt in
	t) TRIALS=$OPTARG ;;
	f) FREEZE=$OPTARG ;;
	s) SYSTEMS=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/corral-failover-run.XXXXXX")
TOOL_PID=
cleanup() {
	if [[ -n $TOOL_PID ]]; then kill -TERM "$TOOL_PID" 2>/dev/null || true; wait "$TOOL_PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[%4ds] %s\n' "$SECONDS" "$*" >&2; }

if [[ -n ${CORRAL_BIN:-} ]]; then
	BIN=$CORRAL_BIN
	REV="prebuilt $("$BIN" version 2>/dev/null | head -n1)"
else
	log "building corral"
	BIN=$WORK/corral
	(cd "$ROOT" && go build -o "$BIN" ./cmd/corral)
	REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [[ -n $(git -C "$ROOT" status --porcelain -- cmd internal proto 2>/dev/null) ]]; then REV="$REV (with uncommitted changes)"; fi
fi
log "building the measuring program"
(cd "$ROOT" && go build -o "$WORK/failover" ./internal/failover/cmd)

KEEPFLAG=()
[[ -n ${KEEP:-} ]] && KEEPFLAG=(--keep --work-dir "${TMPDIR:-/tmp}")
log "measuring (bounded by ${BUDGET}s)"
# timeout is the backstop; the program itself stops at its budget and cleans up.
timeout --kill-after=10 $((BUDGET + 30)) "$WORK/failover" --corral "$BIN" --systems "$SYSTEMS" \
	--trials "$TRIALS" --freeze "$FREEZE" --budget "${BUDGET}s" --out "$OUT" --rev "$REV" \
	--command "scripts/failover.sh${ARGS:+ $ARGS}" "${KEEPFLAG[@]}" &
TOOL_PID=$!
set +e
wait "$TOOL_PID"
rc=$?
set -e
TOOL_PID=
log "report written to $OUT"
exit $rc
