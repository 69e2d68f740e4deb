/*
 * turn/config.h - the TURN server's configuration keys, named and defaulted
 * as in coturn's turnserver so that the TURN part of a coturn file works
 * unchanged. coturn keys that T9phone does not implement are declared too,
 * flagged CONFIG_UNSUPPORTED (start-up refuses them, help says why) or
 * CONFIG_IGNORED (accepted with a start-up notice naming the key).
 */
#ifndef T9_TURN_CONFIG_H
#define T9_TURN_CONFIG_H

#include "base/config.h"

/* NULL-terminated; main merges it with the other tables. Declares cert and
 * pkey, which the SIP proxy and the portal reuse. `realm` is in main's table. */
extern const struct config_key turn_config_keys[];

#endif
