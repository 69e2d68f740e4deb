/*
 * core/portal_support.c - see portal_support.h.
 */
#include "core/portal_support.h"
#include "core/internal.h"

#include <errno.h>

int core_health(struct store *st)
{
    sqlite3_stmt *s = core_stmt(st, "SELECT count(*) FROM sqlite_schema");
    if (!s)
        return -EIO;
    int rc = core_row(st, s);
    if (rc > 0)
        sqlite3_reset(s);
    return rc > 0 ? 0 : -EIO;
}
