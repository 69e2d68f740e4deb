#!/usr/bin/env bash
# tests/bench/sip_calls.sh - SIP call load through t9phone's proxy and
# through Kamailio 5.6 as a comparable proxy (tests/bench/kamailio/proxy.cfg:
# tm, record-routing, auth_db, alias_db for the dial code, usrloc in memory),
# in the same run, on loopback, with sipp on both ends.
#
#   tests/bench/sip_calls.sh [BIN]          BIN defaults to out/t9phone
#   SIP_CALLS_RATES="50 100 200" SIP_CALLS_STEP=33 tests/bench/sip_calls.sh
#
# The users (sip.sh's, made once with the admin CLI, all in one group with
# distinct dial codes) split in two: the second half registers from one
# sipp in server mode (tests/bench/sipp/callee.xml: 180, 200, takes ACK and
# BYE), the first half calls them by dial code (tests/bench/sipp/caller.xml:
# INVITE, 407, ACK, INVITE with credentials, 100, 180, 200, ACK and BYE
# through the Record-Route set, 200). Rising call rates, SIP_CALLS_STEP
# seconds a step (default 33: longer than the 64*T1 = 32 s a finished
# transaction is kept, so a step reaches the steady state of its rate); a
# step is clean when every call succeeded with no retransmission seen by the
# caller; a failed step is tried again (SIP_CALLS_TRIES in all, default 2)
# and the ladder stops when none was clean. For each server: the highest clean
# calls/s, its CPU seconds per call (utime+stime of every server process),
# peak RSS (VmHWM; summed over Kamailio's processes, so its shared memory is
# counted in each) and Pss at the end. Every process started here is stopped.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bench/sip.sh
source "$here/sip.sh"

# call_ladder NAME PORT CALLERS_CSV: appends "calls NAME rate cps clean cpu_per_call".
call_ladder() {
    local name=$1 port=$2 csv=$3 rate tries c0 c1 d0 d1 out ok f r wall scpu cps cpc
    sipp_run "$port" "$bench/sipp/caller.xml" "$csv" 20 20 >/dev/null # warm-up
    for rate in $sc_rates; do
        tries=0
        while :; do
            c0=$(cpu_ticks "$srv_pid"); d0=$(udp_drops "$port")
            out=$(sipp_run "$port" "$bench/sipp/caller.xml" "$csv" "$rate" $((rate * sb_step)))
            c1=$(cpu_ticks "$srv_pid"); d1=$(udp_drops "$port")
            read -r ok f r wall scpu <<<"$out"
            cps=$(awk -v n="$ok" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0 ? n / w : 0) }')
            cpc=$(awk -v c="$((c1 - c0))" -v n="$ok" -v hz="$hz" \
                'BEGIN { printf "%.1f", (n ? c / hz * 1000000 / n : 0) }')
            local clean=no txns=""
            [ "$ok" -eq $((rate * sb_step)) ] && [ "$f" -eq 0 ] && [ "$r" -eq 0 ] && clean=yes
            # t9phone's live transactions as the step ends (its table holds 8192).
            [ "$name" = t9phone ] && txns=" txns=$(metric t9phone_sip_transactions)"
            printf '%-12s rate=%-5s ok=%-6s failed=%-5s retrans=%-5s drops=%-4s %5s calls/s  cpu/call=%sus  sipp-cpu=%ss %s%s\n' \
                "$name" "$rate" "$ok" "$f" "$r" "$((d1 - d0))" "$cps" "$cpc" "$scpu" \
                "$([ $clean = yes ] && echo clean || echo FAILED)" "$txns" >&2
            echo "calls $name $rate $cps $clean $cpc" >>"$sb_work/results"
            [ $clean = yes ] && break
            tries=$((tries + 1))
            [ $tries -ge "$sb_tries" ] && return 0
        done
    done
}

# callees PORT CSV: registers the callees from UAS_PORT, then starts the
# answering sipp there (sets uas_pid).
callees() {
    local port=$1 csv=$2 out ok
    out=$(sb_lport=$uas_port sipp_run "$port" "$bench/sipp/register.xml" "$csv" 500 "$sc_half")
    read -r ok _ <<<"$out"
    [ "$ok" -eq "$sc_half" ] || { echo "sip calls: registered $ok callees of $sc_half" >&2; exit 1; }
    timeout 900 sipp -sf "$bench/sipp/callee.xml" -t u1 -i 127.0.0.1 -p "$uas_port" -nostdin \
        -l 100000 -recv_timeout 10000 >"$sb_work/uas.out" 2>&1 &
    uas_pid=$!
    sb_pids+=("$uas_pid")
    sleep 0.5
}

stop_uas() {
    kill -TERM "$uas_pid" 2>/dev/null || true
    wait "$uas_pid" 2>/dev/null || true
}

# peak NAME: appends "peak NAME hwm_kb pss_kb".
peak() {
    echo "peak $1 $(hwm_kb "$srv_pid") $(pss_kb "$srv_pid")" >>"$sb_work/results"
    printf '%-14s peak RSS %s kB (sum of VmHWM), Pss now %s kB\n' "$1" "$(hwm_kb "$srv_pid")" \
        "$(pss_kb "$srv_pid")" >&2
}

calls_main() {
    sb_bin=${1:-$top/out/t9phone}
    sc_rates=${SIP_CALLS_RATES:-"100 200 400 800"}
    sb_step=${SIP_CALLS_STEP:-33}
    sb_tries=${SIP_CALLS_TRIES:-2}
    sb_nusers=${SIP_BENCH_USERS:-200}
    sip_bench_init
    local users=$top/out/bench/sip-users-$sb_nusers
    make_users "$sb_nusers" "$users"
    sc_half=$((sb_nusers / 2))
    # Caller i dials callee sc_half + i.
    head -n "$sc_half" "$users/users.tsv" >"$sb_work/callers.tsv"
    tail -n +$((sc_half + 1)) "$users/users.tsv" | head -n "$sc_half" >"$sb_work/callees.tsv"
    {
        echo SEQUENTIAL
        paste "$sb_work/callers.tsv" "$sb_work/callees.tsv" | awk -F'\t' -v r="$realm" \
            '{ printf "%s;[authentication username=%s password=%s];%s;%s;\n", $4, $4, $5, r, $8 }'
    } >"$sb_work/callers.csv"
    users_csv "$sb_work/callees.tsv" 3600 >"$sb_work/callees.csv"
    kam_db "$users/users.tsv" "$sb_work/kam.db" aliases
    local cfg=$bench/kamailio/proxy.cfg port

    echo "== SIP calls: $sc_half callers -> $sc_half callees, rates $sc_rates, ${sb_step}s a step" >&2
    port=$(free_port); uas_port=$(free_port); cp -r "$users/data" "$sb_work/t9"
    start_t9 "$sb_work/t9" "$port"
    callees "$port" "$sb_work/callees.csv"
    call_ladder t9phone "$port" "$sb_work/callers.csv"
    peak t9phone
    stop_uas; stop_srv
    port=$(free_port); uas_port=$(free_port)
    start_kam "$cfg" "$sb_work/kam.db" "$port" 1
    callees "$port" "$sb_work/callees.csv"
    call_ladder kamailio-1 "$port" "$sb_work/callers.csv"
    peak kamailio-1
    stop_uas; stop_srv
    port=$(free_port); uas_port=$(free_port)
    start_kam "$cfg" "$sb_work/kam.db" "$port" ""
    callees "$port" "$sb_work/callees.csv"
    call_ladder kamailio-8 "$port" "$sb_work/callers.csv"
    peak kamailio-8
    stop_uas; stop_srv
    calls_report "$sb_work/results"
}

calls_report() {
    awk '
    $1 == "calls" {
        if ($5 == "yes") {
            if ($3 + 0 > best[$2] + 0) { best[$2] = $3; bcps[$2] = $4 }
            cpc[$2, $3] = $6; seen[$3] = 1
        }
        names[$2] = 1
    }
    $1 == "peak" { hwm[$2] = $3; pss[$2] = $4 }
    END {
        print "== SIP calls summary"
        for (n in names)
            printf "%-14s highest clean rate %s calls/s (achieved %s), cpu/call at it %sus, peak RSS %s kB, Pss %s kB\n",
                n, best[n] ? best[n] : "none", bcps[n] ? bcps[n] : 0,
                best[n] ? cpc[n, best[n]] : "-", hwm[n], pss[n]
        for (k in names) if (k != "t9phone") {
            common = 0
            for (r in seen) if ((("t9phone", r) in cpc) && ((k, r) in cpc) && r + 0 > common + 0) common = r
            if (best[k] > 0)
                printf "ratio    clean call rate t9phone/%s = %.2f\n", k, best["t9phone"] / best[k]
            if (common > 0 && cpc[k, common] > 0)
                printf "ratio    cpu per call t9phone/%s at %s/s = %.2f\n", k, common,
                    cpc["t9phone", common] / cpc[k, common]
            if (hwm[k] > 0)
                printf "ratio    peak RSS t9phone/%s = %.2f\n", k, hwm["t9phone"] / hwm[k]
        }
    }' "$1"
}

calls_main "$@"
