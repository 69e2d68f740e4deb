/*
 * main.c - t9phone's command line, configuration and wiring.
 *
 *   t9phone [serve] [--config FILE] [--key=value ...]
 *   t9phone version
 *   t9phone healthcheck [--config FILE] [--key=value ...]
 *   t9phone backup FILE [--config FILE] [--key=value ...]
 *   t9phone user|group ...   (admin commands, see cli/admin.h)
 *
 * Every component declares its keys in a table; main merges the tables,
 * loads the file, the environment and the flags (weakest to strongest), and
 * starts the engines on one libuv loop.
 */
#include "base/config.h"
#include "base/log.h"
#include "cli/admin.h"
#include "core/core.h"
#include "core/errors.h"
#include "core/sipcred.h"
#include "crypto/hash.h"
#include "crypto/secretbox.h"
#include "base/engine.h"
#include "net/conn.h"
#include "net/tls.h"
#include "ops/maint.h"
#include "ops/metrics.h"
#include "portal/engine.h"
#include "sip/engine.h"
#include "store/db.h"
#include "turn/engine.h"
#include "buildinfo.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>
#include <llhttp.h>
#include <sqlite3.h>
#include <uv.h>

extern char **environ;

static const struct config_key main_config_keys[] = {
    { "data-dir", CONFIG_STRING, "./data", 0, 0, NULL, 0,
      "directory holding t9phone.db and its WAL (/data in the container image)" },
    { "realm", CONFIG_STRING, "t9phone.local", 0, 0, NULL, 0,
      "SIP and TURN realm; part of every digest hash, which start-up recomputes after a change" },
    { "secret-key-file", CONFIG_STRING, NULL, 0, 0, NULL, 0,
      "32-byte key that encrypts SIP passwords; default <data-dir>/secret.key. Keep it "
      "outside the data volume" },
    { "log-level", CONFIG_ENUM, "info", 0, 0, "debug|info|warn|error", 0, "minimum log level" },
    { "log-format", CONFIG_ENUM, "text", 0, 0, "text|json", 0, "log lines as text or JSON" },
    { NULL, 0, NULL, 0, 0, NULL, 0, NULL },
};


/* ------------------------------------------------------------ config */

struct cmdline {
    const char *command;
    const char *config_file;
    int npos;
    char *pos[16];  /* the command's own words (admin options included) */
    int nflags;
    char *flags[64]; /* --key=value configuration flags, in order */
    int masked;      /* secrets given as flags, now masked in argv */
};

/* coturn's users pass static-auth-secret on the command line, so it keeps
 * working there; but /proc/PID/cmdline is readable by every local user, so
 * the value is overwritten in place (the config holds its own copy) and
 * start-up warns. Returns 1 when it masked something. */
static int main_mask_secret(const config_t *cfg, char *flag)
{
    char key[128];
    char *eq = strchr(flag, '=');
    size_t kl = eq ? (size_t)(eq - flag) - 2 : 0;
    if (!eq || kl == 0 || kl >= sizeof key)
        return 0;
    memcpy(key, flag + 2, kl);
    key[kl] = '\0';
    if (!(config_key_flags(cfg, key) & CONFIG_SECRET))
        return 0;
    for (char *p = eq + 1; *p; p++)
        *p = '*';
    return 1;
}

static int main_is_admin(const char *cmd)
{
    return cmd && (strcmp(cmd, "user") == 0 || strcmp(cmd, "group") == 0);
}

static int main_push(char **arr, int *n, int cap, char *word)
{
    if (*n == cap) {
        fprintf(stderr, "t9phone: too many arguments\n");
        return -E2BIG;
    }
    arr[(*n)++] = word;
    return 0;
}

/* Sorts argv into the command, its own words and configuration flags, then
 * loads the file, the environment and the flags in that order (weakest to
 * strongest). Admin options (--email E) belong to the command, not to the
 * configuration; cli_admin_option() tells them apart. */
static int main_parse_args(int argc, char **argv, struct cmdline *cl, config_t *cfg)
{
    char err[CONFIG_ERR_LEN];
    const int poscap = (int)(sizeof cl->pos / sizeof cl->pos[0]);
    const int flagcap = (int)(sizeof cl->flags / sizeof cl->flags[0]);
    memset(cl, 0, sizeof *cl);
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        int rc = 0;
        if (strcmp(a, "--config") == 0 || strcmp(a, "-c") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "t9phone: --config needs a file name\n");
                return -EINVAL;
            }
            cl->config_file = argv[++i];
            continue;
        }
        if (strncmp(a, "--config=", 9) == 0) {
            cl->config_file = a + 9;
            continue;
        }
        int admin_opt = main_is_admin(cl->command) ? cli_admin_option(a) : 0;
        if (admin_opt == 1 && i + 1 < argc) {
            rc = main_push(cl->pos, &cl->npos, poscap, a);
            if (rc == 0)
                rc = main_push(cl->pos, &cl->npos, poscap, argv[++i]);
        } else if (admin_opt) {
            rc = main_push(cl->pos, &cl->npos, poscap, a);
        } else if (a[0] == '-') {
            rc = main_push(cl->flags, &cl->nflags, flagcap, a);
        } else if (!cl->command) {
            cl->command = a;
        } else {
            rc = main_push(cl->pos, &cl->npos, poscap, a);
        }
        if (rc < 0)
            return rc;
    }
    if (cl->config_file && config_load_file(cfg, cl->config_file, err) < 0) {
        fprintf(stderr, "t9phone: %s\n", err);
        return -EINVAL;
    }
    if (config_load_env(cfg, environ, err) < 0) {
        fprintf(stderr, "t9phone: %s\n", err);
        return -EINVAL;
    }
    for (int i = 0; i < cl->nflags; i++) {
        if (config_set_flag(cfg, cl->flags[i], err) < 0) {
            fprintf(stderr, "t9phone: %s\n", err);
            return -EINVAL;
        }
        cl->masked += main_mask_secret(cfg, cl->flags[i]);
    }
    return 0;
}

static void main_note_flagged(void *ctx, const struct config_key *k)
{
    int *refused = ctx;
    if (k->flags & CONFIG_UNSUPPORTED) {
        log_error("config", "'%s' is not supported: %s", k->name, k->help);
        (*refused)++;
    } else {
        log_warn("config", "'%s' is accepted but has no effect in t9phone: %s", k->name,
                 k->help);
    }
}

static int main_setup_logging(const config_t *cfg)
{
    enum log_level lvl = LOG_INFO;
    log_parse_level(config_str(cfg, "log-level"), &lvl);
    log_init(lvl, strcmp(config_str(cfg, "log-format"), "json") == 0 ? LOG_JSON : LOG_TEXT);
    return 0;
}

/* Loads the key that encrypts SIP passwords, creating it on first start. A
 * key created inside the data volume is a warning: anyone with a copy of the
 * volume (a backup, a snapshot) could then decrypt every SIP password. */
static int main_load_secret_key(const config_t *cfg, uint8_t key[SECRETBOX_KEY_LEN])
{
    char path[4096];
    const char *p = config_str(cfg, "secret-key-file");
    int created = 0, w;
    if (p)
        w = snprintf(path, sizeof path, "%s", p);
    else
        w = snprintf(path, sizeof path, "%s/secret.key", config_str(cfg, "data-dir"));
    if (w < 0 || (size_t)w >= sizeof path) {
        log_error("main", "secret-key-file path is too long");
        return -ENAMETOOLONG;
    }
    struct stat kst;
    if (stat(path, &kst) == 0 && (kst.st_mode & 077)) {
        log_error("main", "secret-key-file %s has mode %04o: it must not be readable or "
                  "writable by group or others (chmod 600 it)", path,
                  (unsigned)(kst.st_mode & 07777));
        return -EPERM;
    }
    int rc = secretbox_key_load(path, key, &created);
    if (rc == -EINVAL) {
        log_error("main", "secret-key-file %s is not a 32-byte key (64 hex digits or 32 raw bytes)",
                  path);
        return rc;
    }
    if (rc < 0) {
        log_error("main", "cannot load secret-key-file %s: %s", path, strerror(-rc));
        return rc;
    }
    if (created)
        log_warn("main", "created a new secret key at %s: back it up and keep it outside the "
                 "data volume (set secret-key-file); without it no stored SIP password can be "
                 "decrypted", path);
    return 0;
}

/* Secrets must not outlive the process in a core dump: none is written
 * (RLIMIT_CORE 0, and not dumpable, which also keeps other users' ptrace
 * and /proc/PID/mem away), and the key lives in its own page marked
 * MADV_DONTDUMP in case a dump is forced anyway. */
static void main_no_dumps(void)
{
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static uint8_t *main_key_page(void)
{
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    madvise(p, 4096, MADV_DONTDUMP);
    return p;
}

static void main_key_free(uint8_t *key)
{
    if (!key)
        return;
    crypto_wipe(key, SECRETBOX_KEY_LEN);
    munmap(key, 4096);
}

static int main_db_path(const config_t *cfg, char *out, size_t n)
{
    int w = snprintf(out, n, "%s/t9phone.db", config_str(cfg, "data-dir"));
    return w < 0 || (size_t)w >= n ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------ serve */

/* The engines, started in this order and stopped in the reverse one. */
static const struct engine *const main_engines[] = {
    &maint_engine,
    &portal_engine,
    &turn_engine,
    &sip_engine,
    &metrics_engine,
};
#define MAIN_NENGINES (sizeof main_engines / sizeof main_engines[0])

/* main's own keys first, then every engine's, so that the loader and
 * `t9phone keys` see them all. Returns the number of tables. */
static size_t main_key_tables(const struct config_key *out[1 + MAIN_NENGINES])
{
    size_t n = 0;
    out[n++] = main_config_keys;
    for (size_t i = 0; i < MAIN_NENGINES; i++)
        if (main_engines[i]->keys)
            out[n++] = main_engines[i]->keys;
    return n;
}

struct app {
    uv_loop_t *loop;
    const config_t *cfg;
    struct store *st;
    uint8_t *key; /* SECRETBOX_KEY_LEN bytes in a page of its own (main_key_page) */
    struct core_cfg core;
    struct tls_server *tls;
    struct engine_env env;
    void *states[MAIN_NENGINES];
    size_t nstarted;
    uv_signal_t sig_term, sig_int, sig_hup;
    int stopping;
    int pending_stops;
};

static void app_close_signals(struct app *a)
{
    uv_close((uv_handle_t *)&a->sig_term, NULL);
    uv_close((uv_handle_t *)&a->sig_int, NULL);
    uv_close((uv_handle_t *)&a->sig_hup, NULL);
}

static void app_engine_stopped(void *arg)
{
    struct app *a = arg;
    if (--a->pending_stops == 0)
        app_close_signals(a);
}

/* The one way down, for SIGTERM and for a failed start alike: the started
 * engines are asked to stop, last started first; the signal handles close
 * once every engine has reported, and uv_run then returns. */
static void app_stop(struct app *a)
{
    if (a->stopping)
        return;
    a->stopping = 1;
    log_info("main", "stopping");
    a->pending_stops = 1; /* held until every engine's stop has been asked */
    for (size_t i = a->nstarted; i-- > 0;) {
        void *st = a->states[i];
        if (!st)
            continue;
        a->states[i] = NULL;
        a->pending_stops++;
        main_engines[i]->stop(st, app_engine_stopped, a);
    }
    app_engine_stopped(a);
}

static void app_on_signal(uv_signal_t *h, int signum)
{
    struct app *a = h->data;
    if (signum != SIGHUP) {
        app_stop(a);
        return;
    }
    log_info("main", "SIGHUP: reloading");
    if (a->tls) {
        char err[512];
        if (tls_server_reload(a->tls, err, sizeof err) < 0)
            log_error("main", "TLS certificate not reloaded, the old one stays: %s", err);
        else
            log_info("main", "TLS certificate reloaded for every listener");
    }
    for (size_t i = 0; i < a->nstarted; i++)
        if (a->states[i] && main_engines[i]->reload)
            main_engines[i]->reload(a->states[i]);
}

/* HA1 depends on the realm: after a realm change every stored HA1 is
 * recomputed from the decrypted password, so phones keep registering. */
static int app_prepare_store(struct app *a)
{
    int changed = 0;
    int rc = core_sipcred_rehash(a->st, &a->core, &changed);
    if (rc == -EBADMSG) {
        log_error("main", "secret-key-file does not decrypt the stored SIP passwords: "
                  "wrong key for this database");
        return rc;
    }
    if (rc < 0) {
        log_error("main", "cannot check SIP digest hashes: %s", core_strerror(rc));
        return rc;
    }
    if (changed)
        log_info("core", "realm changed: recomputed %d SIP digest hashes", changed);
    return 0;
}

static int main_ensure_dir(const char *dir)
{
    if (mkdir(dir, 0700) == 0 || errno == EEXIST)
        return 0;
    return -errno;
}

/* One TLS context for every TLS listener: one SIGHUP re-reads the files
 * once and every engine's new handshakes use them. */
static int app_load_tls(struct app *a)
{
    const char *cert = config_str(a->cfg, "cert"), *pkey = config_str(a->cfg, "pkey");
    char err[512];
    if (!cert && !pkey)
        return 0;
    if (!cert || !pkey) {
        log_warn("main", "no TLS listeners: cert and pkey are not both set");
        return 0;
    }
    if (tls_server_new(cert, pkey, &a->tls, err, sizeof err) < 0) {
        log_error("main", "%s", err);
        return -EINVAL;
    }
    return 0;
}

static void app_start_signals(struct app *a)
{
    uv_signal_init(a->loop, &a->sig_term);
    uv_signal_init(a->loop, &a->sig_int);
    uv_signal_init(a->loop, &a->sig_hup);
    a->sig_term.data = a->sig_int.data = a->sig_hup.data = a;
    uv_signal_start(&a->sig_term, app_on_signal, SIGTERM);
    uv_signal_start(&a->sig_int, app_on_signal, SIGINT);
    uv_signal_start(&a->sig_hup, app_on_signal, SIGHUP);
}

/* Starts the engines in table order; the first failure stops the ones
 * already started (app_stop). Returns 0 or the failure. */
/* Descriptors beyond every engine's caps: listeners, the database and its
 * WAL, TLS files, the log, libuv's own (epoll, signal pipe, thread pool). */
#define MAIN_FD_RESERVE 64

/* Before anything listens: the caps of every engine together must fit the
 * process's descriptor limit, or the first burst of connections would
 * starve the relay of sockets and the health check of its accept. */
static int app_check_fds(const config_t *cfg)
{
    struct net_fd_use uses[8 * MAIN_NENGINES];
    size_t n = 0;
    char err[512];
    for (size_t i = 0; i < MAIN_NENGINES; i++)
        if (main_engines[i]->fd_uses)
            n += main_engines[i]->fd_uses(cfg, uses + n, 8);
    if (net_fd_budget(uses, n, MAIN_FD_RESERVE, NULL, err, sizeof err) < 0) {
        log_error("main", "%s", err);
        return -EMFILE;
    }
    return 0;
}

static int app_start_engines(struct app *a)
{
    char err[512];
    if (app_check_fds(a->cfg) < 0)
        return -EMFILE;
    a->env = (struct engine_env){
        .loop = a->loop, .cfg = a->cfg, .st = a->st, .core = &a->core, .tls = a->tls,
        .engines = main_engines, .states = a->states, .nengines = MAIN_NENGINES,
    };
    for (size_t i = 0; i < MAIN_NENGINES; i++) {
        err[0] = '\0';
        int rc = main_engines[i]->start(&a->env, &a->states[i], err, sizeof err);
        a->nstarted = i + 1;
        if (rc < 0) {
            a->states[i] = NULL;
            log_error(main_engines[i]->name, "%s", err[0] ? err : strerror(-rc));
            return rc;
        }
    }
    return 0;
}

static int cmd_serve(const config_t *cfg)
{
    char path[4096], err[512];
    const char *dir = config_str(cfg, "data-dir");
    int refused = 0, failed = 0;

    config_each_flagged(cfg, CONFIG_UNSUPPORTED | CONFIG_IGNORED, main_note_flagged, &refused);
    if (refused) {
        log_error("main", "refusing to start: %d unsupported option(s)", refused);
        return 1;
    }
    int rc = main_ensure_dir(dir);
    if (rc < 0) {
        log_error("main", "cannot create data-dir %s: %s", dir, strerror(-rc));
        return 1;
    }
    if (main_db_path(cfg, path, sizeof path) < 0) {
        log_error("main", "data-dir path is too long");
        return 1;
    }
    main_no_dumps();
    struct app a = { .cfg = cfg, .key = main_key_page() };
    if (!a.key) {
        log_error("main", "out of memory");
        return 1;
    }
    if (main_load_secret_key(cfg, a.key) < 0) {
        main_key_free(a.key);
        return 1;
    }
    if (store_open(path, &a.st, err, sizeof err) < 0) {
        log_error("store", "%s", err);
        main_key_free(a.key);
        return 1;
    }
    log_info("store", "database open, schema version %d", store_version(a.st));
    a.core = (struct core_cfg){ .realm = config_str(cfg, "realm"), .secret_key = a.key };
    a.loop = uv_default_loop();
    if (app_prepare_store(&a) < 0 || app_load_tls(&a) < 0) {
        failed = 1;
    } else {
        app_start_signals(&a);
        if (app_start_engines(&a) < 0) {
            failed = 1;
            app_stop(&a);
        } else {
            log_info("main", "t9phone %s serving", T9_VERSION);
        }
        uv_run(a.loop, UV_RUN_DEFAULT);
    }

    tls_server_free(a.tls);
    store_close(a.st);
    main_key_free(a.key);
    if (uv_loop_close(a.loop) < 0)
        log_warn("main", "loop closed with handles open");
    if (failed)
        return 1;
    log_info("main", "stopped cleanly");
    return 0;
}

/* ------------------------------------------------------------ other commands */

static int cmd_version(void)
{
    printf("t9phone %s (%s, %s)\n", T9_VERSION, T9_VARIANT, T9_LIBC);
    printf("libuv %s (Debian libuv1 %s)\n", uv_version_string(), T9_PIN_LIBUV);
    printf("BearSSL 0.6 (Debian bearssl %s)\n", T9_PIN_BEARSSL);
    printf("SQLite %s (Debian sqlite3 %s)\n", sqlite3_libversion(), T9_PIN_SQLITE);
    printf("llhttp %d.%d.%d (Debian node-llhttp %s)\n", LLHTTP_VERSION_MAJOR,
           LLHTTP_VERSION_MINOR, LLHTTP_VERSION_PATCH, T9_PIN_LLHTTP);
    return 0;
}

/* Asks the local instance's portal for /healthz with plain sockets: the
 * container image has no shell or curl, so this is its HEALTHCHECK. */
static int cmd_healthcheck(const config_t *cfg)
{
    const char *ip = config_str(cfg, "portal-ip");
    int port = (int)config_int(cfg, "portal-port");
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    /* A wildcard listener is reached through loopback. */
    if (strcmp(ip, "0.0.0.0") == 0)
        ip = "127.0.0.1";
    if (strcmp(ip, "::") == 0)
        ip = "::1";
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        sl = sizeof *s6;
    } else {
        fprintf(stderr, "healthcheck: portal-ip '%s' is not an IP address\n", ip);
        return 2;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("healthcheck: socket");
        return 1;
    }
    struct timeval tv = { .tv_sec = 3 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
        fprintf(stderr, "healthcheck: cannot connect to port %d: %s\n", port, strerror(errno));
        close(fd);
        return 1;
    }
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
                              "Connection: close\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1)) {
        fprintf(stderr, "healthcheck: write failed\n");
        close(fd);
        return 1;
    }
    char buf[256];
    size_t got = 0;
    while (got < sizeof buf - 1) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = '\0';
    if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0) {
        char *eol = strpbrk(buf, "\r\n");
        if (eol)
            *eol = '\0';
        fprintf(stderr, "healthcheck: unhealthy: %s\n", got ? buf : "no answer");
        return 1;
    }
    printf("healthy\n");
    return 0;
}

static int cmd_backup(const config_t *cfg, const struct cmdline *cl)
{
    char src[4096], err[512];
    if (cl->npos != 1) {
        fprintf(stderr, "usage: t9phone backup FILE\n");
        return 2;
    }
    if (main_db_path(cfg, src, sizeof src) < 0 || access(src, R_OK) != 0) {
        fprintf(stderr, "backup: no database at %s\n", src);
        return 1;
    }
    if (store_backup(src, cl->pos[0], err, sizeof err) < 0) {
        fprintf(stderr, "backup: %s\n", err);
        return 1;
    }
    printf("backup written to %s\n", cl->pos[0]);
    return 0;
}

/* Admin commands work on the database of a stopped or running instance:
 * WAL mode and the busy timeout let both write the one file. */
static int cmd_admin(const config_t *cfg, const struct cmdline *cl)
{
    char path[4096], err[512];
    char *av[1 + sizeof cl->pos / sizeof cl->pos[0]];
    uint8_t key[SECRETBOX_KEY_LEN];
    struct store *st;
    int ac = 0, rc;

    av[ac++] = (char *)cl->command;
    for (int i = 0; i < cl->npos; i++)
        av[ac++] = cl->pos[i];
    if (ac < 2) {
        cli_admin_usage(stderr);
        return 2;
    }
    if (main_ensure_dir(config_str(cfg, "data-dir")) < 0 ||
        main_db_path(cfg, path, sizeof path) < 0) {
        fprintf(stderr, "t9phone: cannot use data-dir %s\n", config_str(cfg, "data-dir"));
        return 3;
    }
    main_no_dumps();
    if (main_load_secret_key(cfg, key) < 0)
        return 3;
    if (store_open(path, &st, err, sizeof err) < 0) {
        fprintf(stderr, "t9phone: %s\n", err);
        crypto_wipe(key, sizeof key);
        return 3;
    }
    struct cli_env env = { config_str(cfg, "realm"), key, 0, stdin, stdout, stderr };
    rc = cli_admin_main(st, &env, ac, av);
    store_close(st);
    crypto_wipe(key, sizeof key);
    return rc;
}

/* Every configuration key, tab-separated: name, status, default, meaning.
 * The README's tables are checked against this list by a test. */
static int cmd_keys(void)
{
    const struct config_key *tables[1 + MAIN_NENGINES];
    size_t ntables = main_key_tables(tables);
    for (size_t t = 0; t < ntables; t++) {
        for (const struct config_key *k = tables[t]; k->name; k++) {
            const char *status = (k->flags & CONFIG_UNSUPPORTED) ? "refused"
                                 : (k->flags & CONFIG_IGNORED) ? "no-effect"
                                                                : "supported";
            printf("%s\t%s\t%s\t%s\n", k->name, status, k->def ? k->def : "", k->help);
        }
    }
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: t9phone [serve|version|healthcheck|keys|backup FILE|user ...|group ...]\n"
               "               [--config FILE] [--key=value ...]\n"
               "Every key is also read from the environment as T9PHONE_KEY_NAME.\n");
}

int main(int argc, char **argv)
{
    struct cmdline cl;
    signal(SIGPIPE, SIG_IGN);
    const struct config_key *tables[1 + MAIN_NENGINES];
    size_t ntables = main_key_tables(tables);
    config_t *cfg = config_new(tables, ntables);
    if (!cfg) {
        fprintf(stderr, "t9phone: out of memory\n");
        return 1;
    }
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
                     strcmp(argv[1], "help") == 0)) {
        usage(stdout);
        config_free(cfg);
        return 0;
    }
    if (main_parse_args(argc, argv, &cl, cfg) < 0) {
        config_free(cfg);
        return 2;
    }
    main_setup_logging(cfg);
    if (cl.masked)
        log_warn("config", "%d secret(s) given on the command line: masked in the process list "
                 "now, but visible there until start-up; put them in the configuration file or "
                 "the environment", cl.masked);
    const char *cmd = cl.command ? cl.command : "serve";
    int rc;
    if (strcmp(cmd, "serve") == 0)
        rc = cmd_serve(cfg);
    else if (strcmp(cmd, "version") == 0)
        rc = cmd_version();
    else if (strcmp(cmd, "healthcheck") == 0)
        rc = cmd_healthcheck(cfg);
    else if (strcmp(cmd, "backup") == 0)
        rc = cmd_backup(cfg, &cl);
    else if (strcmp(cmd, "keys") == 0)
        rc = cmd_keys();
    else if (main_is_admin(cmd))
        rc = cmd_admin(cfg, &cl);
    else {
        fprintf(stderr, "t9phone: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = 2;
    }
    config_free(cfg);
    return rc;
}
