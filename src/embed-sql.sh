#!/bin/sh
# src/embed-sql.sh OUT INVENTORY MIGRATION...
#
# Writes the C file that embeds sql/*.sql (applied in the order given, which
# the Makefile makes file-name order) as store_migrations[], and sql/privacy.tsv,
# the inventory the portal's privacy page is rendered from, as
# store_privacy_inventory[]: the scratch image needs no file beside the binary.
# Bytes are written as hex so that no quoting in the sources can break out.
set -eu
out=$1 inv=$2
shift 2
hex() { od -An -v -tx1 "$1" | sed 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; }
{
    echo '/* generated from the sql folder by src/embed-sql.sh */'
    echo '#include "store/migrations.h"'
    n=0
    for f in "$@"; do
        echo "static const char m$n[] = {"
        hex "$f"
        echo "0x00};"
        n=$((n + 1))
    done
    echo 'const struct store_migration store_migrations[] = {'
    n=0
    for f in "$@"; do
        echo "  { \"$(basename "$f")\", m$n },"
        n=$((n + 1))
    done
    echo '};'
    echo "const int store_migration_count = $n;"
    echo "const char store_privacy_inventory[] = {"
    hex "$inv"
    echo "0x00};"
} >"$out.tmp"
mv "$out.tmp" "$out"
