#!/usr/bin/env bash
# tests/bench/sip.sh - REGISTER with digest authentication through t9phone's
# registrar and through Kamailio 5.6 (registrar + usrloc in memory + auth_db
# with HA1 from a db_text table), the same sipp load against each, on
# loopback, in one run.
#
#   tests/bench/sip.sh [BIN]          BIN defaults to out/t9phone
#   SIP_BENCH_RATES="500 1000 2000" SIP_BENCH_SECS=4 SIP_BENCH_BINDINGS=100000 tests/bench/sip.sh
#   KEEP=1 tests/bench/sip.sh        keeps the work folder (configs, logs)
#
# For each server and each rate (REGISTER transactions per second, each one a
# 401 challenge and an authenticated REGISTER, so two requests): whether the
# run was clean (sipp: every call succeeded; its retransmissions after 500 ms
# are shown beside), and the
# server's CPU seconds (user + system of every process of the server, from
# /proc/PID/stat) per 1000 authenticated REGISTERs. Then the memory of
# SIP_BENCH_BINDINGS bindings: the growth of the server's proportional set
# size (Pss, summed over its processes) while they are registered, divided by
# their number (100 users with 1000 contacts each: making 100k users with the
# admin CLI would take hours of bcrypt; a 200 listing only what fits, for
# both servers). Kamailio runs with one worker (t9phone has one loop) and,
# for the rates, with its default of 8. The rates rise until the first run
# that is not clean.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/out/t9phone}
rates=${SIP_BENCH_RATES:-"1000 2000 3000 4000 6000 8000"}
phases=${SIP_BENCH_PHASES:-"rate mem"}
secs=${SIP_BENCH_SECS:-4}
nbind=${SIP_BENCH_BINDINGS:-100000}
nusers=${SIP_BENCH_USERS:-100}
realm=t9phone.local
scen=$top/tests/bench/sip
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then echo "sip bench: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

for t in sipp kamailio python3; do
    command -v "$t" >/dev/null || {
        echo "sip bench: $t missing (apt-get install sip-tester kamailio)" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "sip bench: $bin missing (./build.sh)" >&2; exit 2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
procs() { # pid -> the pid and its children
    echo "$1"
    for f in /proc/[0-9]*/stat; do
        awk -v p="$1" '$4 == p { print $1 }' "$f" 2>/dev/null || true
    done
}
cpu_secs() { # pid -> user+system seconds of the process and its children
    local hz t=0 s
    hz=$(getconf CLK_TCK)
    for p in $(procs "$1"); do
        s=$(awk -v hz="$hz" '{ printf "%.4f", ($14 + $15) / hz }' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$(awk -v a="$t" -v b="$s" 'BEGIN { printf "%.4f", a + b }')
    done
    echo "$t"
}
pss_kb() { # pid -> Pss of the process and its children, kB
    local t=0 s
    for p in $(procs "$1"); do
        s=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)
        t=$((t + s))
    done
    echo "$t"
}

# ---------------------------------------------------------------- users
data=$work/data
echo "sip bench: making $nusers users with the admin CLI (two at a time)"
mkuser() { # i -> "user password" (bcrypt cost 12 makes this the slow part)
    local nick kv
    nick=bench$(printf '%s' "$1" | tr 0-9 a-j)x
    echo "correct horse battery staple" | "$bin" user add --email "b$1@example.org" \
        --nickname "$nick" --data-dir="$data" >/dev/null 2>&1
    kv=$("$bin" user sip "b$1@example.org" --show-password --data-dir="$data" 2>/dev/null)
    echo "$(sed -n 's/^sip-username=//p' <<<"$kv") $(sed -n 's/^sip-password=//p' <<<"$kv")"
}
export -f mkuser
export bin data
# The first one alone: it creates the database and the secret key.
mkuser 0 > "$work/users.txt"
seq 1 $((nusers - 1)) | xargs -P 2 -I{} bash -c 'mkuser {}' >> "$work/users.txt"
[ "$(awk 'NF == 2' "$work/users.txt" | wc -l)" -eq "$nusers" ] || {
    echo "sip bench: could not make the users" >&2; exit 1; }
: > "$work/users.csv.body"
while read -r u p; do
    echo "$u;[authentication username=$u password=$p];$realm;3600;;$u;" >> "$work/users.csv.body"
done < "$work/users.txt"
{ echo SEQUENTIAL; cat "$work/users.csv.body"; } > "$work/users.csv"

# ---------------------------------------------------------------- servers
start_t9() {
    local port=$1
    "$bin" serve --data-dir="$data" --log-level=warn --portal-port="$(free_port)" \
        --metrics-port="$(free_port)" --listening-ip=127.0.0.1 --listening-port="$(free_port)" \
        --tls-listening-port="$(free_port)" --sip-ip=127.0.0.1 --sip-port="$port" \
        --sip-max-contacts=10000 --sip-max-bindings=2000000 > "$work/t9.log" 2>&1 &
    echo $!
}

kam_cfg() { # children port mem
    mkdir -p "$work/kdb"
    printf 'table_name(str) table_version(int)\nsubscriber:7\n' > "$work/kdb/version"
    echo "id(int,auto) username(str) domain(str) password(str) ha1(str) ha1b(str)" \
        > "$work/kdb/subscriber"
    local n=0 u p ha1
    while read -r u p; do
        n=$((n + 1))
        ha1=$(printf '%s' "$u:$realm:$p" | md5sum | cut -d' ' -f1)
        echo "$n:$u:$realm:-:$ha1:-" >> "$work/kdb/subscriber"
    done < "$work/users.txt"
    local children="" save='if (!save("location")) sl_reply_error();'
    [ "$1" != default ] && children="children=$1"
    # For the memory run the 200 lists no contacts (flag 0x02: no reply from
    # save, then a plain 200), as t9phone's lists only what fits in a datagram.
    [ "$3" = mem ] && save='if (!save("location", "0x02")) { sl_reply_error(); exit; } sl_send_reply("200", "OK");'

    cat > "$work/kamailio-$1.cfg" <<CFG
#!KAMAILIO
debug=0
log_stderror=yes
fork=yes
$children
auto_aliases=no
listen=udp:127.0.0.1:$2
alias="$realm"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "db_text.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 60)
modparam("registrar", "max_contacts", 0)
modparam("registrar", "gruu_enabled", 0)
modparam("auth_db", "db_url", "text://$work/kdb")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "load_credentials", "")
modparam("auth", "nonce_count", 1)
modparam("auth", "qop", "auth")
request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    force_rport();
    if (!is_method("REGISTER")) { sl_send_reply("405", "Method Not Allowed"); exit; }
    if (!www_authenticate("$realm", "subscriber")) { www_challenge("$realm", "0"); exit; }
    if (\$au != \$tU) { sl_send_reply("403", "Forbidden"); exit; }
    consume_credentials();
    $save
}
CFG
}

start_kam() { # children port [mem]
    kam_cfg "$1" "$2" "${3:-}"
    kamailio -f "$work/kamailio-$1.cfg" -DD -E -m 512 -M 16 -Y "$work" \
        > "$work/kamailio-$1.log" 2>&1 &
    echo $!
}

wait_udp() { # port: until an OPTIONS is answered (any answer)
    for _ in $(seq 1 100); do
        python3 - "$1" <<'PY' && return 0
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.2)
m = (f"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKw\r\n"
     f"From: <sip:w@x>;tag=1\r\nTo: <sip:127.0.0.1>\r\nCall-ID: w\r\nCSeq: 1 OPTIONS\r\n"
     f"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n").encode()
s.sendto(m, ("127.0.0.1", int(sys.argv[1])))
try:
    s.recv(4096); sys.exit(0)
except OSError:
    sys.exit(1)
PY
        sleep 0.1
    done
    echo "sip bench: nothing answers on port $1" >&2
    return 1
}

# run NAME PID PORT RATE SCENARIO CALLS -> "clean|failed cpu_per_1000"
run_sipp() {
    local pid=$2 port=$3 rate=$4 sc=$5 calls=$6 c0 c1 st out
    c0=$(cpu_secs "$pid")
    set +e
    out=$(cd "$work" && timeout $((calls / rate + 60)) sipp "127.0.0.1:$port" -sf "$scen/$sc" \
        -inf "$work/users.csv" -m "$calls" -r "$rate" -l $((rate * 2)) -t u1 -i 127.0.0.1 \
        -p "$(free_port)" -nostdin -recv_timeout 5000 -trace_stat -stf "$work/stat.csv" \
        -fd 100 -trace_err -error_file "$work/errors-$1-$rate.log" 2>&1)
    st=$?
    set -e
    c1=$(cpu_secs "$pid")
    # sipp's statistics: the last line's failed calls and retransmissions.
    local failed retr ok
    failed=$(tail -1 "$work/stat.csv" | awk -F';' -v h="$(head -1 "$work/stat.csv")" '
        BEGIN { n = split(h, f, ";"); for (i = 1; i <= n; i++) col[f[i]] = i }
        { print $col["FailedCall(C)"] }')
    retr=$(tail -1 "$work/stat.csv" | awk -F';' -v h="$(head -1 "$work/stat.csv")" '
        BEGIN { n = split(h, f, ";"); for (i = 1; i <= n; i++) col[f[i]] = i }
        { print $col["Retransmissions(C)"] }')
    ok=$(tail -1 "$work/stat.csv" | awk -F';' -v h="$(head -1 "$work/stat.csv")" '
        BEGIN { n = split(h, f, ";"); for (i = 1; i <= n; i++) col[f[i]] = i }
        { print $col["SuccessfulCall(C)"] }')
    rm -f "$work/stat.csv"
    local clean=clean
    [ "$st" -eq 0 ] && [ "${failed:-1}" -eq 0 ] || clean=failed
    awk -v c0="$c0" -v c1="$c1" -v ok="${ok:-0}" -v cl="$clean" -v f="${failed:-?}" \
        -v r="${retr:-?}" 'BEGIN {
            printf "%s %.3f %d %s %s\n", cl, ok ? (c1 - c0) * 1000 / ok : 0, ok, f, r }'
}

declare -A best cpu1000 cpuat mem
common=0
rate_server() { # NAME PID PORT
    local name=$1 pid=$2 port=$3 r res cl c ok f re
    wait_udp "$port"
    best[$name]=0
    for r in $rates; do
        res=$(run_sipp "$name" "$pid" "$port" "$r" register.xml $((r * secs)))
        read -r cl c ok f re <<<"$res"
        printf "%-16s rate=%5d/s  %-6s  ok=%6d failed=%s retrans=%s  cpu/1000 REGISTER=%.3fs\n" \
            "$name" "$r" "$cl" "$ok" "$f" "$re" "$c"
        [ "$cl" = clean ] || break
        best[$name]=$r
        cpu1000[$name]=$c
        cpuat[$name:$r]=$c
    done
}
mem_server() { # NAME PID PORT
    local name=$1 pid=$2 port=$3 p0 p1 res cl c ok f re
    wait_udp "$port"
    p0=$(pss_kb "$pid")
    res=$(run_sipp "$name" "$pid" "$port" 2000 register_new.xml "$nbind")
    read -r cl c ok f re <<<"$res"
    p1=$(pss_kb "$pid")
    mem[$name]=$(awk -v p0="$p0" -v p1="$p1" -v ok="$ok" 'BEGIN { printf "%.0f", ok ? (p1 - p0) * 1024 / ok : 0 }')
    printf "%-16s %d bindings (%s, failed=%s retrans=%s): Pss %d kB -> %d kB, %s bytes per binding\n" \
        "$name" "$ok" "$cl" "$f" "$re" "$p0" "$p1" "${mem[$name]}"
}

for phase in $phases; do
    port=$(free_port)
    pid=$(start_t9 "$port"); pids+=("$pid")
    "${phase}_server" t9phone "$pid" "$port"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    kams="1 default"
    [ "$phase" = mem ] && kams=1
    for ch in $kams; do
        port=$(free_port)
        pid=$(start_kam "$ch" "$port" "$phase"); pids+=("$pid")
        "${phase}_server" "kamailio-$ch" "$pid" "$port"
        kill "$pid"; wait "$pid" 2>/dev/null || true
    done
done

echo
echo "| server | highest clean rate (REGISTER/s) | CPU s per 1000 REGISTERs at that rate | bytes per binding ($nbind) |"
echo "|---|---|---|---|"
for n in t9phone kamailio-1 kamailio-default; do
    echo "| $n | ${best[$n]:-n/a} | ${cpu1000[$n]:-n/a} | ${mem[$n]:-n/a} |"
done
for k in kamailio-1 kamailio-default; do
    [ -n "${best[$k]:-}" ] && [ -n "${best[t9phone]:-}" ] || continue
    # CPU compared at the highest rate both ran cleanly.
    c=$(( best[t9phone] < best[$k] ? best[t9phone] : best[$k] ))
    awk -v a="${best[t9phone]}" -v b="${best[$k]}" -v c="${cpuat[t9phone:$c]:-0}" \
        -v d="${cpuat[$k:$c]:-0}" -v k="$k" -v r="$c" 'BEGIN {
        printf "t9phone / %s: clean rate %.2fx; CPU per REGISTER at %d/s %.2fx\n", k,
               b ? a / b : 0, r, d ? c / d : 0 }'
done
