/*
 * crypto/secretbox.c - AES-256-GCM boxes and the key file.
 */
#include "crypto/secretbox.h"

#include "crypto/hash.h"
#include "crypto/random.h"

#include <bearssl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_LEN (1 + SECRETBOX_NONCE_LEN)

struct gcm {
    br_aes_gen_ctr_keys aes;
    br_gcm_context gcm;
};

static void gcm_start2(struct gcm *g, const uint8_t key[32], const uint8_t iv[12],
                       const void *aad, size_t aadlen, const void *ad, size_t adlen)
{
    br_ghash gh = br_ghash_pclmul_get();

    if (!gh)
        gh = br_ghash_ctmul64;
    /* AES-NI when the CPU has it (constant-time too, and some 30 times
     * fewer instructions than the bitsliced ct64 code: the SIP proxy opens a
     * flow token for every in-dialog request); ct64 otherwise. */
    const br_block_ctr_class *ni = br_aes_x86ni_ctr_get_vtable();
    if (ni) {
        br_aes_x86ni_ctr_init(&g->aes.c_x86ni, key, SECRETBOX_KEY_LEN);
    } else {
        br_aes_ct64_ctr_init(&g->aes.c_ct64, key, SECRETBOX_KEY_LEN);
    }
    br_gcm_init(&g->gcm, &g->aes.vtable, gh);
    br_gcm_reset(&g->gcm, iv, SECRETBOX_NONCE_LEN);
    if (aadlen > 0)
        br_gcm_aad_inject(&g->gcm, aad, aadlen);
    if (adlen > 0)
        br_gcm_aad_inject(&g->gcm, ad, adlen);
    br_gcm_flip(&g->gcm);
}

static void gcm_start(struct gcm *g, const uint8_t key[32], const uint8_t iv[12],
                      const void *aad, size_t aadlen)
{
    gcm_start2(g, key, iv, aad, aadlen, NULL, 0);
}

void secretbox_aes256gcm_encrypt(const uint8_t key[32], const uint8_t iv[12],
                                 const void *aad, size_t aadlen, void *data, size_t len,
                                 uint8_t tag[16])
{
    struct gcm g;

    gcm_start(&g, key, iv, aad, aadlen);
    if (len > 0)
        br_gcm_run(&g.gcm, 1, data, len);
    br_gcm_get_tag(&g.gcm, tag);
    crypto_wipe(&g, sizeof g);
}

/* Seals with AAD = version || ad. */
static int seal_nonce_ad(const uint8_t key[32], const uint8_t nonce[12], const void *ad,
                         size_t adlen, const void *pt, size_t len, uint8_t *out, size_t outcap)
{
    static const uint8_t version = SECRETBOX_VERSION;
    struct gcm g;

    if (len > (size_t)INT_MAX - SECRETBOX_OVERHEAD || outcap < len + SECRETBOX_OVERHEAD)
        return -ENOSPC;
    if (len > 0)
        memmove(out + HDR_LEN, pt, len);
    out[0] = version;
    memmove(out + 1, nonce, SECRETBOX_NONCE_LEN);
    gcm_start2(&g, key, out + 1, &version, 1, ad, adlen);
    if (len > 0)
        br_gcm_run(&g.gcm, 1, out + HDR_LEN, len);
    br_gcm_get_tag(&g.gcm, out + HDR_LEN + len);
    crypto_wipe(&g, sizeof g);
    return (int)(len + SECRETBOX_OVERHEAD);
}

int secretbox_seal_nonce(const uint8_t key[32], const uint8_t nonce[12], const void *pt,
                         size_t len, uint8_t *out, size_t outcap)
{
    return seal_nonce_ad(key, nonce, NULL, 0, pt, len, out, outcap);
}

int secretbox_seal_ad(const uint8_t key[32], const void *ad, size_t adlen, const void *pt,
                      size_t len, uint8_t *out, size_t outcap)
{
    uint8_t nonce[SECRETBOX_NONCE_LEN];
    int rc;

    if (len > (size_t)INT_MAX - SECRETBOX_OVERHEAD || outcap < len + SECRETBOX_OVERHEAD)
        return -ENOSPC;
    rc = crypto_random_bytes(nonce, sizeof nonce);
    if (rc < 0)
        return rc;
    return seal_nonce_ad(key, nonce, ad, adlen, pt, len, out, outcap);
}

int secretbox_seal(const uint8_t key[32], const void *pt, size_t len, uint8_t *out,
                   size_t outcap)
{
    uint8_t nonce[SECRETBOX_NONCE_LEN];
    int rc;

    if (len > (size_t)INT_MAX - SECRETBOX_OVERHEAD || outcap < len + SECRETBOX_OVERHEAD)
        return -ENOSPC;
    rc = crypto_random_bytes(nonce, sizeof nonce);
    if (rc < 0)
        return rc;
    return secretbox_seal_nonce(key, nonce, pt, len, out, outcap);
}

int secretbox_open(const uint8_t key[32], const uint8_t *in, size_t len, void *out,
                   size_t outcap)
{
    return secretbox_open_ad(key, NULL, 0, in, len, out, outcap);
}

int secretbox_open_ad(const uint8_t key[32], const void *ad, size_t adlen, const uint8_t *in,
                      size_t len, void *out, size_t outcap)
{
    static const uint8_t version = SECRETBOX_VERSION;
    uint8_t nonce[SECRETBOX_NONCE_LEN], tag[SECRETBOX_TAG_LEN];
    struct gcm g;
    size_t ptlen;
    uint32_t ok;

    if (len < SECRETBOX_OVERHEAD || len - SECRETBOX_OVERHEAD > (size_t)INT_MAX)
        return -EBADMSG;
    ptlen = len - SECRETBOX_OVERHEAD;
    if (outcap < ptlen)
        return -ENOSPC;
    if (in[0] != SECRETBOX_VERSION) {
        crypto_wipe(out, ptlen);
        return -EBADMSG;
    }
    /* Copy what the in-place decryption would overwrite when out aliases in. */
    memcpy(nonce, in + 1, sizeof nonce);
    memcpy(tag, in + HDR_LEN + ptlen, sizeof tag);
    if (ptlen > 0)
        memmove(out, in + HDR_LEN, ptlen);

    gcm_start2(&g, key, nonce, &version, 1, ad, adlen);
    if (ptlen > 0)
        br_gcm_run(&g.gcm, 0, out, ptlen);
    ok = br_gcm_check_tag(&g.gcm, tag);
    crypto_wipe(&g, sizeof g);
    if (!ok) {
        crypto_wipe(out, ptlen);
        return -EBADMSG;
    }
    return (int)ptlen;
}

/* ------------------------------------------------------------ key file */

/* Longest valid file: 64 hex digits and "\r\n". Read one byte more to spot
 * longer files. */
#define KEYFILE_MAX 66

static int read_all(int fd, uint8_t *buf, size_t cap, size_t *got)
{
    size_t n = 0;

    while (n < cap) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *got = n;
    return 0;
}

static int parse_key(const uint8_t *buf, size_t n, uint8_t key[32])
{
    char hex[65];
    int rc;

    if (n == SECRETBOX_KEY_LEN) {
        memcpy(key, buf, SECRETBOX_KEY_LEN);
        return 0;
    }
    if (n == 66 && buf[64] == '\r' && buf[65] == '\n')
        n = 64;
    else if (n == 65 && buf[64] == '\n')
        n = 64;
    if (n != 64)
        return -EINVAL;
    if (memchr(buf, '\0', 64))
        return -EINVAL;
    memcpy(hex, buf, 64);
    hex[64] = '\0';
    rc = crypto_unhex(hex, key, SECRETBOX_KEY_LEN);
    crypto_wipe(hex, sizeof hex);
    return rc;
}

static int load_existing(int fd, uint8_t key[32])
{
    uint8_t buf[KEYFILE_MAX + 1];
    size_t n = 0;
    int rc = read_all(fd, buf, sizeof buf, &n);

    if (rc == 0)
        rc = parse_key(buf, n, key);
    crypto_wipe(buf, sizeof buf);
    return rc;
}

static int write_all(int fd, const void *p, size_t len)
{
    const uint8_t *b = p;

    while (len > 0) {
        ssize_t w = write(fd, b, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        b += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync()s the directory holding path so a new name in it is durable. */
static int sync_parent(const char *path, char *scratch, size_t cap)
{
    const char *slash = strrchr(path, '/');
    size_t dlen;
    int fd, rc = 0;

    if (!slash) {
        scratch[0] = '.';
        scratch[1] = '\0';
    } else {
        dlen = slash == path ? 1 : (size_t)(slash - path);
        if (dlen >= cap)
            return -ENAMETOOLONG;
        memcpy(scratch, path, dlen);
        scratch[dlen] = '\0';
    }
    fd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fsync(fd) != 0 && errno != EINVAL) /* some file systems cannot sync dirs */
        rc = -errno;
    close(fd);
    return rc;
}

/* Creates path with a new key. Returns 0, -EEXIST when path appeared
 * meanwhile, or -errno. */
static int create_key(const char *path, uint8_t key[32])
{
    static const char suffix[] = ".XXXXXX"; /* mkostemp() template */
    char tmp[PATH_MAX];
    char hex[2 * SECRETBOX_KEY_LEN + 1];
    size_t plen = strlen(path);
    int fd, rc;

    if (plen + sizeof suffix > sizeof tmp)
        return -ENAMETOOLONG;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, sizeof suffix);

    rc = crypto_random_bytes(key, SECRETBOX_KEY_LEN);
    if (rc < 0)
        return rc;
    crypto_hex(key, SECRETBOX_KEY_LEN, hex);
    hex[64] = '\n'; /* replaces the NUL: 65 bytes are written */

    /* A unique temporary name beside path (mode 0600), linked into place only
     * once complete, so concurrent creators cannot mix their keys. */
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if (fchmod(fd, 0600) != 0)
        rc = -errno;
    if (rc == 0)
        rc = write_all(fd, hex, 65);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && link(tmp, path) != 0)
        rc = -errno; /* -EEXIST: another process created path first */
    unlink(tmp);
    if (rc == 0)
        rc = sync_parent(path, tmp, sizeof tmp);
out:
    crypto_wipe(hex, sizeof hex);
    return rc;
}

int secretbox_key_load(const char *path, uint8_t key[32], int *created)
{
    int rc = 0;

    if (created)
        *created = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            rc = load_existing(fd, key);
            close(fd);
            break;
        }
        rc = -errno;
        if (rc != -ENOENT)
            break;
        rc = create_key(path, key);
        if (rc == 0) {
            if (created)
                *created = 1;
            return 0;
        }
        if (rc != -EEXIST)
            break;
        /* lost a creation race: load the winner's key */
    }
    if (rc < 0)
        crypto_wipe(key, SECRETBOX_KEY_LEN);
    return rc;
}
