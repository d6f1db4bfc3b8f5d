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
  tap_plan(11);
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

  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "cleanup failed\n");
  return tap_done();
}
