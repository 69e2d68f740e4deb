/*
 * portal/portal.h - the web portal's request router.
 *
 * Today it answers the health check; sign-up, groups and provisioning grow
 * here. The handler runs on the loop thread and must not block: anything
 * slow (bcrypt) goes to the libuv thread pool.
 */
#ifndef T9_PORTAL_PORTAL_H
#define T9_PORTAL_PORTAL_H

#include "net/http.h"
#include "store/db.h"

struct portal {
    struct store *st;
};

/* http_handler_fn for struct portal *ctx. GET/HEAD /healthz answers 200
 * "ok" when the database answers a query, 503 otherwise; unknown paths 404,
 * other methods on known paths 405 with Allow. */
void portal_handle(void *ctx, const struct http_request *req, struct http_response *res);

#endif
