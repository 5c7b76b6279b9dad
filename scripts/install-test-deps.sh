#!/usr/bin/env bash
# install-test-deps.sh — make sure the tools the interop tests drive are present.
#
#   scripts/install-test-deps.sh ["<debian package>|<file it installs>" ...]
#
# Idempotent: installs from Debian only what is missing, runs `apt-get update` at most
# once, prints nothing on success, and exits non-zero with a clear message on failure.
#
# What the tests use (Debian 12 "bookworm" paths):
#   ZooKeeper 3.8.0 server jars  /usr/share/java/zookeeper.jar (+ manifest Class-Path deps)
#   slf4j-simple (log binding)   /usr/share/java/slf4j-simple.jar
#   zkCli.sh                     /usr/share/zookeeper/bin/zkCli.sh
#   C client CLI (cli_mt)        /usr/lib/zookeeper/bin/cli_mt      (package zookeeper-bin)
#   kazoo (Python client)        /usr/lib/python3/dist-packages/kazoo, run with /usr/bin/python3
#   Java runtime                 /usr/bin/java (pulled in by zookeeper)
#   javac (test/recipes)         /usr/bin/javac                     (package default-jdk-headless)
#   Curator 5.4 (test/recipes)   /usr/share/java/curator-{recipes,framework,client}.jar
#   slf4j-nop (Curator logging)  /usr/share/java/slf4j-nop.jar      (package libslf4j-java)
#   tmux (drives `corral cli`)   /usr/bin/tmux
set -euo pipefail

die() { echo "install-test-deps: $*" >&2; exit 1; }

# Each entry: "<debian package>|<file that proves it is installed>"
wanted=(
	"zookeeper|/usr/share/zookeeper/bin/zkCli.sh"
	"libzookeeper-java|/usr/share/java/zookeeper.jar"
	"libslf4j-java|/usr/share/java/slf4j-simple.jar"
	"zookeeper-bin|/usr/lib/zookeeper/bin/cli_mt"
	"python3-kazoo|/usr/lib/python3/dist-packages/kazoo/client.py"
	"python3|/usr/bin/python3"
	"tmux|/usr/bin/tmux"
	"default-jdk-headless|/usr/bin/javac"
	"libcurator-recipes-java|/usr/share/java/curator-recipes.jar"
	"libcurator-framework-java|/usr/share/java/curator-framework.jar"
	"libcurator-client-java|/usr/share/java/curator-client.jar"
	"libslf4j-java|/usr/share/java/slf4j-nop.jar"
	"docker-compose|/usr/bin/docker-compose"
)

# Further "<package>|<file>" pairs may be given as arguments (scripts/compare.sh adds etcd).
wanted+=("$@")

missing=()
for entry in "${wanted[@]}"; do
	pkg=${entry%%|*}
	file=${entry#*|}
	[[ -e $file ]] || missing+=("$pkg")
done
if ! command -v java >/dev/null 2>&1 && [[ ! -x /usr/bin/java ]]; then
	missing+=("default-jre-headless")
fi

if ((${#missing[@]} > 0)); then
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"
	sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null 2>&1 || die "must run as root (or with sudo) to install: ${missing[*]}"
		sudo=(sudo)
	fi
	log=$(mktemp /tmp/install-test-deps.XXXXXX.log)
	export DEBIAN_FRONTEND=noninteractive
	# Try without an update first (cheap when the package lists are fresh), then update once.
	if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
		"${sudo[@]}" apt-get update -q >>"$log" 2>&1 || die "apt-get update failed; see $log"
		"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1 ||
			die "apt-get install ${missing[*]} failed; see $log"
	fi
	rm -f "$log"
fi

# Verify: every marker file must now exist and the tools must start.
for entry in "${wanted[@]}"; do
	file=${entry#*|}
	[[ -e $file ]] || die "still missing after install: $file (package ${entry%%|*})"
done
/usr/bin/java -version >/dev/null 2>&1 || die "java does not run (/usr/bin/java -version failed)"
/usr/bin/python3 -c 'import kazoo.client' >/dev/null 2>&1 || die "/usr/bin/python3 cannot import kazoo"
