/*
 * sip/registrar.h - REGISTER (RFC 3261 10.3, RFC 5626 6, RFC 3327 5.3).
 *
 * After digest authentication (the authenticated user must be the To
 * user, else 403), each Contact is added, refreshed or removed in the
 * location table with the flow it came over; `Contact: *` with Expires 0
 * removes them all; an expiry below sip-min-expires is answered 423 with
 * Min-Expires, one above sip-max-expires is cut to it, and none means
 * sip-default-expires. The 200 lists every current binding with its
 * expiry, and the Path it stored when the phone supports path.
 */
#ifndef T9_SIP_REGISTRAR_H
#define T9_SIP_REGISTRAR_H

#include "sip/handler.h"

/* Answers the REGISTER m into *ans. */
void sip_registrar_handle(struct sip_handler *h, const struct sip_msg *m,
                          const struct sip_flow *src, uint32_t now, struct sip_answer *ans);

#endif
