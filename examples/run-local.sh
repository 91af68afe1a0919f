#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Copyright (C) 2026 The dockerfleet Authors
#
# Shows the Docker events of the local daemon through dockerfleet, as they
# arrive. Called by `make run` with the path of the built libdockerfleet.so.
#
# - With Falco, runs Falco with the plugin, examples/falco-single-host.yaml
#   and the shipped rules: Falco is $FALCO, else falco on PATH, else the
#   shared build beside the repository (../shared/tools/falco/falco) when it
#   exists. It runs without a system call driver (engine nodriver,
#   --disable-source syscall): only the docker source of the plugin.
# - Without Falco, runs dockerfleet tail, a small host of this project that
#   loads the same .so through the plugin C ABI and prints each event's
#   string form.
# - OPEN_PARAMS, when set, replaces the example's empty open_params (hosts
#   to watch, as in examples/falco-fleet.yaml).
# - With no daemon answering on /var/run/docker.sock (and DOCKER_HOST unset),
#   installs docker.io when dockerd is missing and starts one (needs root);
#   that daemon runs in this script's process group, so Ctrl-C stops it too.
# - Unless DEMO=0, makes a little activity (a container created, started,
#   exec'd, killed, removed; a volume and a network) so that events show up.
set -euo pipefail

so=${1:?usage: run-local.sh /path/to/libdockerfleet.so}
repo=$(cd "$(dirname "$0")/.." && pwd)
state=${DOCKERFLEET_RUN_DIR:-/tmp/dockerfleet-run}
mkdir -p "$state"
if [ -n "${FALCO:-}" ] && ! command -v "$FALCO" >/dev/null; then
  echo "FALCO=$FALCO is not an executable" >&2
  exit 1
fi

daemon_answers() {
  if [ -n "${DOCKER_HOST:-}" ]; then docker version >/dev/null 2>&1; return; fi
  [ -S /var/run/docker.sock ] && docker -H unix:///var/run/docker.sock version >/dev/null 2>&1
}

start_local_daemon() {
  if [ "$(id -u)" != 0 ]; then
    echo "no Docker daemon answers on /var/run/docker.sock; start one (or set DOCKER_HOST) and run again" >&2
    exit 1
  fi
  if ! command -v dockerd >/dev/null; then
    echo "installing docker.io (dockerd) from Debian's packages..." >&2
    apt-get update -qq >"$state/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker.io >>"$state/apt.log" 2>&1
  fi
  command -v docker >/dev/null || { echo "no docker CLI found after installing docker.io" >&2; exit 1; }
  echo "starting a local dockerd (log: $state/dockerd.log)..." >&2
  # No bridge or iptables: this daemon is for watching events, it needs no
  # container networking, and it must start on machines without it.
  dockerd --host unix:///var/run/docker.sock --pidfile "$state/dockerd.pid" \
    --storage-driver vfs --iptables=false --ip6tables=false --ip-forward=false --bridge=none \
    >"$state/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do
    daemon_answers && return 0
    sleep 0.5
  done
  echo "dockerd did not answer within 30 s; see $state/dockerd.log" >&2
  exit 1
}

demo_activity() {
  sleep 2
  if ! docker image inspect dockerfleet-demo >/dev/null 2>&1; then
    local bb
    bb=$(command -v busybox || true)
    if [ -z "$bb" ] && [ "$(id -u)" = 0 ]; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox-static >>"$state/apt.log" 2>&1 || true
      bb=$(command -v busybox || true)
    fi
    [ -n "$bb" ] || { echo "(no busybox: skipping the demo activity)" >&2; return; }
    local root="$state/demo-rootfs"
    rm -rf "$root"; mkdir -p "$root/bin"
    cp "$bb" "$root/bin/busybox"
    for app in sh sleep true false id; do ln -sf busybox "$root/bin/$app"; done
    tar -C "$root" -c . | docker import - dockerfleet-demo >/dev/null
  fi
  local c=dockerfleet-demo-$$
  docker volume create dockerfleet-demo-vol >/dev/null
  docker network create --internal dockerfleet-demo-net >/dev/null
  docker run -d --name "$c" --network none --label com.example.team=demo dockerfleet-demo /bin/sleep 300 >/dev/null
  docker exec "$c" /bin/id >/dev/null
  docker kill --signal KILL "$c" >/dev/null
  docker rm "$c" >/dev/null
  docker network rm dockerfleet-demo-net >/dev/null
  docker volume rm dockerfleet-demo-vol >/dev/null
}

daemon_answers || start_local_daemon
if [ "${DEMO:-1}" != 0 ]; then demo_activity & fi

# find_falco prints the Falco to run, or nothing.
find_falco() {
  if [ -n "${FALCO:-}" ]; then
    command -v "$FALCO"
  elif command -v falco; then
    :
  elif [ -x "$repo/../shared/tools/falco/falco" ]; then
    echo "$(cd "$repo/../shared/tools/falco" && pwd)/falco"
  fi
}

# sed_escape escapes a value for the replacement of a sed s### command.
sed_escape() { printf '%s' "$1" | sed -e 's/[\\#&]/\\&/g'; }

falco=$(find_falco || true)
if [ -n "$falco" ]; then
  cfg="$state/falco.yaml"
  # The example as shipped, with this build's library and rules; engine
  # nodriver because only the plugin's source runs.
  {
    sed -e "s#/usr/share/falco/plugins/libdockerfleet.so#$(sed_escape "$so")#" \
        -e "s#/etc/falco/rules.d/dockerfleet_rules.yaml#$(sed_escape "$repo/rules/dockerfleet_rules.yaml")#" \
        -e "s#^\( *open_params:\) \"\"\$#\1 \"$(sed_escape "${OPEN_PARAMS:-}")\"#" \
        "$repo/examples/falco-single-host.yaml"
    printf '\nengine:\n  kind: nodriver\n'
  } >"$cfg"
  echo "running $falco with $cfg (Ctrl-C to stop)" >&2
  "$falco" --version 2>&1 | sed -n 1p >&2
  exec "$falco" -c "$cfg" --disable-source syscall
fi

echo "no Falco found (\$FALCO, PATH, ../shared/tools/falco/falco): showing events through dockerfleet tail (Ctrl-C to stop)" >&2
go build -o "$state/dockerfleet" "$repo/plugin/cmd/dockerfleet"
exec "$state/dockerfleet" tail -plugin "$so" -open "${OPEN_PARAMS:-}"
