/*
 * store/migrations.h - the schema migrations embedded from the sql/ folder.
 *
 * The build generates the table (out/<variant>/gen/sql_embed.c) from the
 * files in name order; migration i (0-based) brings the database from
 * user_version i to i + 1.
 */
#ifndef T9_STORE_MIGRATIONS_H
#define T9_STORE_MIGRATIONS_H

struct store_migration {
    const char *name; /* file name, e.g. "001_accounts.sql" */
    const char *sql;  /* NUL-terminated text */
};

extern const struct store_migration store_migrations[];
extern const int store_migration_count;

/* sql/privacy.tsv as NUL-terminated text: one row per stored column (table,
 * column, purpose, retention), for the portal's privacy page. */
extern const char store_privacy_inventory[];

#endif
