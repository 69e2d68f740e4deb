#!/usr/bin/env bash
# tests/fuzz/run.sh - build one libFuzzer target with clang and run it for a
# bounded time.
#
#   tests/fuzz/run.sh [TARGET] [SECONDS]    TARGET: stun (default), config, t9, sip, text
#   tests/fuzz/run.sh SECONDS               stun, for SECONDS (default 60)
#
# Each target links only the pure code it exercises (codecs take bytes and
# return values: no libuv, no SQLite). Needs clang and, for stun, the
# unpacked BearSSL sources from ./build.sh fetch, for sip re2c. Exits non-zero when the
# fuzzer finds a crash, a leak, an undefined behaviour or a broken invariant.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
target=stun
if [ $# -gt 0 ] && ! [[ $1 =~ ^[0-9]+$ ]]; then
    target=$1
    shift
fi
secs=${1:-60}
out="$top/out/fuzz"
br="$top/out/3p/bearssl"
cc=${CLANG:-clang}
command -v "$cc" >/dev/null || { echo "fuzz: clang not found (apt-get install clang)" >&2; exit 2; }

inc=(-I"$top/src")
seeddirs=()
case $target in
    stun)
        [ -d "$br/src" ] || { echo "fuzz: BearSSL sources missing: run ./build.sh fetch" >&2; exit 2; }
        # The codec needs only BearSSL's hashes and HMAC.
        brsrc=(mac/hmac.c hash/sha1.c hash/sha2small.c hash/md5.c codec/dec32be.c
               codec/enc32be.c codec/dec32le.c codec/enc32le.c)
        srcs=("$top/src/turn/stun.c" "$top/src/turn/peer.c" "$top/src/crypto/hash.c"
              "${brsrc[@]/#/$br/src/}")
        deps=("$top/src/turn/stun.h" "$top/src/turn/peer.h" "$top/src/base/bytes.h"
              "$top/src/crypto/hash.h")
        inc+=(-I"$br/inc" -I"$br/src")
        seeddirs=("$top/tests/vectors/rfc5769" "$top/tests/vectors/turn")
        ;;
    config)
        srcs=("$top/src/base/config.c" "$top/src/base/file.c")
        deps=("$top/src/base/config.h" "$top/src/base/file.h")
        ;;
    t9)
        srcs=("$top/src/core/t9.c")
        deps=("$top/src/core/t9.h" "$top/src/core/errors.h")
        ;;
    sip)
        command -v re2c >/dev/null || { echo "fuzz: re2c not found (apt-get install re2c)" >&2; exit 2; }
        # The lexer is generated as the build does it (src/Makefile).
        gen="$out/gen/sip_lex.c"
        mkdir -p "$out/gen"
        if [ ! -f "$gen" ] || [ "$top/src/sip/lex.re" -nt "$gen" ]; then
            re2c -W -Werror --no-generation-date -o "$gen" "$top/src/sip/lex.re"
        fi
        srcs=("$top/src/sip/msg.c" "$top/src/sip/uri.c" "$top/src/sip/build.c" "$gen")
        deps=("$top/src/sip/msg.h" "$top/src/sip/lex.h" "$top/src/sip/parse.h")
        # Seeds: the RFC 4475 messages, LF lines turned into CRLF.
        mkdir -p "$out/corpus-sip"
        for f in "$top"/tests/vectors/sip/*.sip; do
            tail -n +2 "$f" | sed 's/$/\r/' > "$out/corpus-sip/$(basename "$f" .sip)"
        done
        ;;
    text)
        srcs=("$top/src/core/text.c")
        deps=("$top/src/core/text.h" "$top/src/core/text_tables.h")
        ;;
    *)
        echo "fuzz: unknown target '$target' (stun, config, t9, sip, text)" >&2
        exit 2
        ;;
esac
mkdir -p "$out/corpus-$target"
bin="$out/fuzz_$target"
main="$top/tests/fuzz/fuzz_$target.c"
if [ ! -x "$bin" ] || [ -n "$(find "$main" "${srcs[@]}" "${deps[@]}" -newer "$bin")" ]; then
    "$cc" -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined "${inc[@]}" "$main" "${srcs[@]}" -o "$bin"
fi
for d in "${seeddirs[@]}"; do
    for f in "$d"/*.bin; do
        [ -f "$f" ] && cp -f "$f" "$out/corpus-$target/"
    done
done
cd "$out"
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
    "corpus-$target"
