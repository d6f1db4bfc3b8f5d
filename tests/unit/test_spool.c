/* SPDX-License-Identifier: MIT */
/* Unit tests for the probe spool: append, reopen, torn tail, lock, rotation. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"
#include "tap.h"

static int count_lines(const char *path)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF)
    n += c == '\n';
  fclose(f);
  return n;
}

int main(void)
{
  tap_plan(25);
  vt_log_init("test_spool", VT_LOG_ERR);
  char dir[] = "test-spool.XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char sub[256];
  snprintf(sub, sizeof(sub), "%s/a/b", dir);

  enum vt_status st;
  struct spool *sp = spool_open(sub, PROBE_FSYNC_ALWAYS, 0, &st);
  tap_ok(sp && st == VT_OK, "open creates the directory");
  for (int i = 0; i < 3; i++)
    st |= spool_append(sp, "{\"x\":1}", 7);
  tap_ok(st == VT_OK && spool_next_record(sp) == 3, "three records appended");

  enum vt_status st2;
  struct spool *other = spool_open(sub, PROBE_FSYNC_ALWAYS, 0, &st2);
  tap_ok(!other && st2 != VT_OK, "a second probe cannot open a locked spool");
  spool_close(sp);

  /* Simulate a crash in the middle of a write: a torn last line. */
  char seg[512];
  snprintf(seg, sizeof(seg), "%s/seg-%020d.jsonl", sub, 0);
  int fd = open(seg, O_WRONLY | O_APPEND);
  tap_ok(fd >= 0 && write(fd, "{\"torn", 6) == 6, "torn tail written");
  close(fd);
  sp = spool_open(sub, PROBE_FSYNC_NEVER, 0, &st);
  tap_ok(sp && spool_next_record(sp) == 3, "reopen counts whole records");
  st = spool_append(sp, "{\"x\":2}", 7);
  spool_close(sp);
  tap_ok(st == VT_OK && count_lines(seg) == 4, "torn tail cut, next appended");

  FILE *f = fopen(seg, "r");
  char line[64] = "";
  for (int i = 0; i < 4 && f && fgets(line, sizeof(line), f); i++)
    ;
  if (f)
    fclose(f);
  tap_is_str(line, "{\"x\":2}\n", "last line is whole");

  /* Rotation: tiny segments. */
  sp = spool_open(sub, PROBE_FSYNC_INTERVAL, 20, &st);
  for (int i = 0; i < 5; i++)
    st |= spool_append(sp, "{\"y\":12345}", 11);
  tap_ok(st == VT_OK && spool_next_record(sp) == 9, "records count on");
  tap_ok(spool_sync(sp) == VT_OK, "sync");
  spool_close(sp);
  char seg8[512];
  snprintf(seg8, sizeof(seg8), "%s/seg-%020d.jsonl", sub, 8);
  tap_ok(count_lines(seg8) == 1, "rotated segment named by its first record");
  sp = spool_open(sub, PROBE_FSYNC_INTERVAL, 20, &st);
  tap_ok(sp && spool_next_record(sp) == 9, "reopen continues the newest");
  spool_close(sp);

  /* Identity: created once, kept on reopen, new when the segments were
   * removed by hand (the numbering starts at 0 again). */
  char id1[SPOOL_ID_HEXLEN + 1] = "", id2[SPOOL_ID_HEXLEN + 1] = "";
  tap_ok(spool_id_load(sub, id1) == VT_OK && strlen(id1) == SPOOL_ID_HEXLEN,
         "the spool has an id of 32 hex digits");
  sp = spool_open(sub, PROBE_FSYNC_NEVER, 20, &st);
  tap_ok(sp && strcmp(spool_id(sp), id1) == 0, "reopen keeps the id");
  spool_close(sp);
  char wipe[600];
  snprintf(wipe, sizeof(wipe), "rm -f '%s'/seg-*", sub);
  tap_ok(system(wipe) == 0, "segments removed by hand");
  sp = spool_open(sub, PROBE_FSYNC_NEVER, 20, &st);
  tap_ok(sp && spool_next_record(sp) == 0 && spool_id_load(sub, id2) == VT_OK &&
             strcmp(id1, id2) != 0 && strcmp(spool_id(sp), id2) == 0,
         "a spool without segments gets a new id");
  spool_close(sp);

  /* The cap, dropping the oldest: 3 MB of records under a 1 MiB cap. */
  char rec[1000];
  memset(rec, 'r', sizeof(rec));
  char capd[300];
  snprintf(capd, sizeof(capd), "%s/cap", dir);
  sp = spool_open(capd, PROBE_FSYNC_NEVER, 0, &st);
  spool_set_cap(sp, 1u << 20, PROBE_SPOOL_DROP_OLDEST);
  st = VT_OK;
  for (int i = 0; i < 3000; i++)
    st |= spool_append(sp, rec, sizeof(rec));
  struct spool_stats ss;
  spool_get_stats(sp, &ss);
  tap_ok(st == VT_OK && spool_next_record(sp) == 3000,
         "drop_oldest: every new record written");
  tap_ok(ss.bytes <= (1u << 20) && ss.dropped >= 1900 && ss.dropped < 2100,
         "drop_oldest: under the cap, the oldest dropped and counted "
         "(%llu bytes, %llu dropped)",
         (unsigned long long)ss.bytes, (unsigned long long)ss.dropped);
  uint64_t *segs = NULL;
  size_t n = 0;
  tap_ok(spool_list(capd, &segs, &n) == VT_OK && n >= 8 &&
             segs[0] == ss.dropped,
         "drop_oldest: small segments, the oldest left follows the dropped");
  free(segs);
  spool_close(sp);

  /* The cap, refusing: the spool keeps what it has. */
  snprintf(capd, sizeof(capd), "%s/refuse", dir);
  sp = spool_open(capd, PROBE_FSYNC_NEVER, 0, &st);
  spool_set_cap(sp, 1u << 20, PROBE_SPOOL_REFUSE);
  int written = 0;
  for (int i = 0; i < 3000; i++)
    written += spool_append(sp, rec, sizeof(rec)) == VT_OK;
  spool_get_stats(sp, &ss);
  tap_ok(written > 1000 && written < 1100 && ss.refused == 3000u - written &&
             ss.dropped == 0 && ss.bytes <= (1u << 20),
         "refuse: %d written, the rest refused and counted", written);
  /* The uploader deletes an acknowledged segment: room again. */
  segs = NULL;
  char seg0[600];
  tap_ok(spool_list(capd, &segs, &n) == VT_OK && n > 2, "refuse: segments");
  spool_segment_file(segs[0], seg0, sizeof(seg0));
  free(segs);
  char seg0p[1000];
  snprintf(seg0p, sizeof(seg0p), "%s/%s", capd, seg0);
  tap_ok(unlink(seg0p) == 0 && spool_append(sp, rec, sizeof(rec)) == VT_OK,
         "refuse: writes again once a segment is deleted");
  spool_close(sp);

  /* Quarantine: one JSON line per record, with the reason; a line that is
   * not UTF-8 is kept in hex. */
  tap_ok(spool_quarantine(sub, 7, "{\"x\":1}", 7, "http://c", "line 1: bad") ==
                 VT_OK &&
             spool_quarantine(sub, 8, "\xff\x01", 2, "http://c", "why") ==
                 VT_OK,
         "quarantine written");
  char qpath[600], qline[600] = "";
  snprintf(qpath, sizeof(qpath), "%s/%s", sub, SPOOL_QUARANTINE_FILE);
  FILE *q = fopen(qpath, "r");
  tap_ok(q && fgets(qline, sizeof(qline), q) && strstr(qline, "\"record\":7") &&
             strstr(qline, "\"reason\":\"line 1: bad\"") &&
             strstr(qline, "\"line\":\"{\\\"x\\\":1}\""),
         "quarantine: record, reason and line");
  tap_ok(q && fgets(qline, sizeof(qline), q) &&
             strstr(qline, "\"line_hex\":\"ff01\""),
         "quarantine: a line that is not UTF-8 in hex");
  if (q)
    fclose(q);
  tap_ok(count_lines(qpath) == 2, "quarantine: two lines");

  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cleanup failed\n");
  return tap_done();
}
