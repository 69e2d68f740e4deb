/*
 * sip/engine.h - the SIP engine as main.c starts it (src/base/engine.h):
 * registrar over UDP, TCP and TLS. Its configuration keys are in
 * sip_engine.keys; `no-sip` turns it off.
 */
#ifndef T9_SIP_ENGINE_H
#define T9_SIP_ENGINE_H

#include "base/engine.h"

extern const struct engine sip_engine;

#endif
