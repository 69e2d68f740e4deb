/*
 * ops/maint.h - housekeeping as an engine of main's table: at start and
 * then hourly, what has outlived its retention is deleted (core/maint.h).
 */
#ifndef T9_OPS_MAINT_H
#define T9_OPS_MAINT_H

#include "base/engine.h"

extern const struct engine maint_engine;

#endif
