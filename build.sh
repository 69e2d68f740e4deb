#!/usr/bin/env bash
# build.sh - fetch, check, build, test and run T9phone.
#
#   ./build.sh            static musl release binary: out/t9phone
#   ./build.sh debug      glibc build with AddressSanitizer and UBSan: out/debug/t9phone
#   ./build.sh test       both builds, then unit tests and integration tests
#   ./build.sh run [ARGS] release build, then serve a local instance from ./data
#   ./build.sh fetch      only fetch and verify the pinned third-party sources
#   ./build.sh bench      benchmarks beside Kamailio and coturn (tests/bench)
#   ./build.sh clean      remove out/
#
# On a fresh Debian 12 machine, run as root, it installs what it needs with
# apt-get. Third-party sources are never committed: vendor/pins names the
# Debian packages, versions and SHA-256 of every file; they are fetched with
# apt-get and unpacked with dpkg-source so that Debian's patches apply.
set -euo pipefail

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"
out="$top/out"
dl="$out/dl"
tp="$out/3p"
jobs=$(nproc 2>/dev/null || echo 2)

say() { printf 'build.sh: %s\n' "$*" >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- packages
# Every package is named: apt runs with --no-install-recommends, so what a
# package only recommends (gcc-12 -> libc6-dev, libclang-common-14-dev ->
# libclang-rt-14-dev for the fuzzers' runtime) must be listed here.
build_pkgs=(musl-tools re2c tcl dpkg-dev gcc libc6-dev make ca-certificates xz-utils file)
test_pkgs=(python3 python3-pytest coturn openssl clang libclang-rt-14-dev)
# `ip` for the TURN tests that run in a network namespace of their own.
test_pkgs+=(iproute2)
# The SIP tests: sipp, Linphone's command-line client, sipvicious.
test_pkgs+=(sip-tester linphone-cli sipvicious)
# The portal's browser tests: Debian's Chromium (with a font: fonts-liberation
# is only recommended) driven by playwright-core from npm
# (tests/browser/package.json). A Node.js from elsewhere already brings npm,
# and Debian's npm would conflict with it.
test_pkgs+=(chromium fonts-dejavu-core nodejs)
command -v npm >/dev/null 2>&1 || test_pkgs+=(npm)

apt_updated=0
ensure_pkgs() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    [ "$(id -u)" -eq 0 ] || die "missing Debian packages: ${missing[*]} (run as root or install them)"
    if [ $apt_updated -eq 0 ]; then
        apt-get update -qq >&2
        apt_updated=1
    fi
    say "installing ${missing[*]}"
    # Test peers such as coturn ship a daemon whose service would start on
    # install and hold its ports: a policy-rc.d that refuses every start is
    # in place while apt runs (removed after, unless it was already there).
    local prc=/usr/sbin/policy-rc.d own_prc=0
    if [ ! -e "$prc" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 0755 "$prc" && own_prc=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || rc=$?
    [ $own_prc -eq 1 ] && rm -f "$prc"
    [ $rc -eq 0 ] || die "apt-get install failed for ${missing[*]}"
    # Where systemd runs, make sure no packaged daemon stays enabled.
    if [ -d /run/systemd/system ]; then
        for svc in coturn kamailio stunnel4; do
            systemctl disable --now "$svc" >/dev/null 2>&1 || true
        done
    fi
}

# Source packages need deb-src entries. They are derived from the machine's own
# apt sources so that no archive host is ever written into this repository.
enable_deb_src() {
    local f=/etc/apt/sources.list.d/t9phone-src.sources
    local l=/etc/apt/sources.list.d/t9phone-src.list
    [ -f "$f" ] || [ -f "$l" ] && return 0
    local changed=0
    if [ -f /etc/apt/sources.list.d/debian.sources ] &&
        grep -q '^Types:.*\bdeb\b' /etc/apt/sources.list.d/debian.sources &&
        ! grep -q '^Types:.*deb-src' /etc/apt/sources.list.d/debian.sources; then
        sed -e 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$f"
        changed=1
    fi
    if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list &&
        ! grep -q '^deb-src ' /etc/apt/sources.list; then
        sed -n 's/^deb /deb-src /p' /etc/apt/sources.list >"$l"
        changed=1
    fi
    if [ $changed -eq 1 ]; then
        say "enabled deb-src entries derived from this machine's apt sources"
        apt-get update -qq >&2
        apt_updated=1
    fi
}

# ------------------------------------------------------------------ fetch
pins() { grep -v '^#' vendor/pins | grep -v '^[[:space:]]*$'; }

verify_file() { # file sha256
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$got" = "$2" ] || die "checksum mismatch for $(basename "$1"): expected $2, got $got (vendor/pins)"
}

fetch() {
    mkdir -p "$dl"
    local need=0
    while read -r lib kind pkg ver file sum; do
        [ -f "$dl/$file" ] || need=1
    done < <(pins)
    if [ $need -eq 1 ]; then
        [ "$(id -u)" -eq 0 ] || die "third-party sources missing in out/dl; run as root once to fetch them"
        enable_deb_src
        local srcs=() debs=()
        while read -r lib kind pkg ver file sum; do
            case $kind in
                source) srcs+=("$pkg=$ver") ;;
                deb) debs+=("$pkg=$ver") ;;
            esac
        done < <(pins | awk '!seen[$3]++')
        (cd "$dl" && apt-get source -qq --download-only "${srcs[@]}" >&2) ||
            die "apt-get source failed for ${srcs[*]}"
        (cd "$dl" && apt-get download -qq "${debs[@]}" >&2) || die "apt-get download failed for ${debs[*]}"
        chmod a+r "$dl"/* 2>/dev/null || true
    fi
    while read -r lib kind pkg ver file sum; do
        [ -f "$dl/$file" ] || die "$file was not fetched (vendor/pins)"
        verify_file "$dl/$file" "$sum"
    done < <(pins)
    unpack
}

unpack() {
    mkdir -p "$tp"
    while read -r lib kind pkg ver file sum; do
        local dst="$tp/$lib" stamp="$tp/$lib.stamp"
        [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pkg $ver" ] && continue
        rm -rf "$dst" "$tp/$lib.tmp"
        case $kind in
            source)
                [[ $file == *.dsc ]] || continue
                say "unpacking $pkg $ver (with Debian patches)"
                dpkg-source --no-check -x "$dl/$file" "$tp/$lib.tmp" >/dev/null
                ;;
            deb)
                say "unpacking $pkg $ver"
                dpkg-deb -x "$dl/$file" "$tp/$lib.tmp"
                ;;
        esac
        mv "$tp/$lib.tmp" "$dst"
        echo "$pkg $ver" >"$stamp"
    done < <(pins)
    amalgamate_sqlite
}

# SQLite's amalgamation is generated from the patched tree with the host
# compiler and tclsh; both variants then compile the one sqlite3.c.
amalgamate_sqlite() {
    local d="$tp/sqlite-amalg"
    [ -f "$d/sqlite3.c" ] && [ "$d/sqlite3.c" -nt "$tp/sqlite.stamp" ] && return 0
    say "generating the SQLite amalgamation"
    rm -rf "$d" && mkdir -p "$d"
    (cd "$d" && "$tp/sqlite/configure" --disable-tcl --disable-readline >/dev/null &&
        make -s sqlite3.c >/dev/null 2>&1) || die "SQLite amalgamation failed"
}

# ------------------------------------------------------------------ build
variant() { # release|debug
    ensure_pkgs "${build_pkgs[@]}"
    fetch
    make -s -j"$jobs" -f src/Makefile VARIANT="$1"
}

unit_tests() {
    make -s -j"$jobs" -f src/Makefile VARIANT=debug unit
    local log="$out/unit.log"
    set +e
    T9_TESTDATA="$top/tests/vectors" ASAN_OPTIONS=detect_leaks=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$out/debug/t9phone-unit" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    set -e
    return $rc
}

# Two passes: every test against the static release binary, then again
# against the ASan/UBSan build (less what only the static binary can show):
# a memory error or a leak at exit makes that server's exit status non-zero,
# which the fixtures report as a failure.
integration_tests() {
    ensure_pkgs "${test_pkgs[@]}"
    local log="$out/integration.log" dlog="$out/integration-asan.log" rc=0 drc=0
    set +e
    T9_TEST_BIN="$out/t9phone" \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    echo "integration tests again under AddressSanitizer and UBSan:"
    T9_TEST_BIN="$out/debug/t9phone" ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider -m "not release_only" \
        tests/integration "$@" 2>&1 | tee "$dlog"
    drc=${PIPESTATUS[0]}
    set -e
    [ $rc -eq 0 ] && [ $drc -eq 0 ]
}

# Each runner prints one machine line, `<runner>: N passed, N failed`
# (tests/unit/runner.c, the pytest hook in tests/integration/conftest.py);
# the summary adds those up. A runner that failed without printing its line
# counts as one failure, so the summary never reads clean by accident.
sum_runner() { # log-file runner-name -> "passed failed"
    local line
    line=$(grep -E "^$2: [0-9]+ passed, [0-9]+ failed" "$1" 2>/dev/null | tail -1)
    [ -n "$line" ] || { echo "0 1"; return; }
    sed -E "s/^$2: ([0-9]+) passed, ([0-9]+) failed.*/\\1 \\2/" <<<"$line"
}

cmd_test() {
    variant release
    variant debug
    local urc=0 irc=0 npass=0 nfail=0 a b pair
    rm -f "$out/unit.log" "$out/integration.log" "$out/integration-asan.log"
    unit_tests || urc=$?
    integration_tests "$@" || irc=$?
    for pair in "unit.log unit" "integration.log integration" "integration-asan.log integration"; do
        read -r a b <<<"$(sum_runner "$out/${pair% *}" "${pair#* }")"
        npass=$((npass + a)) nfail=$((nfail + b))
    done
    if [ $((urc + irc)) -ne 0 ] && [ $nfail -eq 0 ]; then nfail=1; fi
    echo "t9phone: $npass passed, $nfail failed"
    [ $urc -eq 0 ] && [ $irc -eq 0 ]
}

case "${1:-release}" in
    release | build) variant release ;;
    debug) variant debug ;;
    fetch) ensure_pkgs "${build_pkgs[@]}"; fetch ;;
    test) shift; cmd_test "$@" ;;
    run)
        shift
        variant release
        mkdir -p "$top/data"
        exec "$out/t9phone" serve "$@"
        ;;
    bench) shift; variant release; ensure_pkgs "${test_pkgs[@]}" kamailio kamailio-sqlite-modules
        exec bash tests/bench/run.sh "$@" ;;
    clean) rm -rf "$out" ;;
    *) die "unknown command '$1' (release, debug, test, run, fetch, bench, clean)" ;;
esac
