/*
 * test_tls.c - TLS credentials: PEM chain and key loading (PKCS#8 and SEC1
 * EC keys), mismatches and garbage refused, reload keeps the old credentials
 * on failure. The handshake itself is exercised by the TURN integration
 * tests (turnutils_uclient -S and Python's ssl).
 */
#include "t.h"

#include <errno.h>
#include <stdio.h>

#include "net/tls.h"

/* Throw-away self-signed P-256 test certificate and keys (not secrets). */
static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBdTCCARugAwIBAgIUC+hynEg/EChqw6oSOLZlVeckHwQwCgYIKoZIzj0EAwIw\n"
    "DzENMAsGA1UEAwwEdW5pdDAgFw0yNjExMjExMDM1MDdaGA8yMTI2MTAyODEwMzUw\n"
    "N1owDzENMAsGA1UEAwwEdW5pdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABPYK\n"
    "P3Bb6DTJt609NZx+fZrZR78RUE76yQAAW0krVcyiv5z2sWiJW884/tPG3/GGGzUo\n"
    "JgBohQeWpmv8ytLkQU2jUzBRMB0GA1UdDgQWBBQX+qvUwme9TveuTRlLinuPEAcI\n"
    "4TAfBgNVHSMEGDAWgBQX+qvUwme9TveuTRlLinuPEAcI4TAPBgNVHRMBAf8EBTAD\n"
    "AQH/MAoGCCqGSM49BAMCA0gAMEUCIQCUmQaZN24Es43j77Cs2OXNo3Mbe60qPt/L\n"
    "l6BYuOa5IgIgb7AjV/hOLZy5QRGpuj+ZeuLO9P7gs/kYTIWeSC7QVUg=\n"
    "-----END CERTIFICATE-----\n";
static const char key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgflyoBC6u+q96+4wz\n"
    "UuvdsR318QpcsvmluEs5m1+SqbOhRANCAAT2Cj9wW+g0ybetPTWcfn2a2Ue/EVBO\n"
    "+skAAFtJK1XMor+c9rFoiVvPOP7Txt/xhhs1KCYAaIUHlqZr/MrS5EFN\n"
    "-----END PRIVATE KEY-----\n";
static const char other_key_pem[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEIKsScwaYRlVQNydlJpcPPjrlWl8kWgQXuXR4rGISIZVaoAoGCCqGSM49\n"
    "AwEHoUQDQgAEZme7XMvIpsm8GvofL/KqaGNNXq2/zu8Ww28esasKcmJ6+4vBNZ6T\n"
    "eYEoaK0MD6e23H2yY/y+raOHD3SCKCHEYA==\n"
    "-----END EC PRIVATE KEY-----\n";

static const char *write_file(const char *name, const char *text)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 512, "%s/%s", t_tmpdir(), name);
    FILE *f = fopen(p, "w");
    ASSERT(f != NULL);
    fputs(text, f);
    fclose(f);
    return p;
}

TEST(tls_turn_loads_ec_pkcs8_and_reloads)
{
    const char *crt = write_file("c.pem", cert_pem);
    const char *key = write_file("k.pem", key_pem);
    struct tls_server *s = NULL;
    char err[256];
    ASSERT_EQ(tls_server_new(crt, key, &s, err, sizeof err), 0);
    ASSERT_EQ(tls_server_reload(s, err, sizeof err), 0);
    /* A key that does not match the certificate: refused, old ones kept. */
    write_file("k.pem", other_key_pem);
    ASSERT(tls_server_reload(s, err, sizeof err) < 0);
    ASSERT(strstr(err, "does not match") != NULL);
    write_file("k.pem", "garbage\n");
    ASSERT(tls_server_reload(s, err, sizeof err) < 0);
    tls_server_free(s);
}

TEST(tls_turn_refuses_bad_files)
{
    struct tls_server *s = NULL;
    char err[256];
    const char *crt = write_file("c.pem", cert_pem);
    const char *key = write_file("k.pem", other_key_pem); /* SEC1 "EC PRIVATE KEY" */
    ASSERT(tls_server_new(crt, key, &s, err, sizeof err) < 0);
    ASSERT_EQ(tls_server_new("/nonexistent/c.pem", key, &s, err, sizeof err), -ENOENT);
    ASSERT(strstr(err, "/nonexistent/c.pem") != NULL);
    const char *empty = write_file("e.pem", "-----BEGIN CERTIFICATE-----\n");
    ASSERT(tls_server_new(empty, key, &s, err, sizeof err) < 0);
    /* Key and certificate swapped. */
    const char *k2 = write_file("k2.pem", key_pem);
    ASSERT(tls_server_new(k2, crt, &s, err, sizeof err) < 0);
}
