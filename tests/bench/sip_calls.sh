#!/usr/bin/env bash
# tests/bench/sip_calls.sh - calls through t9phone's proxy and through
# Kamailio 5.6 configured as a comparable record-routing proxy (tm, rr,
# auth_db with HA1 from db_text, usrloc in memory, alias_db for the dial
# code -> username lookup), the same sipp load against each, on loopback, in
# one run.
#
#   tests/bench/sip_calls.sh [BIN]          BIN defaults to out/t9phone
#   CALL_BENCH_RATES="50 100 200" CALL_BENCH_SECS=5 tests/bench/sip_calls.sh
#   KEEP=1 tests/bench/sip_calls.sh        keeps the work folder
#   CALL_BENCH_KAMAILIO="" tests/bench/sip_calls.sh   t9phone alone
#
# One call: INVITE to the callee's dial code, 407, ACK, INVITE with digest,
# 100/180/200, ACK and BYE by the Record-Route set, 200 (eight requests and
# responses through the proxy each way). The callees are one answering sipp
# (uas) whose port every callee registered from. For each server and rate
# (calls per second): clean or not (every call succeeded, no retransmission),
# the server's CPU seconds per 1000 calls (user + system of all its
# processes, /proc/PID/stat), sipp's 95th percentile INVITE->200 time, and
# the server's peak RSS. Kamailio runs with one worker (t9phone has one loop)
# and with its default of 8. Rates rise until the first run that is not clean.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$top/out/t9phone}
rates=${CALL_BENCH_RATES:-"100 200 400 600 800 1000 1500"}
secs=${CALL_BENCH_SECS:-5}
npairs=${CALL_BENCH_PAIRS:-20}
realm=t9phone.local
scen=$top/tests/bench/sip_calls
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then echo "call bench: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

for t in sipp kamailio python3; do
    command -v "$t" >/dev/null || {
        echo "call bench: $t missing (apt-get install sip-tester kamailio)" >&2; exit 2; }
done
[ -x "$bin" ] || { echo "call bench: $bin missing (./build.sh)" >&2; exit 2; }

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
procs() {
    echo "$1"
    for f in /proc/[0-9]*/stat; do
        awk -v p="$1" '$4 == p { print $1 }' "$f" 2>/dev/null || true
    done
}
cpu_secs() {
    local hz t=0 s
    hz=$(getconf CLK_TCK)
    for p in $(procs "$1"); do
        s=$(awk -v hz="$hz" '{ printf "%.4f", ($14 + $15) / hz }' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$(awk -v a="$t" -v b="$s" 'BEGIN { printf "%.4f", a + b }')
    done
    echo "$t"
}
rss_peak_kb() { # the largest VmHWM among the server's processes
    local m=0 s
    for p in $(procs "$1"); do
        s=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)
        [ "${s:-0}" -gt "$m" ] && m=$s
    done
    echo "$m"
}

# ---------------------------------------------------------------- users
data=$work/data
echo "call bench: making $((2 * npairs)) users in one group with the admin CLI"
mkuser() { # i -> "user password code"
    local nick kv
    # i in base 8 with letters of distinct keys: distinct dial codes
    nick=bench$(printf '%o' "$1" | tr 0-7 adgjmptw)x
    echo "correct horse battery staple" | "$bin" user add --email "b$1@example.org" \
        --nickname "$nick" --data-dir="$data" >/dev/null 2>&1
    kv=$("$bin" user sip "b$1@example.org" --show-password --data-dir="$data" 2>/dev/null)
    echo "$(sed -n 's/^sip-username=//p' <<<"$kv") $(sed -n 's/^sip-password=//p' <<<"$kv")" \
         "$(printf '%s' "$nick" | tr a-z 22233344455566677778889999)"
}
export -f mkuser
export bin data
mkuser 0 > "$work/users.txt"
seq 1 $((2 * npairs - 1)) | xargs -P 2 -I{} bash -c 'mkuser {}' >> "$work/users.txt"
[ "$(awk 'NF == 3' "$work/users.txt" | wc -l)" -eq $((2 * npairs)) ] || {
    echo "call bench: could not make the users" >&2; exit 1; }
"$bin" group add Bench --owner b0@example.org --cap $((2 * npairs)) --data-dir="$data" >/dev/null
for i in $(seq 1 $((2 * npairs - 1))); do
    "$bin" group join bench "b$i@example.org" --data-dir="$data" >/dev/null
done
# callers: the first half; callees: the second half
head -n "$npairs" "$work/users.txt" > "$work/callers.txt"
tail -n "$npairs" "$work/users.txt" > "$work/callees.txt"
{ echo SEQUENTIAL
  paste -d' ' "$work/callers.txt" "$work/callees.txt" | while read -r u p _ _ _ code; do
      echo "$u;[authentication username=$u password=$p];$realm;$code;"; done
} > "$work/calls.csv"
{ echo SEQUENTIAL
  while read -r u p _; do echo "$u;[authentication username=$u password=$p];$realm;"; done \
      < "$work/callees.txt"
} > "$work/callees.csv"

# ---------------------------------------------------------------- servers
t9_metrics=$(free_port)
start_t9() {
    "$bin" serve --data-dir="$data" --log-level=warn --portal-port="$(free_port)" \
        --metrics-port="$t9_metrics" --listening-ip=127.0.0.1 --listening-port="$(free_port)" \
        --tls-listening-port="$(free_port)" --sip-ip=127.0.0.1 --sip-port="$1" \
        > "$work/t9.log" 2>&1 &
    echo $!
}

kam_cfg() { # children port
    mkdir -p "$work/kdb"
    printf 'table_name(str) table_version(int)\nsubscriber:7\ndbaliases:1\n' > "$work/kdb/version"
    echo "id(int,auto) username(str) domain(str) password(str) ha1(str) ha1b(str)" \
        > "$work/kdb/subscriber"
    echo "id(int,auto) alias_username(str) alias_domain(str) username(str) domain(str)" \
        > "$work/kdb/dbaliases"
    local n=0 u p code ha1
    while read -r u p code; do
        n=$((n + 1))
        ha1=$(printf '%s' "$u:$realm:$p" | md5sum | cut -d' ' -f1)
        echo "$n:$u:$realm:-:$ha1:-" >> "$work/kdb/subscriber"
        echo "$n:$code:$realm:$u:$realm" >> "$work/kdb/dbaliases"
    done < "$work/users.txt"
    local children=""
    [ "$1" != default ] && children="children=$1"
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
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "db_text.so"
loadmodule "auth.so"
loadmodule "auth_db.so"
loadmodule "alias_db.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "gruu_enabled", 0)
modparam("auth_db", "db_url", "text://$work/kdb")
modparam("auth_db", "calculate_ha1", 0)
modparam("auth_db", "password_column", "ha1")
modparam("auth_db", "load_credentials", "")
modparam("auth", "nonce_count", 1)
modparam("auth", "qop", "auth")
modparam("alias_db", "db_url", "text://$work/kdb")
modparam("alias_db", "use_domain", 0)
modparam("rr", "enable_double_rr", 1)
request_route {
    if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
    force_rport();
    if (has_totag()) {
        if (loose_route()) { t_relay(); exit; }
        if (is_method("ACK")) { if (t_check_trans()) t_relay(); exit; }
        sl_send_reply("404", "Not here"); exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
    t_check_trans();
    if (is_method("REGISTER")) {
        if (!www_authenticate("$realm", "subscriber")) { www_challenge("$realm", "0"); exit; }
        consume_credentials();
        if (!save("location")) sl_reply_error();
        exit;
    }
    if (!proxy_authenticate("$realm", "subscriber")) { proxy_challenge("$realm", "0"); exit; }
    if (\$au != \$fU) { sl_send_reply("403", "Forbidden"); exit; }
    consume_credentials();
    if (is_method("INVITE")) record_route();
    if (!alias_db_lookup("dbaliases")) { sl_send_reply("404", "Not Found"); exit; }
    if (!lookup("location")) { sl_send_reply("480", "Temporarily Unavailable"); exit; }
    t_relay();
}
CFG
}

start_kam() {
    kam_cfg "$1" "$2"
    kamailio -f "$work/kamailio-$1.cfg" -DD -E -m 256 -M 16 -Y "$work" \
        > "$work/kamailio-$1.log" 2>&1 &
    echo $!
}

wait_udp() {
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
    echo "call bench: nothing answers on port $1" >&2
    return 1
}

col() { # csv column value of the last line
    tail -1 "$1" | awk -F';' -v h="$(head -1 "$1")" -v c="$2" '
        BEGIN { n = split(h, f, ";"); for (i = 1; i <= n; i++) col[f[i]] = i }
        { print $col[c] }'
}

# The callees: registered from one port, where the answering sipp then runs.
start_callees() { # server_port -> pid of the uas sipp
    local sp=$1 up
    up=$(free_port)
    (cd "$work" && timeout 60 sipp "127.0.0.1:$sp" -sf "$scen/register.xml" -inf "$work/callees.csv" \
        -m "$npairs" -r 50 -t u1 -i 127.0.0.1 -p "$up" -nostdin -recv_timeout 5000 \
        > "$work/reg.out" 2>&1) || { echo "call bench: callees did not register" >&2; return 1; }
    (cd "$work" && exec sipp -sf "$scen/uas.xml" -t u1 -i 127.0.0.1 -p "$up" -nostdin \
        -bg > "$work/uas.out" 2>&1)
    sleep 0.5
    pgrep -f -- "-sf $scen/uas.xml -t u1 -i 127.0.0.1 -p $up" | head -1
}

run_calls() { # pid port rate -> "clean|failed cpu/1000 ok failed retrans p95ms"
    local pid=$1 port=$2 rate=$3 calls c0 c1 st
    calls=$((rate * secs))
    c0=$(cpu_secs "$pid")
    set +e
    (cd "$work" && timeout $((secs + 60)) sipp "127.0.0.1:$port" -sf "$scen/uac.xml" \
        -inf "$work/calls.csv" -m "$calls" -r "$rate" -l $((rate * 3)) -t u1 -i 127.0.0.1 \
        -p "$(free_port)" -nostdin -recv_timeout 8000 -trace_stat -stf "$work/stat.csv" \
        -trace_rtt -rtt_freq 100 -fd 100 > "$work/uac.out" 2>&1)
    st=$?
    set -e
    c1=$(cpu_secs "$pid")
    local failed retr ok p95
    failed=$(col "$work/stat.csv" "FailedCall(C)")
    retr=$(col "$work/stat.csv" "Retransmissions(C)")
    ok=$(col "$work/stat.csv" "SuccessfulCall(C)")
    # 95th percentile of INVITE -> 200 from sipp's response-time file
    p95=$(cat "$work"/uac_*_rtt.csv 2>/dev/null | awk -F';' 'NR > 1 && $3 ~ /^[0-9.]+$/ { print $3 }' \
          | sort -n | awk '{ v[NR] = $1 } END {
              if (!NR) { print "n/a"; exit } i = int(NR * 0.95); if (i < 1) i = 1; printf "%.2f", v[i] }' \
          || echo n/a)
    rm -f "$work/stat.csv" "$work"/uac_*_rtt.csv
    local clean=clean
    [ "$st" -eq 0 ] && [ "${failed:-1}" -eq 0 ] && [ "${retr:-1}" -eq 0 ] || clean=failed
    awk -v c0="$c0" -v c1="$c1" -v ok="${ok:-0}" -v cl="$clean" -v f="${failed:-?}" \
        -v r="${retr:-?}" -v p="$p95" 'BEGIN {
            printf "%s %.3f %d %s %s %s\n", cl, ok ? (c1 - c0) * 1000 / ok : 0, ok, f, r, p }'
}

# Between two steps the previous step's transactions end (t9phone keeps
# them 64*T1 = 32 s after the final answer, as RFC 3261 and 6026 ask, in a
# table of sip-max-transactions; Kamailio's tm keeps its own for 5 s).
drain() { # NAME
    if [ "$1" = t9phone ]; then
        for _ in $(seq 1 450); do
            python3 - "$t9_metrics" <<'PY' && return 0
import sys, urllib.request
t = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=2).read().decode()
v = [l.split()[-1] for l in t.splitlines() if l.startswith("t9phone_sip_transactions ")]
sys.exit(0 if v and float(v[0]) == 0 else 1)
PY
            sleep 0.1
        done
    else
        sleep 6
    fi
}

declare -A best cpu1000 cpuat rss p95at
bench_server() { # NAME PID PORT
    local name=$1 pid=$2 port=$3 r res cl c ok f re p uas
    wait_udp "$port"
    uas=$(start_callees "$port")
    [ -n "$uas" ] && pids+=("$uas")
    best[$name]=0
    for r in $rates; do
        drain "$name"
        res=$(run_calls "$pid" "$port" "$r")
        read -r cl c ok f re p <<<"$res"
        printf "%-16s rate=%5d calls/s  %-6s  ok=%6d failed=%s retrans=%s  cpu/1000 calls=%.3fs  INVITE->200 p95=%sms\n" \
            "$name" "$r" "$cl" "$ok" "$f" "$re" "$c" "$p"
        [ "$cl" = clean ] || break
        best[$name]=$r
        cpu1000[$name]=$c
        cpuat[$name:$r]=$c
        p95at[$name]=$p
    done
    rss[$name]=$(rss_peak_kb "$pid")
    [ -n "$uas" ] && kill "$uas" 2>/dev/null || true
}

port=$(free_port)
pid=$(start_t9 "$port"); pids+=("$pid")
bench_server t9phone "$pid" "$port"
kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
for ch in ${CALL_BENCH_KAMAILIO-1 default}; do
    port=$(free_port)
    pid=$(start_kam "$ch" "$port"); pids+=("$pid")
    bench_server "kamailio-$ch" "$pid" "$port"
    kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
done

echo
echo "| server | highest clean rate (calls/s) | CPU s per 1000 calls at that rate | INVITE->200 p95 (ms) | peak RSS (kB) |"
echo "|---|---|---|---|---|"
for n in t9phone kamailio-1 kamailio-default; do
    echo "| $n | ${best[$n]:-n/a} | ${cpu1000[$n]:-n/a} | ${p95at[$n]:-n/a} | ${rss[$n]:-n/a} |"
done
for k in kamailio-1 kamailio-default; do
    [ -n "${best[$k]:-}" ] && [ -n "${best[t9phone]:-}" ] || continue
    c=$(( best[t9phone] < best[$k] ? best[t9phone] : best[$k] ))
    [ "$c" -gt 0 ] || continue
    awk -v a="${best[t9phone]}" -v b="${best[$k]}" -v c="${cpuat[t9phone:$c]:-0}" \
        -v d="${cpuat[$k:$c]:-0}" -v k="$k" -v r="$c" 'BEGIN {
        printf "t9phone / %s: clean call rate %.2fx; CPU per call at %d/s %.2fx\n", k,
               b ? a / b : 0, r, d ? c / d : 0 }'
done
