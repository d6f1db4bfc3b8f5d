/* SPDX-License-Identifier: MIT */
/* The collector's stored data: data_dir's layout and events.sqlite's schema
 * (schema.h; docs/collector.md, "Events"). */
#include "config.h"

#include "schema.h"

#define VT_SCHEMA_STR_(x) #x
#define VT_SCHEMA_STR(x) VT_SCHEMA_STR_(x)

const char vt_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS probes("
    " name TEXT PRIMARY KEY, first_seen REAL NOT NULL,"
    " last_seen REAL NOT NULL, next_record INTEGER NOT NULL DEFAULT 0,"
    " silent_since REAL);"
    "CREATE TABLE IF NOT EXISTS series("
    " id INTEGER PRIMARY KEY, target TEXT NOT NULL, check_type TEXT NOT NULL,"
    " check_name TEXT NOT NULL, key TEXT NOT NULL, probe TEXT NOT NULL,"
    " path TEXT NOT NULL, first_ts REAL NOT NULL, last_ts REAL NOT NULL,"
    " results INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE(target, check_name, key, probe));"
    /* events_known_addresses looks up by probe, which the unique index
     * has after key. */
    "CREATE INDEX IF NOT EXISTS series_probe"
    " ON series(target, check_name, probe);"
    "CREATE TABLE IF NOT EXISTS dns_state("
    " target TEXT NOT NULL, check_name TEXT NOT NULL, probe TEXT NOT NULL,"
    " resolver TEXT NOT NULL, answers TEXT NOT NULL, ts REAL NOT NULL,"
    " PRIMARY KEY(target, check_name, probe, resolver)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS dns_changes("
    " id INTEGER PRIMARY KEY, ts REAL NOT NULL, target TEXT NOT NULL,"
    " check_name TEXT NOT NULL, probe TEXT NOT NULL, resolver TEXT NOT NULL,"
    " old_answers TEXT, new_answers TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS dns_changes_target"
    " ON dns_changes(target, ts);"
    "CREATE TABLE IF NOT EXISTS streaks("
    " target TEXT NOT NULL, check_name TEXT NOT NULL, ip TEXT NOT NULL,"
    " probe TEXT NOT NULL, start REAL NOT NULL, count INTEGER NOT NULL,"
    " last_ts REAL NOT NULL,"
    " PRIMARY KEY(target, check_name, ip, probe)) WITHOUT ROWID;"
    /* A probe's confirmed view of an address (client 0, key the address)
     * or a client view (client 1, key the check's name): down from start
     * to end (NULL while it goes on). Verdicts are built from these. */
    "CREATE TABLE IF NOT EXISTS downs("
    " target TEXT NOT NULL, client INTEGER NOT NULL, key TEXT NOT NULL,"
    " check_name TEXT NOT NULL, probe TEXT NOT NULL, start REAL NOT NULL,"
    " \"end\" REAL, retired INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(target, client, key, check_name, probe, start))"
    " WITHOUT ROWID;"
    /* Addresses a probe said it no longer checks (a check's set), at ts;
     * a later result of that series undoes it. */
    "CREATE TABLE IF NOT EXISTS retired("
    " target TEXT NOT NULL, ip TEXT NOT NULL, check_name TEXT NOT NULL,"
    " probe TEXT NOT NULL, ts REAL NOT NULL,"
    " PRIMARY KEY(target, ip, check_name, probe)) WITHOUT ROWID;"
    /* Spans of time a probe's results cover: results less than silence
     * apart merge into one span; a probe is silent between two spans. */
    "CREATE TABLE IF NOT EXISTS covers("
    " probe TEXT NOT NULL, start REAL NOT NULL, \"end\" REAL NOT NULL,"
    " PRIMARY KEY(probe, start)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS outages("
    " id INTEGER PRIMARY KEY,"
    " scope TEXT NOT NULL CHECK(scope IN ('address', 'host')),"
    " target TEXT NOT NULL, ip TEXT, start REAL NOT NULL, \"end\" REAL,"
    " probes TEXT NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN ('outage', 'partial')),"
    " seen_by INTEGER NOT NULL, of_probes INTEGER NOT NULL,"
    " state TEXT CHECK(state IN ('degraded', 'down')),"
    " maintenance INTEGER NOT NULL DEFAULT 0,"
    " end_reason TEXT,"
    " CHECK((scope = 'host') = (state IS NOT NULL)));"
    "CREATE INDEX IF NOT EXISTS outages_open ON outages(target)"
    " WHERE \"end\" IS NULL;"
    "CREATE INDEX IF NOT EXISTS outages_target ON outages(target, start);"
    "CREATE TABLE IF NOT EXISTS probe_events("
    " id INTEGER PRIMARY KEY, ts REAL NOT NULL,"
    " probe TEXT NOT NULL REFERENCES probes(name),"
    " event TEXT NOT NULL CHECK(event IN ('first_seen', 'silent', 'back')));"
    "CREATE INDEX IF NOT EXISTS probe_events_probe"
    " ON probe_events(probe, ts);"
    "CREATE TABLE IF NOT EXISTS maintenance("
    " id INTEGER PRIMARY KEY, target TEXT NOT NULL, start REAL NOT NULL,"
    " \"end\" REAL NOT NULL, reason TEXT);"
    "CREATE INDEX IF NOT EXISTS maintenance_target"
    " ON maintenance(target, start);"
    /* Record numbering per spool of a probe (docs/wire.md, "Exactly
     * once"): a rebuilt spool counts from 0 again. */
    "CREATE TABLE IF NOT EXISTS probe_spools("
    " probe TEXT NOT NULL, spool TEXT NOT NULL,"
    " next_record INTEGER NOT NULL, first_seen REAL NOT NULL,"
    " PRIMARY KEY(probe, spool)) WITHOUT ROWID;"
    "INSERT INTO meta(version) SELECT " VT_SCHEMA_STR(
        VT_SCHEMA_VERSION) " WHERE NOT EXISTS"
                           " (SELECT 1 FROM meta);";
