#!/usr/bin/env bash
# etcd-cluster.sh: a 3-member etcd cluster on loopback, for trying `--store etcd://...` and for
# the CLI, crash and benchmark runs. It runs Debian's etcd-server (etcd 3.4 or later) with the
# server's default limits (no flags that a user's cluster would not have).
#
#   scripts/etcd-cluster.sh up   [DIR]   start the members (data and logs under DIR) and wait
#                                        until the cluster has a leader; print the store URL
#   scripts/etcd-cluster.sh down [DIR]   stop the members started in DIR (data stays)
#   scripts/etcd-cluster.sh status [DIR] print each member's state
#   scripts/etcd-cluster.sh endpoints    print the client endpoints (HOST:PORT,...)
#   scripts/etcd-cluster.sh clean [DIR]  stop the members and remove DIR
#
# DIR defaults to $ETCD_CLUSTER_DIR or .etcd-cluster in the current directory. Ports: member i
# (0, 1, 2) serves clients on BASE+2i and peers on BASE+2i+1, BASE = $ETCD_CLUSTER_PORT or 23790.
# Each member's pid is in DIR/mI.pid and its log in DIR/mI.log; `down` stops exactly those pids.
set -euo pipefail

cmd="${1:-}"
dir="${2:-${ETCD_CLUSTER_DIR:-.etcd-cluster}}"
base="${ETCD_CLUSTER_PORT:-23790}"
members=(0 1 2)

die() { echo "etcd-cluster: $*" >&2; exit 1; }

client_port() { echo $((base + 2 * $1)); }
peer_port() { echo $((base + 2 * $1 + 1)); }

endpoints() {
	local eps=() i
	for i in "${members[@]}"; do eps+=("127.0.0.1:$(client_port "$i")"); done
	local IFS=,
	echo "${eps[*]}"
}

running() { # running I: member I's recorded pid is alive and is an etcd
	local pidf="$dir/m$1.pid" pid
	[[ -f "$pidf" ]] || return 1
	pid="$(cat "$pidf")"
	[[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && grep -q etcd "/proc/$pid/comm" 2>/dev/null
}

up() {
	command -v etcd >/dev/null || die "etcd is not installed (Debian: apt-get install etcd-server etcd-client)"
	mkdir -p "$dir"
	local initial=() i
	for i in "${members[@]}"; do initial+=("m$i=http://127.0.0.1:$(peer_port "$i")"); done
	local IFS=,
	local cluster="${initial[*]}"
	unset IFS
	for i in "${members[@]}"; do
		if running "$i"; then continue; fi
		local state=new
		[[ -d "$dir/m$i/member" ]] && state=existing
		# setsid: the members outlive this script and get no signal from its terminal.
		setsid etcd --name "m$i" --data-dir "$dir/m$i" \
			--listen-client-urls "http://127.0.0.1:$(client_port "$i")" \
			--advertise-client-urls "http://127.0.0.1:$(client_port "$i")" \
			--listen-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
			--initial-advertise-peer-urls "http://127.0.0.1:$(peer_port "$i")" \
			--initial-cluster "$cluster" --initial-cluster-state "$state" \
			--initial-cluster-token "wasmrun-etcd-cluster" \
			>"$dir/m$i.log" 2>&1 </dev/null &
		echo $! >"$dir/m$i.pid"
	done
	local eps
	eps="$(endpoints)"
	for _ in $(seq 1 300); do
		if ETCDCTL_API=3 etcdctl --endpoints "$eps" --dial-timeout 1s --command-timeout 2s endpoint health >/dev/null 2>&1; then
			echo "etcd cluster up in $dir: --store etcd://$eps/NAME"
			return 0
		fi
		for i in "${members[@]}"; do
			running "$i" || { tail -n 20 "$dir/m$i.log" >&2; die "member m$i exited (log: $dir/m$i.log)"; }
		done
		sleep 0.1
	done
	die "cluster not healthy after 30s (logs: $dir/m*.log)"
}

down() {
	local i pid
	for i in "${members[@]}"; do
		if running "$i"; then
			pid="$(cat "$dir/m$i.pid")"
			kill "$pid"
			for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
		fi
		rm -f "$dir/m$i.pid"
	done
}

status() {
	local i
	for i in "${members[@]}"; do
		if running "$i"; then
			echo "m$i: running (pid $(cat "$dir/m$i.pid"), 127.0.0.1:$(client_port "$i"))"
		else
			echo "m$i: stopped"
		fi
	done
}

case "$cmd" in
up) up ;;
down) down ;;
status) status ;;
endpoints) endpoints ;;
clean) down; rm -rf "$dir" ;;
*) die "usage: $0 up|down|status|endpoints|clean [DIR]" ;;
esac
