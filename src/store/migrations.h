/*
 * store/migrations.h - the schema migrations embedded from the sql/ folder.
 *
 * The build generates the tables (out/<variant>/gen/sql_embed.c and
 * inventory_embed.c) with src/embed.sh; migration i (0-based) brings the database from
 * user_version i to i + 1.
 */
#ifndef T9_STORE_MIGRATIONS_H
#define T9_STORE_MIGRATIONS_H

#include "base/embed.h"

/* One entry per .sql file of sql/ (name e.g. "001_accounts.sql", data its
 * NUL-terminated text), in file-name order. */
extern const struct embed_file store_migrations[];
extern const int store_migrations_count;

/* One entry, sql/privacy.tsv: one row per stored column (table, column,
 * purpose, retention), for the portal's privacy page. */
extern const struct embed_file store_inventory[];
extern const int store_inventory_count;

#endif
