/*
 * portal/portal.c - see portal.h.
 */
#include "portal/portal.h"

#include <stdio.h>
#include <string.h>

/* The database is healthy when a trivial read through the statement cache
 * succeeds: it proves the connection, the file and the schema are there. */
static int portal_db_ok(struct portal *p)
{
    sqlite3_stmt *s = store_stmt(p->st, "SELECT count(*) FROM sqlite_schema");
    if (!s)
        return 0;
    int ok = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_reset(s);
    return ok;
}

static int portal_path_is(const char *path, const char *want)
{
    size_t n = strlen(want);
    return strncmp(path, want, n) == 0 && (path[n] == '\0' || path[n] == '?');
}

void portal_handle(void *ctx, const struct http_request *req, struct http_response *res)
{
    struct portal *p = ctx;
    if (portal_path_is(req->path, "/healthz")) {
        if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
            res->status = 405;
            snprintf(res->extra_headers, sizeof res->extra_headers, "Allow: GET, HEAD\r\n");
            http_response_printf(res, "405 Method Not Allowed: use GET\n");
            return;
        }
        if (!portal_db_ok(p)) {
            res->status = 503;
            http_response_printf(res, "database unavailable\n");
            return;
        }
        http_response_printf(res, "ok\n");
        return;
    }
    res->status = 404;
    http_response_printf(res, "404 Not Found\n");
}
