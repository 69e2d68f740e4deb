#!/usr/bin/env bash
# tests/bench/sip_profile.sh - instructions per proxied call, counted by
# valgrind's callgrind: repeatable on a loaded machine, unlike wall time.
#
#   tests/bench/sip_profile.sh [BIN]       BIN defaults to out/prof/t9phone
#   SIP_PROFILE_CALLS=200 SIP_PROFILE_RATE=20 tests/bench/sip_profile.sh
#
# BIN should be an unstripped build without sanitizers, e.g.
#   make -f src/Makefile VARIANT=prof OPT='-O2 -g -fno-omit-frame-pointer' SAN=
# (glibc, out/prof/t9phone). The same calls as sip_calls.sh (same users,
# tests/bench/sipp/caller.xml and callee.xml): the callees register, 20
# warm-up calls run, the counters are zeroed (callgrind_control -z), then
# SIP_PROFILE_CALLS calls at SIP_PROFILE_RATE calls/s, then a dump. Prints
# instructions per call (every instruction of the process in that window,
# timers and the idle loop included) and the top functions by inclusive and
# self cost; the callgrind file stays in SIP_PROFILE_OUT (default
# out/bench/callgrind.sip.out).
#
# SIP_PROFILE_TOOL=strace: instead, strace -c -f attaches after the warm-up
# (any build, e.g. out/t9phone) and counts the system calls of the measured
# calls; printed per call and per SIP message the server received (8 a call).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/sip.sh
source "$here/sip.sh"

profile_main() {
    sb_bin=${1:-$top/out/prof/t9phone}
    local calls=${SIP_PROFILE_CALLS:-200} rate=${SIP_PROFILE_RATE:-20}
    local cg_out=${SIP_PROFILE_OUT:-$top/out/bench/callgrind.sip.out}
    sb_nusers=${SIP_BENCH_USERS:-200}
    local tool=${SIP_PROFILE_TOOL:-callgrind}
    if [ "$tool" = strace ]; then
        command -v strace >/dev/null || { echo "sip profile: strace missing" >&2; exit 2; }
    else
        command -v callgrind_control >/dev/null || { echo "sip profile: valgrind missing" >&2; exit 2; }
    fi
    sip_bench_init
    local users=$top/out/bench/sip-users-$sb_nusers half
    make_users "$sb_nusers" "$users"
    half=$((sb_nusers / 2))
    call_csvs "$users" "$half"

    local port uas_port metrics out ok f r
    port=$(free_port); uas_port=$(free_port); metrics=$(free_port)
    cp -r "$users/data" "$sb_work/t9"
    mkdir -p "$(dirname "$cg_out")"
    rm -f "$cg_out"
    local vg=(valgrind --tool=callgrind --callgrind-out-file="$cg_out")
    [ "$tool" = strace ] && vg=()
    "${vg[@]}" "$sb_bin" serve --data-dir="$sb_work/t9" --portal-port="$(free_port)" \
        --metrics-port="$metrics" --listening-ip=127.0.0.1 \
        --listening-port="$(free_port)" --tls-listening-port="$(free_port)" \
        --sip-ip=127.0.0.1 --sip-port="$port" --sip-tls-port="$(free_port)" \
        --log-level=warn 2>>"$sb_work/vg.log" &
    srv_pid=$!
    sb_pids+=("$srv_pid")
    wait_sip "$port"
    out=$(sb_lport=$uas_port sipp_run "$port" "$bench/sipp/register.xml" "$sb_work/callees.csv" 50 "$half")
    read -r ok _ <<<"$out"
    [ "$ok" -eq "$half" ] || { echo "sip profile: registered $ok callees of $half" >&2; exit 1; }
    timeout 900 sipp -sf "$bench/sipp/callee.xml" -t u1 -i 127.0.0.1 -p "$uas_port" -nostdin \
        -l 100000 -recv_timeout 10000 >"$sb_work/uas.out" 2>&1 &
    sb_pids+=("$!")
    sleep 0.5
    out=$(sipp_run "$port" "$bench/sipp/caller.xml" "$sb_work/callers.csv" 10 20)
    read -r ok f r _ <<<"$out"
    echo "warm-up: $ok calls, $f failed, $r retransmissions" >&2
    local st_pid
    if [ "$tool" = strace ]; then
        # SIP_PROFILE_STRACE: other strace options (e.g. "-f -k -e trace=mmap"
        # for the stacks of some calls; the trace is then printed as it is).
        # shellcheck disable=SC2086
        strace ${SIP_PROFILE_STRACE:--c -f} -o "$sb_work/strace.txt" -p "$srv_pid" 2>/dev/null &
        st_pid=$!
        sleep 1
    else
        callgrind_control -z "$srv_pid" >/dev/null
    fi
    out=$(sipp_run "$port" "$bench/sipp/caller.xml" "$sb_work/callers.csv" "$rate" "$calls")
    read -r ok f r _ <<<"$out"
    echo "measured: $ok calls, $f failed, $r retransmissions (sipp's count)" >&2
    if [ "$tool" = strace ]; then
        sleep 1
        kill -INT "$st_pid" 2>/dev/null || true
        wait "$st_pid" 2>/dev/null || true
        kill -TERM "$srv_pid" 2>/dev/null || true
        wait "$srv_pid" 2>/dev/null || true
        if [ -n "${SIP_PROFILE_STRACE:-}" ]; then
            head -n 400 "$sb_work/strace.txt"
            return 0
        fi
        awk -v n="$ok" 'BEGIN { print "== system calls per call (and per received SIP message, 8 a call)" }
            $1 ~ /^[0-9.]+$/ && NF >= 5 && n { printf "%-16s %8.2f %8.2f\n", $NF, $4 / n, $4 / n / 8 }' \
            "$sb_work/strace.txt"
        return 0
    fi
    # Let the last BYE's transactions be answered, then dump what was counted.
    sleep 1
    callgrind_control -d "$srv_pid" >/dev/null
    sleep 1
    kill -TERM "$srv_pid" 2>/dev/null || true
    wait "$srv_pid" 2>/dev/null || true
    # The dump named by -d is the file with a .1 suffix (the zeroed part).
    local dump
    dump=$(ls -t "$cg_out".* 2>/dev/null | head -n 1)
    [ -n "$dump" ] || { echo "sip profile: no callgrind dump" >&2; exit 1; }
    local ir
    ir=$(awk '/^summary:/ { print $2 }' "$dump")
    awk -v ir="$ir" -v n="$ok" 'BEGIN { printf "== instructions per call: %.0f (%d instructions, %d calls)\n", n ? ir / n : 0, ir, n }'
    # Lines of a function's cost; the loop's own frames (99% and up) left out.
    local top='/^ *[0-9,]+ +\( *[0-9.]+%\) / && !/\((99\.[0-9]+|100\.0)%\)/'
    echo "== inclusive (instructions per call, share)"
    callgrind_annotate --inclusive=yes --threshold=100 "$dump" 2>/dev/null |
        awk "$top" | head -n 40 |
        awk -v n="$ok" '{ c = $1; gsub(",", "", c); printf "%9.0f %s %s %s\n", c / n, $2, $3, $4 }'
    echo "== self"
    callgrind_annotate --threshold=100 "$dump" 2>/dev/null | awk "$top" | head -n 30 |
        awk -v n="$ok" '{ c = $1; gsub(",", "", c); printf "%9.0f %s %s %s\n", c / n, $2, $3, $4 }'
    echo "(callgrind file: $dump)"
}

profile_main "$@"
