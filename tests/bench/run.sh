#!/usr/bin/env bash
# tests/bench/run.sh - every benchmark, each beside its reference server in
# the same run, reported as ratios (./build.sh bench). Loopback only; every
# server started here is stopped by the script that started it.
#
#   TURN: t9phone's relay beside coturn's turnserver (turn.sh), over UDP
#         channels, UDP Send indications and TCP; CPU per packet at fixed
#         rates and the highest clean rate under turnload (turn_rate.sh).
#   SIP:  REGISTER with digest at rising rates and memory per binding
#         (sip.sh), calls by dial code through the proxy (sip_calls.sh),
#         each beside Kamailio 5.6 with one worker and with its default;
#         SIP answer times with and without portal logins beside them
#         (sip_latency.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for mode in "" "-s" "-t"; do
    echo "== TURN ${mode:-(UDP, channels)}"
    TURN_BENCH_ARGS="-m 20 -n 3000 -z 1 -l 160 $mode" bash "$here/turn.sh" "$@"
done
echo "== TURN CPU per relayed packet and highest clean rate, 1 and 100 allocations (turnload)"
bash "$here/turn_rate.sh" "$@"
echo "== TURN memory per idle allocation (10000 allocations)"
python3 "$here/alloc_memory.py" "$@"
echo "== SIP REGISTER with digest, memory per binding"
bash "$here/sip.sh" "$@"
echo "== SIP calls through the proxy"
bash "$here/sip_calls.sh" "$@"
echo "== SIP answer times under login load"
bash "$here/sip_latency.sh" "$@"
