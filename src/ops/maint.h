/*
 * ops/maint.h - housekeeping as an engine of main's table: what has
 * outlived its retention is deleted the second it falls due (core/maint.h),
 * and the WAL is checkpointed within a second of a write that removed or
 * replaced personal data (store/db.h). Its counters carry the store's.
 */
#ifndef T9_OPS_MAINT_H
#define T9_OPS_MAINT_H

#include "base/engine.h"

extern const struct engine maint_engine;

#endif
