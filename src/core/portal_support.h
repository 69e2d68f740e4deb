/*
 * core/portal_support.h - small core functions the portal needs beyond the
 * module headers.
 */
#ifndef T9_CORE_PORTAL_SUPPORT_H
#define T9_CORE_PORTAL_SUPPORT_H

#include "store/db.h"

/* The health check: a trivial read through the statement cache proves the
 * connection, the file and the schema are there. 0, or -EIO. */
int core_health(struct store *st);

#endif
