#!/usr/bin/env bash
# tests/bench/turn_rate.sh - t9phone's TURN relay beside coturn's turnserver
# under the same load generator (tests/bench/turnload.c), on loopback:
# CPU seconds per million relayed packets at fixed rates (the server's utime
# and stime from /proc/PID/stat, whole process) and the highest clean rate,
# at 1 and 100 allocations, t9phone and coturn interleaved, three runs.
#
#   tests/bench/turn_rate.sh [BIN]        BIN defaults to out/t9phone
#   TURN_RATE_ALLOCS="1 100"              allocation counts
#   TURN_RATE_RUNS=3                      runs (each: t9phone, then coturn)
#   TURN_RATE_FIXED="20000 60000"         fixed rates, relayed pkt/s
#   TURN_RATE_FROM=40000                  the ladder's first rate (0: no ladder)
#   TURN_RATE_STEP=2                      seconds per step
#   TURN_RATE_SERVERS="t9phone t9phone-c0 coturn"   what runs, in this order:
#       t9phone     the default (relay-coalesce-us=500)
#       t9phone-c0  relay-coalesce-us=0: every loop turn polls at once, as
#                   before issue 12's coalescing (the relay path is the same)
#       coturn      coturn's turnserver
#       floor       tests/bench/turnfloor.c, the minimal forwarder
#       floor-c500  the same, with 500 us between loop turns that had work
#   TURN_RATE_COTURN_ARGS="--relay-threads=1"   extra coturn flags
#   TURN_RATE_RAW=FILE                    append the generator's lines to FILE
#   TURN_RATE_SUMMARY=FILE                only print the table of FILE's lines
#
# Pinning: every server on CPU 0, the generator (and its echo peer thread) on
# CPU 1 (taskset), so the server's CPU seconds are its own. coturn keeps its
# default thread count (one relay thread per CPU it sees) unless told.
# Packets: each message crosses the relay twice, both count. A step is clean
# when every message came back once within 250 ms; the ladder rises by 1.25x
# while clean, a failed step is tried once more, then two halvings of the gap.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/out/t9phone}
allocs=${TURN_RATE_ALLOCS:-1 100}
runs=${TURN_RATE_RUNS:-3}
fixed=${TURN_RATE_FIXED:-20000 60000}
from=${TURN_RATE_FROM:-40000}
step=${TURN_RATE_STEP:-2}
secret=bench-secret
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

for t in turnserver taskset musl-gcc; do
    command -v "$t" >/dev/null || { echo "turn rate: $t missing" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "turn rate: $bin missing (./build.sh)" >&2; exit 2; }
lib=$top/out/release/lib/libbearssl.a
[ -f "$lib" ] || { echo "turn rate: $lib missing (./build.sh)" >&2; exit 2; }

# The generator and the floor forwarder, against the tree's STUN codec.
mkdir -p "$top/out/bench"
cflags=(-static -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
        -Wmissing-prototypes -Wformat=2 -Wvla -I"$top/src" -I"$top/out/3p/bearssl/inc")
musl-gcc "${cflags[@]}" "$top/tests/bench/turnload.c" "$top/src/turn/stun.c" \
    "$top/src/turn/auth.c" "$top/src/crypto/hash.c" "$lib" -lpthread -o "$top/out/bench/turnload"
musl-gcc "${cflags[@]}" "$top/tests/bench/turnfloor.c" -o "$top/out/bench/turnfloor"
load=$top/out/bench/turnload

ncpu=$(nproc)
if [ "$ncpu" -ge 2 ]; then srv_cpu=0; gen_cpu=1; else srv_cpu=0; gen_cpu=0; fi

free_port() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_udp() { # port: until something answers a STUN Binding
    python3 - "$1" <<'EOF'
import os, socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
req = bytes.fromhex("00010000") + (0x2112A442).to_bytes(4, "big") + os.urandom(12)
for _ in range(50):
    try:
        s.sendto(req, ("127.0.0.1", int(sys.argv[1]))); s.recv(2048); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

start_t9phone() { # port [flags] -> pid in $srv
    local port=$1
    shift
    taskset -c "$srv_cpu" "$bin" serve --data-dir="$work/t9-$port" --portal-port="$(free_port)" \
        --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port="$port" \
        --tls-listening-port="$(free_port)" --min-port=20000 --max-port=29999 \
        --use-auth-secret --static-auth-secret="$secret" --allow-loopback-peers \
        --log-level=warn "$@" 2>>"$work/t9.log" &
    srv=$!
}
start_coturn() {
    # shellcheck disable=SC2086
    taskset -c "$srv_cpu" turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 \
        --listening-port="$1" --min-port=30000 --max-port=39999 --use-auth-secret \
        --static-auth-secret="$secret" --realm=t9phone.local --allow-loopback-peers --no-cli \
        --no-tls --no-dtls --no-stdout-log --log-file=/dev/null --userdb="$work/coturn-$1.db" \
        --pidfile="$work/coturn-$1.pid" ${TURN_RATE_COTURN_ARGS:-} >/dev/null 2>&1 &
    srv=$!
}
start_floor() { # port echo-port allocs [flags]
    local port=$1 eport=$2 n=$3
    shift 3
    taskset -c "$srv_cpu" "$top/out/bench/turnfloor" -p "$port" -e "$eport" -n "$n" "$@" &
    srv=$!
}

# one NAME ALLOCS RUN: a fresh server, the fixed rates, then the ladder.
one() {
    local name=$1 n=$2 run=$3 port srv eport extra=()
    port=$(free_port)
    case $name in
        t9phone) start_t9phone "$port" ;;
        t9phone-c0) start_t9phone "$port" --relay-coalesce-us=0 ;;
        coturn) start_coturn "$port" ;;
        floor) eport=$(free_port); start_floor "$port" "$eport" "$n"; extra=(-R -e "$eport") ;;
        floor-c500) eport=$(free_port); start_floor "$port" "$eport" "$n" -c 500
                    extra=(-R -e "$eport") ;;
        *) echo "turn rate: unknown server $name" >&2; return 1 ;;
    esac
    pids+=("$srv")
    if [ "${name#floor}" = "$name" ] && ! wait_udp "$port"; then
        echo "turn rate: $name did not answer" >&2
        return 1
    fi
    [ "${name#floor}" != "$name" ] && sleep 0.2
    local rates ladder=()
    rates=$(tr ' ' ',' <<<"$fixed")
    [ "$from" != 0 ] && ladder=(-a "$from" -T 100)
    timeout 280 taskset -c "$gen_cpu" "$load" -s "127.0.0.1:$port" -S "$secret" -n "$n" \
        -r "$rates" "${ladder[@]}" -t "$step" -p "$srv" "${extra[@]}" |
        sed "s/^/$name n=$n run=$run /" | tee -a "$work/out" ${TURN_RATE_RAW:+"$TURN_RATE_RAW"}
    kill -TERM "$srv" 2>/dev/null || true
    wait "$srv" 2>/dev/null || true
}

servers=${TURN_RATE_SERVERS:-t9phone t9phone-c0 coturn}
if [ -n "${TURN_RATE_SUMMARY:-}" ]; then
    cp "$TURN_RATE_SUMMARY" "$work/out"
else
    for n in $allocs; do
        for run in $(seq 1 "$runs"); do
            for s in $servers; do one "$s" "$n" "$run"; done
        done
    done
fi

echo
echo "== CPU seconds per million relayed packets (user+system; user, system) and highest clean rate"
awk '
    function kv(s, k,   i, a, b) { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == k) return a[2] } return "" }
    $2 ~ /^n=/ && ($4 == "fixed" || /highest_clean=/) {
        name = $1; n = kv($0, "n"); run = kv($0, "run")
        if (!(name in seen)) { seen[name] = 1; sv[++nsv] = name }
        if ($4 == "fixed") {
            r = kv($0, "rate"); key = name SUBSEP n SUBSEP r
            cpu[key] = cpu[key] sep[key] sprintf("%.2f (%.2f+%.2f)%s", kv($0, "cpu_per_mpkt"),
                       kv($0, "user_per_mpkt"), kv($0, "sys_per_mpkt"), kv($0, "clean") == 1 ? "" : "*")
            sep[key] = ", "; tot[key] += kv($0, "cpu_per_mpkt"); cnt[key]++
            rates[n SUBSEP r] = 1
        } else {
            key = name SUBSEP n; hc[key] = hc[key] hsep[key] kv($0, "highest_clean"); hsep[key] = ", "
            htot[key] += kv($0, "highest_clean"); hcnt[key]++
        }
        ns[n] = 1
    }
    END {
        for (k in rates) {
            split(k, p, SUBSEP); n = p[1]; r = p[2]
            printf "allocs=%s rate=%s pkt/s\n", n, r
            for (i = 1; i in sv; i++) { key = sv[i] SUBSEP n SUBSEP r
                if (cnt[key]) printf "  %-8s %s  mean %.2f\n", sv[i], cpu[key], tot[key] / cnt[key] }
            c = "coturn" SUBSEP n SUBSEP r
            for (i = 1; i in sv; i++) { t = sv[i] SUBSEP n SUBSEP r
                if (sv[i] != "coturn" && cnt[t] && cnt[c] && tot[c] > 0)
                    printf "  ratio %s/coturn %.2f\n", sv[i], (tot[t] / cnt[t]) / (tot[c] / cnt[c]) }
        }
        for (n in ns) {
            printf "allocs=%s highest clean rate (relayed pkt/s)\n", n
            for (i = 1; i in sv; i++) { key = sv[i] SUBSEP n
                if (hcnt[key]) printf "  %-8s %s  mean %.0f\n", sv[i], hc[key], htot[key] / hcnt[key] }
            c = "coturn" SUBSEP n
            for (i = 1; i in sv; i++) { t = sv[i] SUBSEP n
                if (sv[i] != "coturn" && hcnt[t] && hcnt[c] && htot[c] > 0)
                    printf "  ratio %s/coturn %.2f\n", sv[i], (htot[t] / hcnt[t]) / (htot[c] / hcnt[c]) }
        }
        print "(* a step that was not clean: its CPU figure still counts every packet sent and received)"
    }' "$work/out"
echo "pinning: servers on CPU $srv_cpu, generator on CPU $gen_cpu; coturn flags: ${TURN_RATE_COTURN_ARGS:-(default threads)}"
