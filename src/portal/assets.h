/*
 * portal/assets.h - the static files of the portal (one stylesheet, a logo,
 * one small script), embedded at build time from src/portal/assets by
 * src/embed.sh.
 */
#ifndef T9_PORTAL_ASSETS_H
#define T9_PORTAL_ASSETS_H

#include "base/embed.h"

extern const struct embed_file portal_assets[];
extern const int portal_assets_count;

#endif
