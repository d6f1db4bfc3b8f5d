/* SPDX-License-Identifier: MIT */
/* Targets fetched from the collector: a probe whose configuration file has
 * no targets asks its first collector for them (GET /v1/targets, signed
 * like the batches, docs/wire.md) at start and then every
 * targets_interval, on the libev loop. A text that differs from the one in
 * use is saved as TARGETS_FETCH_FILE ".new" in the spool directory,
 * validated together with the configuration file, and, when valid, renamed
 * to TARGETS_FETCH_FILE and handed over; an invalid one is reported once
 * (file:line) and the running targets stay. The saved file lets a restart
 * begin checking at once while the collector is down. */
#ifndef PROBE_TARGETS_FETCH_H
#define PROBE_TARGETS_FETCH_H

#include <stdbool.h>

#include "vt_status.h"

/* The fetched targets in the spool directory. */
#define TARGETS_FETCH_FILE "targets.cfg"

struct ev_loop;
struct curl_loop;
struct probe_conf;
struct targets_fetch;

/* Receives a new configuration: the configuration file plus the fetched
 * targets, validated (probe_conf_load_fetched). Ownership of conf moves to
 * the callee. In once mode conf is NULL when no targets could be had (the
 * reason is logged). Called from the loop, never from inside a
 * targets_fetch_* call; it may destroy the fetcher. */
typedef void targets_fetch_fn(struct probe_conf *conf, void *arg);

/* Creates the fetcher for conf (read now, not kept: name, first collector,
 * spool_dir), loading config_path (copied) with each new text. spool_dir
 * NULL is once mode: one request, bounded by the collector's timeout, its
 * outcome handed to fn, no file written and no retry. saved_in_use tells
 * that the running targets came from TARGETS_FETCH_FILE in spool_dir, so
 * the same text again changes nothing. loop and cl are borrowed and must
 * outlive the fetcher. The first request starts from the loop at once.
 * Returns NULL with *st set (VT_ENOMEM, VT_ELIB) after logging why. */
struct targets_fetch *
targets_fetch_create(struct ev_loop *loop, struct curl_loop *cl,
                     const char *config_path, const char *spool_dir,
                     const struct probe_conf *conf, bool saved_in_use,
                     targets_fetch_fn *fn, void *arg, enum vt_status *st);

/* True when a fetcher made for conf would do exactly what tf does (same
 * probe name, collector URL, key, TLS settings, timeout and interval). */
bool targets_fetch_same(const struct targets_fetch *tf,
                        const struct probe_conf *conf);

/* Forgets the text last rejected (the configuration file it was checked
 * against may have been fixed) and asks again now, unless a request is in
 * flight. For SIGHUP. */
void targets_fetch_poke(struct targets_fetch *tf);

/* Cancels a request in flight, frees a configuration not yet handed over,
 * stops every watcher, wipes the key and frees. tf may be NULL. */
void targets_fetch_destroy(struct targets_fetch *tf);

#endif
