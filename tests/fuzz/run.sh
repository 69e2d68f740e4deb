#!/usr/bin/env bash
# tests/fuzz/run.sh - build the STUN codec fuzzer with clang's libFuzzer and
# run it for a bounded time.
#
#   tests/fuzz/run.sh [SECONDS]     default 60
#
# Needs clang (apt-get install clang) and the unpacked BearSSL sources from
# ./build.sh fetch. Seeds come from ../shared/testdata. Exits non-zero when
# the fuzzer finds a crash, a leak or an undefined behaviour.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-60}
out="$top/out/fuzz"
br="$top/out/3p/bearssl"
cc=${CLANG:-clang}
command -v "$cc" >/dev/null || { echo "fuzz: clang not found (apt-get install clang)" >&2; exit 2; }
[ -d "$br/src" ] || { echo "fuzz: BearSSL sources missing: run ./build.sh fetch" >&2; exit 2; }
mkdir -p "$out/corpus"

# The codec needs only BearSSL's hashes and HMAC.
brsrc=(mac/hmac.c hash/sha1.c hash/sha2small.c hash/md5.c codec/dec32be.c codec/enc32be.c
       codec/dec32le.c codec/enc32le.c)
bin="$out/fuzz_stun"
srcs=("$top/tests/fuzz/fuzz_stun.c" "$top/src/turn/stun.c" "$top/src/turn/peer.c")
if [ ! -x "$bin" ] || [ -n "$(find "${srcs[@]}" "$top/src/turn/stun.h" -newer "$bin")" ]; then
    "$cc" -g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
        -fno-sanitize-recover=undefined -I"$top/src" -I"$br/inc" -I"$br/src" \
        "${srcs[@]}" "${brsrc[@]/#/$br/src/}" -o "$bin"
fi
seeds="$top/../shared/testdata"
for f in "$seeds"/rfc5769/*.bin "$seeds"/turn/*.bin; do
    [ -f "$f" ] && cp -f "$f" "$out/corpus/"
done
cd "$out"
exec "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 corpus
