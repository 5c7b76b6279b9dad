#!/usr/bin/env bash
# Runs corral's whole test suite: formatting and vet checks, unit, integration and
# interop tests (against Debian's ZooKeeper, kazoo, zkCli.sh and the C client, which
# it installs when missing), and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
go test -count=1 -timeout 20m ./...

echo "== go test -race (core packages)"
go test -count=1 -race -timeout 15m ./proto/ ./internal/tree/ ./internal/server/ ./internal/raftnode/

echo "== fuzz (short)"
# An execution count, not a duration: Go 1.26's fuzz coordinator can report a bare
# "context deadline exceeded" failure when a duration runs out (golang/go#75804,
# fixed in Go 1.27); a count has no deadline to race.
FUZZTIME=${FUZZTIME:-100000x}
for pkg in ./proto ./internal/tree; do
	for target in $(go test -list 'Fuzz.*' "$pkg" | grep '^Fuzz' || true); do
		echo "-- $pkg $target"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"
	done
done
echo "== all tests passed"
