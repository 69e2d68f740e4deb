/*
 * turn/engine.h - the TURN relay as an engine of main's table (base/engine.h).
 *
 * The engine's keys are coturn's (turn/config.h). Its glue to the domain is
 * here and nowhere else: T9phone users' long-term keys are their SIP HA1s,
 * read through core/resolve.h.
 */
#ifndef T9_TURN_ENGINE_H
#define T9_TURN_ENGINE_H

#include "base/engine.h"

extern const struct engine turn_engine;

#endif
