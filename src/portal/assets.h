/*
 * portal/assets.h - the static files of the portal (one stylesheet, a logo,
 * one small script), embedded at build time from src/portal/assets by
 * src/portal/embed_assets.sh.
 */
#ifndef T9_PORTAL_ASSETS_H
#define T9_PORTAL_ASSETS_H

#include <stddef.h>

struct portal_asset {
    const char *name;          /* file name, e.g. "style.css" */
    const unsigned char *data;
    size_t len;
};

extern const struct portal_asset portal_assets[];
extern const int portal_asset_count;

#endif
