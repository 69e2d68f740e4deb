/*
 * portal/engine.h - the web portal as an engine of main's table (base/engine.h):
 * the HTTP listener and the portal's routes.
 */
#ifndef T9_PORTAL_ENGINE_H
#define T9_PORTAL_ENGINE_H

#include "base/engine.h"

extern const struct engine portal_engine;

#endif
