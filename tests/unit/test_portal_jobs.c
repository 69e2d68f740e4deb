/*
 * test_portal_jobs.c - the portal's thread-pool jobs (portal.h): each
 * worker thread lowers its own priority before its first job while the
 * loop's thread keeps its own, at most max_jobs run at once, the rest wait
 * in order and still get their own results, and a full queue refuses.
 * Real libuv loop and thread pool, real bcrypt checks (cost 4). Nothing
 * here depends on timing: every assertion holds however the threads run.
 */
#include "t.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uv.h>

#include "core/accounts.h"
#include "portal/internal.h"

/* Field n (1-based, n >= 3) of /proc/self/task/TID/stat, counted after
 * the parenthesised command name (which may hold spaces); -100 when
 * unreadable. Field 19 is the nice value, 41 the scheduling policy. */
static int thread_stat_field(long tid, int n)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/self/task/%ld/stat", tid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -100;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *p = strrchr(buf, ')');
    if (!p || p[1] != ' ')
        return -100;
    p += 2; /* field 3 */
    for (int field = 3; field < n; field++) {
        p = strchr(p, ' ');
        if (!p)
            return -100;
        p++;
    }
    return atoi(p);
}

static int thread_nice(long tid)
{
    return thread_stat_field(tid, 19);
}

static int thread_policy(long tid)
{
    return thread_stat_field(tid, 41);
}

static long my_tid(void)
{
    return (long)syscall(SYS_gettid);
}

struct tjob {
    struct portal_job base;
    int index;
    int want_match;           /* the password given is the right one */
    char hash[BCRYPT_HASH_SIZE];
    int verify_rc;            /* set by run() */
    long tid;                 /* the thread run() ran on */
    int nice, policy;         /* that thread's nice and policy while run() ran */
    struct tstate *st;
};

struct tstate {
    atomic_int inside, most_inside; /* run() calls at once, and the most seen */
    int order[16], done;
    int rc[16], want[16], nice[16], policy[16];
    long tid[16];
};

static const char right_pw[] = "correct horse battery";

static void tjob_run(struct portal_job *j)
{
    struct tjob *job = (struct tjob *)j;
    int now = atomic_fetch_add(&job->st->inside, 1) + 1;
    int most = atomic_load(&job->st->most_inside);
    while (now > most && !atomic_compare_exchange_weak(&job->st->most_inside, &most, now))
        ;
    job->tid = my_tid();
    job->nice = thread_nice(job->tid);
    job->policy = thread_policy(job->tid);
    const char *pw = job->want_match ? right_pw : "not the password at all";
    job->verify_rc = core_accounts_verify_password(pw, strlen(pw), job->hash);
    atomic_fetch_sub(&job->st->inside, 1);
}

static void tjob_after(struct portal_job *j)
{
    struct tjob *job = (struct tjob *)j;
    struct tstate *st = job->st;
    int i = job->index;
    st->order[st->done++] = i;
    st->rc[i] = job->verify_rc;
    st->want[i] = job->want_match;
    st->nice[i] = job->nice;
    st->policy[i] = job->policy;
    st->tid[i] = job->tid;
}

static struct tjob *tjob_new(struct tstate *st, int index, int want_match, const char *hash)
{
    struct tjob *job = calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->base.run = tjob_run;
    job->base.after = tjob_after;
    job->base.size = sizeof *job;
    job->index = index;
    job->want_match = want_match;
    job->st = st;
    memcpy(job->hash, hash, BCRYPT_HASH_SIZE);
    return job;
}

static void make_hash(char hash[BCRYPT_HASH_SIZE])
{
    struct core_cfg cfg = { .bcrypt_cost = 4 };
    ASSERT_EQ(core_accounts_hash_password(&cfg, right_pw, strlen(right_pw), hash), 0);
}

/* Six checks on up to four worker threads, nice 7 and idle as asked;
 * returns through st. The loop's thread must be left as it was. */
static void run_lowered(int idle, struct tstate *st)
{
    char hash[BCRYPT_HASH_SIZE];
    make_hash(hash);
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    struct portal p = { .loop = &loop, .job_nice = 7, .job_idle = idle, .max_jobs = 4 };
    ASSERT_EQ(portal_init(&p), 0);
    long loop_tid = my_tid();
    int loop_nice = thread_nice(loop_tid), loop_policy = thread_policy(loop_tid);
    ASSERT(loop_nice > -100);
    ASSERT_NE(loop_policy, SCHED_IDLE);
    memset(st, 0, sizeof *st);
    for (int i = 0; i < 6; i++) {
        struct tjob *job = tjob_new(st, i, i % 2 == 0, hash);
        ASSERT(job != NULL);
        ASSERT_EQ(portal_job_submit(&p, &job->base), 0);
    }
    ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ASSERT_EQ(st->done, 6);
    ASSERT_EQ(p.jobs, 0);
    for (int i = 0; i < 6; i++) {
        ASSERT(st->tid[i] != loop_tid);
        /* 7, or the thread's own if the test itself runs lower than that
         * (a thread never raises itself). */
        ASSERT(st->nice[i] >= 7);
        ASSERT(st->nice[i] >= loop_nice);
        ASSERT_EQ(st->rc[i], st->want[i] ? 0 : -EACCES);
    }
    ASSERT_EQ(thread_nice(loop_tid), loop_nice);
    ASSERT_EQ(thread_policy(loop_tid), loop_policy);
    portal_free(&p);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

TEST(portal_jobs_lower_each_worker_thread_to_idle_but_not_the_loop)
{
    static struct tstate st;
    run_lowered(1, &st);
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(st.policy[i], SCHED_IDLE);
}

TEST(portal_jobs_lower_only_the_nice_value_when_not_idle)
{
    static struct tstate st;
    run_lowered(0, &st);
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(st.policy[i], thread_policy(my_tid())); /* the loop's, inherited */
}

TEST(portal_jobs_past_the_bound_wait_in_order_with_their_own_answers)
{
    char hash[BCRYPT_HASH_SIZE];
    make_hash(hash);
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    struct portal p = { .loop = &loop, .max_jobs = 1, .max_queued = 3 };
    ASSERT_EQ(portal_init(&p), 0);
    static struct tstate st;
    memset(&st, 0, sizeof st);
    /* Nothing runs until uv_run: the first goes to the pool, three wait. */
    for (int i = 0; i < 4; i++) {
        struct tjob *job = tjob_new(&st, i, i != 2, hash);
        ASSERT(job != NULL);
        ASSERT_EQ(portal_job_submit(&p, &job->base), 0);
    }
    ASSERT_EQ(p.running, 1);
    ASSERT_EQ(p.queued, 3);
    ASSERT_EQ(p.jobs, 4);
    /* The fifth finds the queue full and stays the caller's. */
    struct tjob *extra = tjob_new(&st, 4, 1, hash);
    ASSERT(extra != NULL);
    ASSERT_EQ(portal_job_submit(&p, &extra->base), -EBUSY);
    ASSERT_EQ(p.jobs, 4);
    free(extra);
    ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ASSERT_EQ(st.done, 4);
    ASSERT_EQ(atomic_load(&st.most_inside), 1);
    for (int i = 0; i < 4; i++) {
        ASSERT_EQ(st.order[i], i); /* first come, first run */
        ASSERT_EQ(st.rc[i], i != 2 ? 0 : -EACCES);
    }
    ASSERT_EQ(p.jobs, 0);
    ASSERT_EQ(p.running, 0);
    ASSERT_EQ(p.queued, 0);
    ASSERT(p.queue_head == NULL && p.queue_tail == NULL);
    /* Once drained, the queue takes jobs again. */
    struct tjob *again = tjob_new(&st, 5, 1, hash);
    ASSERT(again != NULL);
    ASSERT_EQ(portal_job_submit(&p, &again->base), 0);
    ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ASSERT_EQ(st.done, 5);
    ASSERT_EQ(st.rc[5], 0);
    portal_free(&p);
    ASSERT_EQ(uv_loop_close(&loop), 0);
}

TEST(portal_jobs_default_bound_follows_cpus_and_the_pool_size)
{
    const char *old = getenv("UV_THREADPOOL_SIZE");
    char saved[32] = "";
    if (old)
        snprintf(saved, sizeof saved, "%s", old);
    unsigned cpus = uv_available_parallelism();
    unsetenv("UV_THREADPOOL_SIZE");
    unsigned n = portal_default_max_jobs();
    ASSERT_EQ(n, cpus < 4 ? cpus : 4);
    setenv("UV_THREADPOOL_SIZE", "1", 1);
    ASSERT_EQ(portal_default_max_jobs(), 1);
    setenv("UV_THREADPOOL_SIZE", "0", 1); /* libuv makes that 1 */
    ASSERT_EQ(portal_default_max_jobs(), 1);
    setenv("UV_THREADPOOL_SIZE", "64", 1);
    ASSERT_EQ(portal_default_max_jobs(), cpus < 64 ? cpus : 64);
    if (saved[0])
        setenv("UV_THREADPOOL_SIZE", saved, 1);
    else
        unsetenv("UV_THREADPOOL_SIZE");
    /* portal_init fills in both defaults. */
    struct portal p = { 0 };
    ASSERT_EQ(portal_init(&p), 0);
    ASSERT_EQ(p.max_jobs, portal_default_max_jobs());
    ASSERT_EQ(p.max_queued, 256);
    portal_free(&p);
}

TEST(portal_jobs_without_a_loop_are_refused)
{
    struct portal p = { 0 };
    ASSERT_EQ(portal_init(&p), 0);
    struct portal_job job = { 0 };
    ASSERT_EQ(portal_job_submit(&p, &job), -EAGAIN);
    ASSERT_EQ(p.jobs, 0);
    portal_free(&p);
}
