/*
 * test_sip_txn.c - the transaction state machines of RFC 3261 section 17
 * (and RFC 6026's Accepted), every timer and transition, on a fake clock.
 */
#include "t.h"

#include "sip/msg.h"
#include "sip/txn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct rec {
    int sends;
    char last[2048];
    size_t last_len;
    int fail_sends;       /* sends fail while set */
    int ev[16];
    int nev;
    int done;
    struct sip_txn_tab *tab;
    int cancel_on_c;      /* call sip_txn_client_cancelled on Timer C */
    int64_t now;
};

static int r_send(void *ctx, const struct sip_flow *f, const char *buf, size_t n)
{
    struct rec *r = ctx;
    (void)f;
    if (r->fail_sends)
        return -ENOTCONN;
    r->sends++;
    r->last_len = n < sizeof r->last - 1 ? n : sizeof r->last - 1;
    memcpy(r->last, buf, r->last_len);
    r->last[r->last_len] = '\0';
    return 0;
}

static void r_event(void *ctx, struct sip_txn *t, void *user, enum sip_txn_event ev)
{
    struct rec *r = ctx;
    (void)user;
    if (r->nev < 16)
        r->ev[r->nev++] = ev;
    if (ev == SIP_TE_TIMER_C && r->cancel_on_c)
        sip_txn_client_cancelled(r->tab, t, r->now);
}

static void r_done(void *ctx, struct sip_txn *t, void *user)
{
    (void)t;
    (void)user;
    ((struct rec *)ctx)->done++;
}

static struct sip_txn_tab *mk(struct rec *r, size_t max)
{
    memset(r, 0, sizeof *r);
    struct sip_txn_cfg c;
    sip_txn_cfg_default(&c);
    c.max = max;
    struct sip_txn_ops ops = { r_send, r_event, r_done, r };
    uint8_t key[16] = { 1, 2, 3 };
    r->tab = sip_txn_tab_new(&c, &ops, key);
    ASSERT(r->tab);
    return r->tab;
}

/* Runs the clock from `from` to `to` in 1 ms steps, ticking only at the
 * deadlines the table asks for (as the engine's timer would). Records the
 * times at which sends happened into at[] (up to n). */
static int run(struct rec *r, int64_t from, int64_t to, int64_t *at, int n)
{
    int k = 0;
    int64_t now = from;
    for (;;) {
        int64_t d = sip_txn_next(r->tab);
        if (d < 0 || d > to)
            break;
        if (d > now)
            now = d;
        r->now = now;
        int before = r->sends;
        sip_txn_tick(r->tab, now);
        if (r->sends > before && k < n)
            at[k++] = now;
    }
    return k;
}

static const char INV[] = "INVITE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP p;branch=z9hG4bKc1\r\n\r\n";
static const char ACK_LINES[] = "Via: SIP/2.0/UDP p;branch=z9hG4bKc1\r\nFrom: <sip:c@h>;tag=f\r\n"
                                "Call-ID: x\r\nRoute: <sip:r;lr>\r\n";
static const char TO486[] = "To: <sip:a@h>;tag=callee\r\n";

static struct sip_txn *client(struct sip_txn_tab *tab, int method, int reliable, int timer_c)
{
    struct sip_txn_req q = { 0 };
    q.buf = INV;
    q.len = sizeof INV - 1;
    q.branch = "z9hG4bKc1";
    q.blen = 9;
    q.method = method;
    q.reliable = reliable;
    q.ruri = "sip:a@h";
    q.rulen = 7;
    q.ack_lines = ACK_LINES;
    q.alen = sizeof ACK_LINES - 1;
    q.cseq = 7;
    q.timer_c = timer_c;
    struct sip_txn *t = NULL;
    ASSERT_EQ(sip_txn_client_new(tab, &q, (void *)0x1, 0, &t), 0);
    ASSERT(t);
    return t;
}

static int resp(struct sip_txn_tab *tab, int method, int status, int64_t now)
{
    struct sip_txn *t;
    void *u;
    return sip_txn_client_response(tab, "z9hG4bKc1", 9, method, status, TO486,
                                   sizeof TO486 - 1, now, &t, &u);
}

TEST(sip_txn_invite_client_timer_a_doubles_until_timer_b)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = client(tab, SIP_M_INVITE, 0, 0);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_CALLING);
    ASSERT_EQ(r.sends, 1);
    int64_t at[16];
    int n = run(&r, 0, 40000, at, 16);
    /* A: 500, 1000, 2000, 4000, 8000, 16000 apart; B at 64*T1 = 32000. */
    ASSERT_EQ(n, 6);
    const int64_t want[6] = { 500, 1500, 3500, 7500, 15500, 31500 };
    for (int i = 0; i < 6; i++)
        ASSERT_EQ(at[i], want[i]);
    ASSERT_EQ(r.nev, 1);
    ASSERT_EQ(r.ev[0], SIP_TE_TIMEOUT);
    ASSERT_EQ(r.done, 1);
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(sip_txn_bytes(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_invite_client_reliable_no_retransmit_timer_b)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    client(tab, SIP_M_INVITE, 1, 0);
    int64_t at[4];
    ASSERT_EQ(run(&r, 0, 31999, at, 4), 0);
    ASSERT_EQ(r.nev, 0);
    run(&r, 0, 32000, at, 4);
    ASSERT_EQ(r.nev, 1);
    ASSERT_EQ(r.ev[0], SIP_TE_TIMEOUT);
    ASSERT_EQ(sip_txn_count(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_invite_client_provisional_stops_a_and_b)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = client(tab, SIP_M_INVITE, 0, 0);
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 180, 100), SIP_TXN_PASS);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_PROCEEDING);
    ASSERT_EQ(sip_txn_next(tab), -1); /* no timer: only Timer C would wait */
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 183, 200), SIP_TXN_PASS);
    ASSERT_EQ(r.sends, 1);
    ASSERT_EQ(sip_txn_count(tab), 1);
    sip_txn_tab_free(tab);
    ASSERT_EQ(r.done, 1);
}

TEST(sip_txn_invite_client_non2xx_acks_and_timer_d)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = client(tab, SIP_M_INVITE, 0, 0);
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 486, 100), SIP_TXN_PASS);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_COMPLETED);
    ASSERT_EQ(sip_txn_status(t), 486);
    ASSERT_EQ(r.sends, 2);
    const char want[] = "ACK sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP p;branch=z9hG4bKc1\r\n"
                        "From: <sip:c@h>;tag=f\r\nCall-ID: x\r\nRoute: <sip:r;lr>\r\n"
                        "To: <sip:a@h>;tag=callee\r\nCSeq: 7 ACK\r\nMax-Forwards: 70\r\n"
                        "Content-Length: 0\r\n\r\n";
    ASSERT_STR_EQ(r.last, want);
    /* The ACK parses and is what 17.1.1.3 asks for. */
    struct sip_msg m;
    ASSERT_EQ(sip_parse(r.last, r.last_len, 0, &m), 0);
    ASSERT_EQ(m.method_id, SIP_M_ACK);
    /* A retransmitted 486 is absorbed and ACKed again. */
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 486, 200), SIP_TXN_ABSORBED);
    ASSERT_EQ(r.sends, 3);
    ASSERT_STR_EQ(r.last, want);
    int64_t at[4];
    run(&r, 200, 32099, at, 4);
    ASSERT_EQ(sip_txn_count(tab), 1);
    run(&r, 200, 32100, at, 4); /* Timer D: 32 s after the 486 */
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(r.nev, 0);
    ASSERT_EQ(sip_txn_bytes(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_invite_client_non2xx_reliable_timer_d_zero)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    client(tab, SIP_M_INVITE, 1, 0);
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 603, 100), SIP_TXN_PASS);
    ASSERT_EQ(sip_txn_next(tab), 100);
    sip_txn_tick(tab, 100);
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 603, 101), -ENOENT);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_invite_client_2xx_accepted_timer_m)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = client(tab, SIP_M_INVITE, 0, 1);
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 200, 1000), SIP_TXN_PASS);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_ACCEPTED);
    ASSERT_EQ(r.sends, 1); /* no ACK: the UAC acks a 2xx end to end */
    /* 2xx retransmissions (and 2xx of other forks) go up; others do not. */
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 200, 2000), SIP_TXN_PASS);
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 180, 2000), SIP_TXN_ABSORBED);
    ASSERT_EQ(sip_txn_next(tab), 1000 + 32000);
    int64_t at[4];
    run(&r, 2000, 40000, at, 4);
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(r.nev, 0); /* Timer M ends it quietly, Timer C was stopped */
    sip_txn_tab_free(tab);
}

TEST(sip_txn_invite_client_timer_c_rearmed_then_cancel_wait)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    r.cancel_on_c = 1;
    client(tab, SIP_M_INVITE, 1, 1);
    ASSERT_EQ(sip_txn_next(tab), 32000); /* B before C */
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 100, 10), SIP_TXN_PASS);
    ASSERT_EQ(sip_txn_next(tab), 181000); /* a 100 does not re-arm C */
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 180, 5000), SIP_TXN_PASS);
    ASSERT_EQ(sip_txn_next(tab), 186000); /* a 180 does */
    int64_t at[4];
    run(&r, 5000, 186000, at, 4);
    ASSERT_EQ(r.nev, 1);
    ASSERT_EQ(r.ev[0], SIP_TE_TIMER_C);
    ASSERT_EQ(sip_txn_count(tab), 1);
    /* After the CANCEL the final response has 64*T1 to come. */
    ASSERT_EQ(sip_txn_next(tab), 186000 + 32000);
    run(&r, 186000, 300000, at, 4);
    ASSERT_EQ(r.nev, 2);
    ASSERT_EQ(r.ev[1], SIP_TE_TIMEOUT);
    ASSERT_EQ(sip_txn_count(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_invite_client_timer_c_without_cancel_clears)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = client(tab, SIP_M_INVITE, 1, 1);
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 180, 0), SIP_TXN_PASS);
    int64_t at[4];
    run(&r, 0, 200000, at, 4);
    ASSERT_EQ(r.nev, 1);
    ASSERT_EQ(r.ev[0], SIP_TE_TIMER_C);
    ASSERT_EQ(sip_txn_next(tab), -1);
    ASSERT_EQ(sip_txn_count(tab), 1);
    sip_txn_client_cancelled(tab, t, 200000);
    ASSERT_EQ(sip_txn_next(tab), 232000);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_noninvite_client_timer_e_caps_at_t2_then_f)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = client(tab, SIP_M_BYE, 0, 0);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_TRYING);
    int64_t at[16];
    int n = run(&r, 0, 40000, at, 16);
    /* E: 500, 1000, 2000, 4000, 4000, ... ; F at 32000 */
    const int64_t want[] = { 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500 };
    ASSERT_EQ(n, 10);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(at[i], want[i]);
    ASSERT_EQ(r.nev, 1);
    ASSERT_EQ(r.ev[0], SIP_TE_TIMEOUT);
    ASSERT_EQ(sip_txn_count(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_noninvite_client_proceeding_retransmits_at_t2)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    client(tab, SIP_M_OPTIONS, 0, 0);
    int64_t at[16];
    run(&r, 0, 500, at, 16); /* one retransmission at 500, next at 1500 */
    ASSERT_EQ(resp(tab, SIP_M_OPTIONS, 100, 600), SIP_TXN_PASS);
    int n = run(&r, 600, 9600, at, 16);
    /* 1500 was already due at interval 1000; then T2 apart. */
    ASSERT_EQ(n, 3);
    ASSERT_EQ(at[0], 1500);
    ASSERT_EQ(at[1], 5500);
    ASSERT_EQ(at[2], 9500);
    ASSERT_EQ(resp(tab, SIP_M_OPTIONS, 200, 9600), SIP_TXN_PASS);
    ASSERT_EQ(resp(tab, SIP_M_OPTIONS, 200, 9700), SIP_TXN_ABSORBED);
    ASSERT_EQ(sip_txn_next(tab), 9600 + 5000); /* Timer K = T4 */
    int sends = r.sends;
    run(&r, 9700, 20000, at, 16);
    ASSERT_EQ(r.sends, sends);
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(r.nev, 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_noninvite_client_reliable_timer_k_zero)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    client(tab, SIP_M_BYE, 1, 0);
    ASSERT_EQ(sip_txn_next(tab), 32000); /* only F */
    ASSERT_EQ(resp(tab, SIP_M_BYE, 200, 50), SIP_TXN_PASS);
    ASSERT_EQ(sip_txn_next(tab), 50);
    sip_txn_tick(tab, 50);
    ASSERT_EQ(sip_txn_count(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_client_response_matching)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    client(tab, SIP_M_INVITE, 0, 0);
    struct sip_txn *t;
    void *u;
    /* Another branch, another CSeq method (the CANCEL's 200), no match. */
    ASSERT_EQ(sip_txn_client_response(tab, "z9hG4bKc2", 9, SIP_M_INVITE, 180, "", 0, 0, &t, &u),
              -ENOENT);
    ASSERT_EQ(sip_txn_client_response(tab, "z9hG4bKc1", 9, SIP_M_CANCEL, 200, "", 0, 0, &t, &u),
              -ENOENT);
    ASSERT_EQ(sip_txn_client_response(tab, "z9hG4bKc1", 9, SIP_M_INVITE, 99, "", 0, 0, &t, &u),
              -ENOENT);
    ASSERT_EQ(sip_txn_client_response(tab, "z9hG4bKc1", 9, SIP_M_INVITE, 180, "", 0, 0, &t, &u),
              SIP_TXN_PASS);
    ASSERT(u == (void *)0x1);
    sip_txn_tab_free(tab);
}

static struct sip_txn *server(struct sip_txn_tab *tab, int method, int reliable)
{
    struct sip_txn_key k = { "z9hG4bKs1", 9, "10.0.0.1:5060", 13, method };
    struct sip_flow f = { .port = 5060, .family = 4, .transport = reliable ? SIP_TR_TCP : SIP_TR_UDP };
    struct sip_txn *t;
    ASSERT_EQ(sip_txn_server_request(tab, &k, 0, &t), -ENOENT);
    ASSERT_EQ(sip_txn_server_new(tab, &k, &f, reliable, NULL, 0, &t), 0);
    return t;
}

static int req(struct sip_txn_tab *tab, int method, int64_t now)
{
    struct sip_txn_key k = { "z9hG4bKs1", 9, "10.0.0.1:5060", 13, method };
    struct sip_txn *t;
    return sip_txn_server_request(tab, &k, now, &t);
}

TEST(sip_txn_invite_server_trying_absorbs_retransmissions)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = server(tab, SIP_M_INVITE, 0);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_PROCEEDING);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 100, "100", 3, 0), 0);
    ASSERT_EQ(r.sends, 1);
    ASSERT_EQ(req(tab, SIP_M_INVITE, 10), SIP_TXN_ABSORBED);
    ASSERT_EQ(r.sends, 2);
    ASSERT_STR_EQ(r.last, "100");
    ASSERT_EQ(sip_txn_server_respond(tab, t, 180, "180", 3, 20), 0);
    ASSERT_EQ(req(tab, SIP_M_INVITE, 30), SIP_TXN_ABSORBED);
    ASSERT_STR_EQ(r.last, "180");
    /* Same branch, another sent-by: another transaction. */
    struct sip_txn_key k2 = { "z9hG4bKs1", 9, "10.0.0.2:5060", 13, SIP_M_INVITE };
    struct sip_txn *t2;
    ASSERT_EQ(sip_txn_server_request(tab, &k2, 30, &t2), -ENOENT);
    /* The CANCEL finds the INVITE. */
    struct sip_txn_key kc = { "z9hG4bKs1", 9, "10.0.0.1:5060", 13, SIP_M_INVITE };
    ASSERT(sip_txn_server_find(tab, &kc) == t);
    ASSERT_EQ(sip_txn_next(tab), -1);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_invite_server_timer_g_then_ack_then_timer_i)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = server(tab, SIP_M_INVITE, 0);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 486, "486", 3, 0), 0);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_COMPLETED);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 500, "500", 3, 0), -EALREADY);
    int64_t at[16];
    int n = run(&r, 0, 12000, at, 16);
    /* G: 500, 1000, 2000, 4000, 4000 apart */
    const int64_t want[] = { 500, 1500, 3500, 7500, 11500 };
    ASSERT_EQ(n, 5);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(at[i], want[i]);
    ASSERT_STR_EQ(r.last, "486");
    ASSERT_EQ(req(tab, SIP_M_INVITE, 12000), SIP_TXN_ABSORBED); /* resent */
    ASSERT_EQ(r.sends, 7);
    ASSERT_EQ(req(tab, SIP_M_ACK, 12100), SIP_TXN_ABSORBED);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_CONFIRMED);
    ASSERT_EQ(req(tab, SIP_M_ACK, 12200), SIP_TXN_ABSORBED);
    ASSERT_EQ(req(tab, SIP_M_INVITE, 12200), SIP_TXN_ABSORBED);
    ASSERT_EQ(r.sends, 7); /* Confirmed sends nothing */
    ASSERT_EQ(sip_txn_next(tab), 12100 + 5000); /* Timer I = T4 */
    run(&r, 12200, 20000, at, 16);
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(r.nev, 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_invite_server_timer_h_without_ack)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = server(tab, SIP_M_INVITE, 1);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 404, "404", 3, 0), 0);
    ASSERT_EQ(sip_txn_next(tab), 32000); /* reliable: no G, only H */
    int64_t at[4];
    ASSERT_EQ(run(&r, 0, 40000, at, 4), 0);
    ASSERT_EQ(r.nev, 1);
    ASSERT_EQ(r.ev[0], SIP_TE_TIMEOUT);
    ASSERT_EQ(sip_txn_count(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_invite_server_reliable_ack_timer_i_zero)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = server(tab, SIP_M_INVITE, 1);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 487, "487", 3, 0), 0);
    ASSERT_EQ(req(tab, SIP_M_ACK, 5), SIP_TXN_ABSORBED);
    ASSERT_EQ(sip_txn_next(tab), 5);
    sip_txn_tick(tab, 5);
    ASSERT_EQ(sip_txn_count(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_invite_server_2xx_accepted_timer_l)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = server(tab, SIP_M_INVITE, 0);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 100, "100", 3, 0), 0);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 200, "200a", 4, 100), 0);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_ACCEPTED);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 200, "200b", 4, 200), 0); /* another fork's 2xx */
    ASSERT_STR_EQ(r.last, "200b");
    ASSERT_EQ(sip_txn_server_respond(tab, t, 486, "486", 3, 200), -EALREADY);
    int sends = r.sends;
    ASSERT_EQ(req(tab, SIP_M_INVITE, 300), SIP_TXN_ABSORBED);
    ASSERT_EQ(r.sends, sends); /* RFC 6026: absorbed, not answered */
    struct sip_txn_key k = { "z9hG4bKs1", 9, "10.0.0.1:5060", 13, SIP_M_ACK };
    struct sip_txn *got;
    ASSERT_EQ(sip_txn_server_request(tab, &k, 400, &got), SIP_TXN_PASS);
    ASSERT(got == t);
    ASSERT_EQ(sip_txn_next(tab), 100 + 32000); /* Timer L */
    int64_t at[4];
    run(&r, 400, 40000, at, 4);
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(r.nev, 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_noninvite_server_trying_proceeding_completed_timer_j)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = server(tab, SIP_M_BYE, 0);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_TRYING);
    ASSERT_EQ(req(tab, SIP_M_BYE, 1), SIP_TXN_ABSORBED);
    ASSERT_EQ(r.sends, 0); /* Trying: nothing to resend */
    ASSERT_EQ(sip_txn_server_respond(tab, t, 100, "100", 3, 2), 0);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_PROCEEDING);
    ASSERT_EQ(req(tab, SIP_M_BYE, 3), SIP_TXN_ABSORBED);
    ASSERT_EQ(r.sends, 2);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 200, "200", 3, 4), 0);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_COMPLETED);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 200, "200", 3, 5), -EALREADY);
    ASSERT_EQ(req(tab, SIP_M_BYE, 6), SIP_TXN_ABSORBED);
    ASSERT_EQ(r.sends, 4);
    ASSERT_STR_EQ(r.last, "200");
    /* ACK does not match a non-INVITE transaction */
    ASSERT_EQ(req(tab, SIP_M_ACK, 6), -ENOENT);
    ASSERT_EQ(sip_txn_next(tab), 4 + 32000); /* Timer J */
    int64_t at[4];
    ASSERT_EQ(run(&r, 6, 40000, at, 4), 0);
    ASSERT_EQ(sip_txn_count(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_noninvite_server_reliable_timer_j_zero)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = server(tab, SIP_M_OPTIONS, 1);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 200, "200", 3, 9), 0);
    ASSERT_EQ(sip_txn_next(tab), 9);
    sip_txn_tick(tab, 9);
    ASSERT_EQ(sip_txn_count(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_transport_error_ends_transaction)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    client(tab, SIP_M_INVITE, 0, 0);
    r.fail_sends = 1;
    int64_t at[4];
    run(&r, 0, 1000, at, 4);
    ASSERT_EQ(r.nev, 1);
    ASSERT_EQ(r.ev[0], SIP_TE_TRANSPORT);
    ASSERT_EQ(sip_txn_count(tab), 0);
    /* A server response that cannot be sent. */
    r.fail_sends = 0;
    struct sip_txn *t = server(tab, SIP_M_INVITE, 1);
    r.fail_sends = 1;
    ASSERT_EQ(sip_txn_server_respond(tab, t, 100, "100", 3, 0), -ENOTCONN);
    ASSERT_EQ(r.ev[1], SIP_TE_TRANSPORT);
    sip_txn_tick(tab, 0);
    ASSERT_EQ(sip_txn_count(tab), 0);
    /* A first send that fails keeps nothing. */
    struct sip_txn_req q = { .buf = "x", .len = 1, .branch = "z9hG4bKq", .blen = 8,
                             .method = SIP_M_BYE };
    ASSERT_EQ(sip_txn_client_new(tab, &q, NULL, 0, &t), -ENOTCONN);
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(sip_txn_bytes(tab), 0);
    sip_txn_tab_free(tab);
}

TEST(sip_txn_table_is_bounded)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 3);
    char br[3][24];
    for (int i = 0; i < 4; i++) {
        struct sip_txn_key k = { br[i % 3], 0, "h", 1, SIP_M_BYE };
        snprintf(br[i % 3], sizeof br[0], "z9hG4bK%d", i);
        k.blen = strlen(br[i % 3]);
        struct sip_flow f = { 0 };
        struct sip_txn *t;
        ASSERT_EQ(sip_txn_server_new(tab, &k, &f, 0, NULL, 0, &t), i < 3 ? 0 : -ENOSPC);
    }
    ASSERT_EQ(sip_txn_count(tab), 3);
    ASSERT(sip_txn_bytes(tab) > 0);
    sip_txn_tab_free(tab);
    ASSERT_EQ(r.done, 3);
}

TEST(sip_txn_many_timers_fire_in_order)
{
    /* Heap order with many transactions at different deadlines. */
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 64);
    for (int i = 0; i < 50; i++) {
        char b[24];
        snprintf(b, sizeof b, "z9hG4bK%02d", i);
        struct sip_txn_key k = { b, strlen(b), "h", 1, SIP_M_BYE };
        struct sip_flow f = { 0 };
        struct sip_txn *t;
        ASSERT_EQ(sip_txn_server_new(tab, &k, &f, 0, NULL, 0, &t), 0);
        ASSERT_EQ(sip_txn_server_respond(tab, t, 200, "ok", 2, (i * 37) % 50), 0);
    }
    int64_t last = -1;
    while (sip_txn_count(tab)) {
        int64_t d = sip_txn_next(tab);
        ASSERT(d >= last);
        last = d;
        ASSERT(sip_txn_tick(tab, d) >= 1);
    }
    ASSERT_EQ(last, 49 + 32000);
    sip_txn_tab_free(tab);
}

/* ------------------------------------------------ holding after the final */

/* Timer K is T4 (5 s) over UDP, not 64*T1: a finished client non-INVITE
 * only absorbs retransmitted responses; the request copy goes at the final. */
TEST(sip_txn_noninvite_client_udp_timer_k_is_t4)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    struct sip_txn *t = client(tab, SIP_M_BYE, 0, 0);
    size_t live = sip_txn_bytes(tab);
    ASSERT_EQ(resp(tab, SIP_M_BYE, 200, 1000), SIP_TXN_PASS);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_COMPLETED);
    ASSERT_EQ(sip_txn_bytes(tab), live - (sizeof INV - 1) - 16); /* the request went */
    ASSERT_EQ(sip_txn_next(tab), 1000 + 5000);
    ASSERT_EQ(resp(tab, SIP_M_BYE, 200, 5999), SIP_TXN_ABSORBED);
    int64_t at[4];
    ASSERT_EQ(run(&r, 5999, 40000, at, 4), 0); /* nothing resent after the final */
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(sip_txn_bytes(tab), 0);
    ASSERT_EQ(r.nev, 0);
    sip_txn_tab_free(tab);
}

/* What a finished transaction holds: a client INVITE with a 2xx (Timer M)
 * neither its request nor its ACK template; one with a non-2xx only its
 * ACK (Timer D); a server INVITE confirmed by the ACK of its 407 nothing but
 * its key (Timer I, T4); a server non-INVITE its final response (Timer J). */
TEST(sip_txn_finished_transactions_keep_only_what_they_resend)
{
    struct rec r;
    struct sip_txn_tab *tab = mk(&r, 8);
    ASSERT_EQ(sip_txn_bytes(tab), 0);
    client(tab, SIP_M_INVITE, 0, 1);
    size_t full = sip_txn_bytes(tab);
    ASSERT(full > (sizeof INV - 1) + (sizeof ACK_LINES - 1));
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 200, 10), SIP_TXN_PASS);
    size_t accepted = sip_txn_bytes(tab);
    ASSERT_EQ(accepted, full - (sizeof INV - 1) - (7 + sizeof ACK_LINES - 1) - 2 * 16);
    ASSERT(accepted <= 256); /* the record and its key */
    sip_txn_tick(tab, 10 + 32000);
    ASSERT_EQ(sip_txn_bytes(tab), 0);

    /* Non-2xx: the ACK (made once, resent for each retransmitted final)
     * replaces the template. */
    client(tab, SIP_M_INVITE, 0, 0);
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 486, 20), SIP_TXN_PASS);
    ASSERT(strncmp(r.last, "ACK sip:a@h SIP/2.0\r\n", 21) == 0);
    size_t completed = sip_txn_bytes(tab);
    ASSERT_EQ(completed, accepted + r.last_len + 16);
    ASSERT_EQ(resp(tab, SIP_M_INVITE, 486, 30), SIP_TXN_ABSORBED);
    ASSERT(strncmp(r.last, "ACK sip:a@h SIP/2.0\r\n", 21) == 0);
    ASSERT_EQ(sip_txn_bytes(tab), completed);
    sip_txn_tick(tab, 20 + 32000);
    ASSERT_EQ(sip_txn_count(tab), 0);

    /* Server INVITE: 407, then its ACK: the 407 copy goes (Confirmed only
     * absorbs ACKs), Timer I is T4. */
    struct sip_txn *t = server(tab, SIP_M_INVITE, 0);
    size_t bare = sip_txn_bytes(tab);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 407, "SIP/2.0 407", 11, 100), 0);
    ASSERT_EQ(sip_txn_bytes(tab), bare + 11 + 16);
    ASSERT_EQ(req(tab, SIP_M_ACK, 200), SIP_TXN_ABSORBED);
    ASSERT_EQ(sip_txn_state(t), SIP_TS_CONFIRMED);
    ASSERT_EQ(sip_txn_bytes(tab), bare);
    ASSERT_EQ(sip_txn_next(tab), 200 + 5000);
    int sends = r.sends;
    ASSERT_EQ(req(tab, SIP_M_ACK, 300), SIP_TXN_ABSORBED);
    ASSERT_EQ(r.sends, sends);
    sip_txn_tick(tab, 200 + 5000);
    ASSERT_EQ(sip_txn_count(tab), 0);

    /* Server non-INVITE over UDP: its 200 stays for Timer J (64*T1) and is
     * what a retransmitted BYE gets. */
    t = server(tab, SIP_M_BYE, 0);
    ASSERT_EQ(sip_txn_server_respond(tab, t, 200, "SIP/2.0 200", 11, 400), 0);
    ASSERT_EQ(sip_txn_bytes(tab), bare + 11 + 16);
    ASSERT_EQ(sip_txn_next(tab), 400 + 32000);
    ASSERT_EQ(req(tab, SIP_M_BYE, 30000), SIP_TXN_ABSORBED);
    ASSERT_STR_EQ(r.last, "SIP/2.0 200");
    sip_txn_tick(tab, 400 + 32000);
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(sip_txn_bytes(tab), 0);
    sip_txn_tab_free(tab);
}

/* The table is bounded by bytes as well as by count: past max_bytes new
 * transactions are refused (-ENOSPC, a 503 upstream) until held ones end. */
TEST(sip_txn_table_is_bounded_by_bytes)
{
    struct rec r;
    memset(&r, 0, sizeof r);
    struct sip_txn_cfg c;
    sip_txn_cfg_default(&c);
    ASSERT_EQ(c.max, 1u << 20);
    ASSERT_EQ(c.max_bytes, (size_t)128 << 20);
    c.max = 1000;
    c.max_bytes = 1024;
    struct sip_txn_ops ops = { r_send, r_event, r_done, &r };
    uint8_t key[16] = { 1 };
    struct sip_txn_tab *tab = r.tab = sip_txn_tab_new(&c, &ops, key);
    ASSERT(tab);
    char br[64][24];
    int made = 0, refused = 0;
    for (int i = 0; i < 64; i++) {
        snprintf(br[i], sizeof br[i], "z9hG4bKb%d", i);
        struct sip_txn_key k = { br[i], strlen(br[i]), "h", 1, SIP_M_BYE };
        struct sip_flow f = { 0 };
        struct sip_txn *t;
        int rc = sip_txn_server_new(tab, &k, &f, 0, NULL, 0, &t);
        if (rc == 0) {
            made++;
            ASSERT_EQ(sip_txn_server_respond(tab, t, 200, "SIP/2.0 200 OK", 14, 0), 0);
        } else {
            ASSERT_EQ(rc, -ENOSPC);
            refused++;
        }
    }
    ASSERT(made >= 2);
    ASSERT(refused > 0);
    ASSERT(sip_txn_bytes(tab) <= 1024 + 14 + 16); /* one response past the check at most */
    /* A client transaction is refused too. */
    struct sip_txn_req q = { .buf = INV, .len = sizeof INV - 1, .branch = "z9hG4bKq", .blen = 8,
                             .method = SIP_M_BYE };
    struct sip_txn *t;
    ASSERT_EQ(sip_txn_client_new(tab, &q, NULL, 0, &t), -ENOSPC);
    ASSERT_EQ(r.sends, made); /* the refused request was not sent */
    /* Once Timer J ends them, there is room again. */
    sip_txn_tick(tab, 32000);
    ASSERT_EQ(sip_txn_count(tab), 0);
    ASSERT_EQ(sip_txn_client_new(tab, &q, NULL, 32000, &t), 0);
    sip_txn_tab_free(tab);
}
