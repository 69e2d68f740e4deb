#!/usr/bin/env bash
# tests/bench/turn.sh - the same turnutils_uclient run through t9phone's TURN
# relay and through coturn's turnserver, on loopback, with turnutils_peer as
# the echo peer. Reports relayed packets per second and the server's CPU
# seconds (user + system, all threads, from /proc/PID/stat) for each, and the
# ratios t9phone/coturn.
#
#   tests/bench/turn.sh [BIN]            BIN defaults to out/t9phone
#   TURN_BENCH_ARGS="-m 20 -n 2000 -z 2 -l 160" tests/bench/turn.sh
#   TURN_BENCH_ALLOCS=1 tests/bench/turn.sh     one allocation (uclient -m 1 -c)
#   TURN_BENCH_ALLOCS=100 tests/bench/turn.sh   100 allocations (-m 100 -c)
#   TURN_BENCH_Z=0 ...                          no pause between messages: the
#                                               flood rate and its losses
#
# uclient's flags: -m clients (each with an RTP and an RTCP allocation),
# -n messages per client, -z milliseconds between messages, -l bytes per
# message; channels by default, add -s for Send indications, -t for TCP.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/out/t9phone}
# Fixed rates: 1 allocation at 1000 messages/s, 100 at 100 each (about
# 2000 and 20000 relayed packets/s).
case ${TURN_BENCH_ALLOCS:-} in
    "") preset="-m 20 -n 3000 -z ${TURN_BENCH_Z:-1} -l 160" ;;
    1) preset="-m 1 -c -n 20000 -z ${TURN_BENCH_Z:-1} -l 160" ;;
    100) preset="-m 100 -c -n 1500 -z ${TURN_BENCH_Z:-10} -l 160" ;;
    *) echo "turn bench: TURN_BENCH_ALLOCS is 1 or 100" >&2; exit 2 ;;
esac
args=${TURN_BENCH_ARGS:-$preset}
secret=bench-secret
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for t in turnutils_uclient turnutils_peer turnserver; do
    command -v "$t" >/dev/null || { echo "turn bench: $t missing (apt-get install coturn)" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "turn bench: $bin missing (./build.sh)" >&2; exit 2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cpu_secs() { # pid -> user+system seconds of the whole process
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}
wait_udp() { # port: until something answers a STUN Binding
    for _ in $(seq 1 100); do
        timeout 2 turnutils_stunclient -p "$1" 127.0.0.1 >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "turn bench: server on port $1 did not answer" >&2
    return 1
}

peer_port=$(free_port)
timeout 900 turnutils_peer -L 127.0.0.1 -p "$peer_port" >/dev/null 2>&1 &
pids+=($!)

# run NAME PID PORT: one uclient run against a started server.
run() {
    local name=$1 pid=$2 port=$3
    wait_udp "$port"
    local c0 t0 t1 c1 out
    c0=$(cpu_secs "$pid")
    t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    out=$(timeout 600 turnutils_uclient $args -p "$port" -e 127.0.0.1 -r "$peer_port" \
        -W "$secret" -u bench 127.0.0.1 2>&1)
    t1=$(date +%s.%N)
    c1=$(cpu_secs "$pid")
    # Peak resident memory of the server over its life so far (kB).
    local hwm
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
    local sent recv lost
    sent=$(grep -o 'tot_send_msgs=[0-9]*' <<<"$out" | tail -1 | cut -d= -f2)
    recv=$(grep -o 'tot_recv_msgs=[0-9]*' <<<"$out" | tail -1 | cut -d= -f2)
    lost=$(grep -o 'Total lost packets [0-9]*' <<<"$out" | tail -1 | awk '{print $4}')
    # Each message crosses the relay twice (client->peer, echo->client).
    awk -v n="$name" -v s="${sent:-0}" -v r="${recv:-0}" -v l="${lost:-?}" -v t0="$t0" \
        -v t1="$t1" -v c0="$c0" -v c1="$c1" -v m="${hwm:-0}" 'BEGIN {
            wall = t1 - t0; pps = (s + r) / wall; cpu = c1 - c0;
            printf "%-8s sent=%d received=%d lost=%s wall=%.2fs relayed=%.0f pkt/s cpu=%.2fs cpu/Mpkt=%.2fs peak-rss=%d kB\n",
                   n, s, r, l, wall, pps, cpu, (s + r) ? cpu * 1000000 / (s + r) : 0, m
            printf "%s %.3f %.2f %d\n", n, pps, cpu, m > "/dev/stderr"
        }' 2>>"$work/results"
}

# --- t9phone
p=$(free_port); lo=$(free_port)
"$bin" serve --data-dir="$work/t9" --portal-port="$(free_port)" --listening-ip=127.0.0.1 \
    --relay-ip=127.0.0.1 --listening-port="$p" --tls-listening-port="$(free_port)" \
    --min-port=20000 --max-port=29999 --use-auth-secret --static-auth-secret="$secret" \
    --allow-loopback-peers --rfc5766-channel-numbers --log-level=warn 2>"$work/t9.log" &
t9pid=$!
pids+=($t9pid)
run t9phone "$t9pid" "$p"
kill -TERM "$t9pid"; wait "$t9pid" || true

# --- coturn, same run (its default threads; no database, no CLI, no TLS)
p=$(free_port)
turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$p" \
    --min-port=30000 --max-port=39999 --use-auth-secret --static-auth-secret="$secret" \
    --realm=t9phone.local --allow-loopback-peers --no-cli --no-tls --no-dtls \
    --no-stdout-log --log-file=/dev/null --userdb="$work/coturn.db" \
    --pidfile="$work/coturn.pid" >/dev/null 2>&1 &
cpid=$!
pids+=($cpid)
run coturn "$cpid" "$p"
kill -TERM "$cpid"; wait "$cpid" || true

awk '{ pps[$1] = $2; cpu[$1] = $3; rss[$1] = $4 } END {
    if (pps["coturn"] > 0) printf "ratio    packets/s t9phone/coturn = %.2f\n", pps["t9phone"] / pps["coturn"];
    if (cpu["coturn"] > 0) printf "ratio    CPU seconds t9phone/coturn = %.2f\n", cpu["t9phone"] / cpu["coturn"];
    if (rss["coturn"] > 0) printf "ratio    peak RSS t9phone/coturn = %.2f\n", rss["t9phone"] / rss["coturn"];
}' "$work/results"
echo "uclient flags: $args"
