#!/usr/bin/env bash
# tests/bench/run.sh - every benchmark, each beside its reference server in
# the same run, reported as ratios (./build.sh bench). Loopback only; every
# server started here is stopped by the script that started it.
#
#   TURN: t9phone's relay beside coturn's turnserver (turn.sh), over UDP
#         channels, UDP Send indications and TCP.
#   SIP:  the registrar beside Kamailio 5.6 (sip.sh): REGISTER with digest at
#         rising rates, CPU per REGISTER, bytes per binding.
#   Calls: the proxy beside Kamailio 5.6 as a record-routing proxy
#         (sip_calls.sh): calls per second, CPU per call, INVITE->200 p95.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for mode in "" "-s" "-t"; do
    echo "== TURN ${mode:-(UDP, channels)}"
    TURN_BENCH_ARGS="-m 20 -n 3000 -z 1 -l 160 $mode" bash "$here/turn.sh" "$@"
done
echo "== TURN memory per idle allocation (10000 allocations)"
python3 "$here/alloc_memory.py" "$@"
echo "== SIP registrar (REGISTER with digest)"
bash "$here/sip.sh" "$@"
echo "== SIP calls (record-routed, authenticated, by dial code)"
bash "$here/sip_calls.sh" "$@"
