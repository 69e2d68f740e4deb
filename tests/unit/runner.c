/*
 * runner.c - runs every registered TEST in its own child process.
 *
 *   t9phone-unit            run all tests
 *   t9phone-unit PATTERN    run tests whose name contains PATTERN
 *
 * A test passes only when its child exits with status 0 after returning from
 * the test function; a signal, a non-zero exit (assertion, sanitizer report)
 * or the time limit (T9_TEST_TIMEOUT seconds, default 60) is a failure.
 * The last line is "unit: N passed, N failed".
 */
#include "t.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct t_case { const char *name, *file; t_fn fn; };

static struct t_case t_cases[4096];
static size_t t_ncases;
static char t_dir[PATH_MAX];
static char t_data[PATH_MAX + 32];

void t_register(const char *name, const char *file, t_fn fn)
{
    if (t_ncases == sizeof t_cases / sizeof t_cases[0]) {
        fprintf(stderr, "runner: too many tests\n");
        abort();
    }
    t_cases[t_ncases++] = (struct t_case){ name, file, fn };
}

void t_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1);
}

const char *t_tmpdir(void)
{
    if (mkdir(t_dir, 0700) != 0 && errno != EEXIST)
        t_fail(__FILE__, __LINE__, "mkdir %s: %s", t_dir, strerror(errno));
    return t_dir;
}

const char *t_testdata(const char *rel)
{
    static char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/%s", t_data, rel);
    return path;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb; (void)flag; (void)f;
    return remove(p);
}

static void find_testdata(const char *argv0)
{
    const char *env = getenv("T9_TESTDATA");
    if (env) {
        snprintf(t_data, sizeof t_data, "%s", env);
        return;
    }
    /* The binary lives in <repo>/out/<variant>/; the vectors are the
     * repository's own (tests/vectors), so a clone alone passes. */
    char self[PATH_MAX];
    if (!realpath(argv0, self)) {
        snprintf(t_data, sizeof t_data, "tests/vectors");
        return;
    }
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(self, '/');
        if (slash) *slash = '\0';
    }
    snprintf(t_data, sizeof t_data, "%s/tests/vectors", self);
}

static int run_one(const struct t_case *tc, unsigned timeout)
{
    snprintf(t_dir, sizeof t_dir, "/tmp/t9unit.%d.%s", (int)getpid(), tc->name);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return -1;
    }
    if (pid == 0) {
        alarm(timeout);
        tc->fn();
        fflush(NULL);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    nftw(t_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFSIGNALED(status))
        fprintf(stderr, "  killed by signal %d%s\n", WTERMSIG(status),
                WTERMSIG(status) == SIGALRM ? " (time limit)" : "");
    return -1;
}

static int cmp_case(const void *a, const void *b)
{
    const struct t_case *x = a, *y = b;
    int c = strcmp(x->file, y->file);
    return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv)
{
    const char *pat = argc > 1 ? argv[1] : NULL;
    const char *to = getenv("T9_TEST_TIMEOUT");
    unsigned timeout = to ? (unsigned)atoi(to) : 60;
    size_t passed = 0, failed = 0;

    find_testdata(argv[0]);
    qsort(t_cases, t_ncases, sizeof t_cases[0], cmp_case);
    for (size_t i = 0; i < t_ncases; i++) {
        const struct t_case *tc = &t_cases[i];
        if (pat && !strstr(tc->name, pat))
            continue;
        if (run_one(tc, timeout) == 0) {
            passed++;
            printf("ok   %s\n", tc->name);
        } else {
            failed++;
            printf("FAIL %s (%s)\n", tc->name, tc->file);
        }
    }
    printf("unit: %zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
