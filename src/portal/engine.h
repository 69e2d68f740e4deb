/*
 * portal/engine.h - the portal as an engine (src/engine.h): its keys, and
 * its plain HTTP and HTTPS listeners.
 *
 * Plain HTTP always listens on portal-ip:portal-port (the container's
 * health check uses it). With `cert`/`pkey` set and portal-tls-port not 0,
 * HTTPS listens on portal-tls-port with the shared TLS context, and plain
 * requests other than /healthz are redirected there, unless they come from
 * trusted-proxy saying X-Forwarded-Proto: https.
 */
#ifndef T9_PORTAL_ENGINE_H
#define T9_PORTAL_ENGINE_H

#include "base/engine.h"

extern const struct engine portal_engine;

#endif
