#!/usr/bin/env bash
# tests/bench/sip_calls.sh - SIP call load through t9phone's proxy and
# through Kamailio 5.6 as a comparable proxy (tests/bench/kamailio/proxy.cfg:
# tm, record-routing, auth_db, alias_db for the dial code, usrloc in memory),
# in the same run, on loopback, with sipp on both ends.
#
#   tests/bench/sip_calls.sh [BIN]          BIN defaults to out/t9phone
#   SIP_CALLS_RATES="50 100 200" SIP_CALLS_STEP=33 tests/bench/sip_calls.sh
#   SIP_CALLS_BASE_BIN=/path/to/older/t9phone   also that binary, as "t9phone-base"
#   SIP_CALLS_KAMAILIO="1 default"   Kamailio's UDP worker counts ("default": its own, 8)
#
# Pinned (sip.sh): each server on CPU SIP_BENCH_SERVER_CPU (1), Kamailio's
# workers all on it too, both sipp on SIP_BENCH_LOAD_CPU (0).
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
    local name=$1 port=$2 csv=$3 rate tries c0 c1 d0 d1 out ok f r wall scpu cps cpc u0 k0 u1 k1 f0 f1
    sipp_run "$port" "$bench/sipp/caller.xml" "$csv" 20 20 >/dev/null # warm-up
    for rate in $sc_rates; do
        tries=0
        while :; do
            read -r u0 k0 f0 < <(cpu_split "$srv_pid"); d0=$(udp_drops "$port")
            out=$(sipp_run "$port" "$bench/sipp/caller.xml" "$csv" "$rate" $((rate * sb_step)))
            read -r u1 k1 f1 < <(cpu_split "$srv_pid"); d1=$(udp_drops "$port")
            c0=$((u0 + k0)); c1=$((u1 + k1))
            read -r ok f r wall scpu <<<"$out"
            cps=$(awk -v n="$ok" -v w="$wall" 'BEGIN { printf "%.0f", (w > 0 ? n / w : 0) }')
            cpc=$(awk -v c="$((c1 - c0))" -v n="$ok" -v hz="$hz" \
                'BEGIN { printf "%.1f", (n ? c / hz * 1000000 / n : 0) }')
            local clean=no txns="" usr sys
            [ "$ok" -eq $((rate * sb_step)) ] && [ "$f" -eq 0 ] && [ "$r" -eq 0 ] && clean=yes
            usr=$(awk -v c="$((u1 - u0))" -v n="$ok" -v hz="$hz" 'BEGIN { printf "%.0f", (n ? c / hz * 1000000 / n : 0) }')
            sys=$(awk -v c="$((k1 - k0))" -v n="$ok" -v hz="$hz" 'BEGIN { printf "%.0f", (n ? c / hz * 1000000 / n : 0) }')
            # t9phone's live transactions and the bytes they and the calls'
            # contexts hold as the step ends (the steady state of a rate once
            # the step is longer than 64*T1).
            case $name in t9phone*)
                txns=" txns=$(metric t9phone_sip_transactions) txn_kB=$(($(metric t9phone_sip_transaction_bytes) / 1024)) ctx=$(metric t9phone_sip_proxy_contexts) ctx_kB=$(($(metric t9phone_sip_proxy_context_bytes) / 1024))" ;;
            esac
            local flt
            flt=$(awk -v c="$((f1 - f0))" -v n="$ok" 'BEGIN { printf "%.2f", (n ? c / n : 0) }')
            printf '%-12s rate=%-5s ok=%-6s failed=%-5s retrans=%-5s drops=%-4s %5s calls/s  cpu/call=%sus (user %s, sys %s) faults/call=%s  sipp-cpu=%ss %s%s\n' \
                "$name" "$rate" "$ok" "$f" "$r" "$((d1 - d0))" "$cps" "$cpc" "$usr" "$sys" "$flt" "$scpu" \
                "$([ $clean = yes ] && echo clean || echo FAILED)" "$txns" >&2
            echo "calls $name $rate $cps $clean $cpc $usr $sys" >>"$sb_work/results"
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
    "${sb_pin_load[@]}" timeout 900 sipp -sf "$bench/sipp/callee.xml" -t u1 -i 127.0.0.1 -p "$uas_port" -nostdin \
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
    sc_rates=${SIP_CALLS_RATES:-"500 1000 1500 2000 3000 4000"}
    sb_step=${SIP_CALLS_STEP:-33}
    sb_tries=${SIP_CALLS_TRIES:-2}
    sb_nusers=${SIP_BENCH_USERS:-200}
    sip_bench_init
    local users=$top/out/bench/sip-users-$sb_nusers
    make_users "$sb_nusers" "$users"
    sc_half=$((sb_nusers / 2))
    call_csvs "$users" "$sc_half"
    kam_db "$users/users.tsv" "$sb_work/kam.db" aliases
    local cfg=$bench/kamailio/proxy.cfg port

    echo "== SIP calls: $sc_half callers -> $sc_half callees, rates $sc_rates, ${sb_step}s a step" >&2
    echo "== pinning: ${sb_pin_srv[*]:-none} for servers, ${sb_pin_load[*]:-none} for sipp" >&2
    local bins=("t9phone=$sb_bin") b name w
    [ -n "${SIP_CALLS_BASE_BIN:-}" ] && bins+=("t9phone-base=$SIP_CALLS_BASE_BIN")
    for b in "${bins[@]}"; do
        name=${b%%=*}
        port=$(free_port); uas_port=$(free_port)
        rm -rf "$sb_work/t9"; cp -r "$users/data" "$sb_work/t9"
        sb_bin=${b#*=} start_t9 "$sb_work/t9" "$port"
        callees "$port" "$sb_work/callees.csv"
        call_ladder "$name" "$port" "$sb_work/callers.csv"
        peak "$name"
        stop_uas; stop_srv
    done
    for w in ${SIP_CALLS_KAMAILIO:-1 default}; do
        port=$(free_port); uas_port=$(free_port)
        if [ "$w" = default ]; then
            start_kam "$cfg" "$sb_work/kam.db" "$port" ""; name=kamailio-8
        else
            start_kam "$cfg" "$sb_work/kam.db" "$port" "$w"; name=kamailio-$w
        fi
        callees "$port" "$sb_work/callees.csv"
        call_ladder "$name" "$port" "$sb_work/callers.csv"
        peak "$name"
        stop_uas; stop_srv
    done
    calls_report "$sb_work/results"
}

calls_report() {
    awk '
    $1 == "calls" {
        if ($5 == "yes") {
            if ($3 + 0 > best[$2] + 0) { best[$2] = $3; bcps[$2] = $4 }
            cpc[$2, $3] = $6; usr[$2, $3] = $7; sys[$2, $3] = $8; seen[$3] = 1
        }
        names[$2] = 1
    }
    $1 == "peak" { hwm[$2] = $3; pss[$2] = $4 }
    END {
        print "== SIP calls summary"
        for (n in names)
            printf "%-14s highest clean rate %s calls/s (achieved %s), cpu/call at it %sus (user %s, sys %s), peak RSS %s kB, Pss %s kB\n",
                n, best[n] ? best[n] : "none", bcps[n] ? bcps[n] : 0,
                best[n] ? cpc[n, best[n]] : "-", best[n] ? usr[n, best[n]] : "-",
                best[n] ? sys[n, best[n]] : "-", hwm[n], pss[n]
        for (k in names) if (k != "t9phone" && "t9phone" in names) {
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
