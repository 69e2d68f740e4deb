/*
 * t.h - T9phone's unit-test harness.
 *
 * Each TEST() registers itself at load time; the runner (runner.c) forks one
 * child per test so that a crash, a leak report or a stray global in one test
 * cannot touch another, gives each child a time limit, and insists that the
 * child returns normally (a test that exits early or is killed has failed).
 * A failed assertion prints file:line and the expression, then ends the child.
 *
 * Usage:
 *   #include "t.h"
 *   TEST(t9_maps_marina) { ASSERT_STR_EQ(..., ...); }
 *
 * Tests needing files get a fresh private directory from t_tmpdir(), removed
 * by the runner afterwards.
 */
#ifndef T9_TEST_T_H
#define T9_TEST_T_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef void (*t_fn)(void);

void t_register(const char *name, const char *file, t_fn fn);
void t_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
/* Fresh per-test directory (created on first call, removed by the runner). */
const char *t_tmpdir(void);
/* Absolute path of tests/vectors/<rel>, found relative to the repo
 * (T9_TESTDATA overrides the folder). */
const char *t_testdata(const char *rel);

#define TEST(name)                                                        \
    static void name(void);                                               \
    __attribute__((constructor)) static void name##_register(void)       \
    { t_register(#name, __FILE__, name); }                                \
    static void name(void)

#define ASSERT(c)                                                         \
    do { if (!(c)) t_fail(__FILE__, __LINE__, "assertion failed: %s", #c); } while (0)

#define ASSERT_EQ(a, b)                                                   \
    do { long long a_ = (long long)(a), b_ = (long long)(b);              \
         if (a_ != b_) t_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", \
                              #a, #b, a_, b_); } while (0)

#define ASSERT_NE(a, b)                                                   \
    do { long long a_ = (long long)(a), b_ = (long long)(b);              \
         if (a_ == b_) t_fail(__FILE__, __LINE__, "%s != %s: both %lld",  \
                              #a, #b, a_); } while (0)

#define ASSERT_STR_EQ(a, b)                                               \
    do { const char *a_ = (a), *b_ = (b);                                 \
         if (!a_ || !b_ || strcmp(a_, b_) != 0)                           \
             t_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"",     \
                    #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)

#define ASSERT_MEM_EQ(a, b, n)                                            \
    do { if (memcmp((a), (b), (n)) != 0)                                  \
             t_fail(__FILE__, __LINE__, "%s == %s (%zu bytes) differ",    \
                    #a, #b, (size_t)(n)); } while (0)

#endif
