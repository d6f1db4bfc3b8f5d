/* SPDX-License-Identifier: MIT */
/* Unit tests for struct vt_buf and the JSON string writer. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "tap.h"
#include "vt_time.h"

int main(void)
{
  tap_plan(18);
  struct vt_buf b;
  vt_buf_init(&b, 0);
  tap_is_str(vt_buf_str(&b), "", "empty buffer reads as \"\"");
  tap_ok(vt_buf_addf(&b, "%d-%s", 42, "x") == VT_OK, "addf");
  tap_is_str(vt_buf_str(&b), "42-x", "addf content");
  for (int i = 0; i < 1000; i++)
    if (vt_buf_adds(&b, "abcdefgh") != VT_OK)
      break;
  tap_ok(b.len == 4 + 8000, "grows past its first allocation");
  vt_buf_cleanup(&b);

  struct vt_buf capped;
  vt_buf_init(&capped, 8);
  tap_ok(vt_buf_adds(&capped, "12345678") == VT_OK, "fills to the cap");
  tap_ok(vt_buf_adds(&capped, "9") == VT_EFULL, "one byte past the cap fails");
  tap_ok(capped.len == 8, "nothing appended past the cap");
  size_t len;
  char *taken = vt_buf_take(&capped, &len);
  tap_ok(taken && len == 8 && capped.len == 0, "take moves ownership");
  free(taken);

  struct vt_buf j;
  vt_buf_init(&j, 0);
  tap_ok(vt_json_str(&j, "a\"b\\c\n\x01") == VT_OK, "json escape");
  tap_is_str(vt_buf_str(&j), "\"a\\\"b\\\\c\\u000a\\u0001\"",
             "quotes, backslash, controls escaped");
  vt_buf_reset(&j);
  tap_ok(vt_json_str(&j, "caf\xc3\xa9 \xff\xfe") == VT_OK, "json utf-8");
  tap_is_str(vt_buf_str(&j), "\"caf\xc3\xa9 \\ufffd\\ufffd\"",
             "valid UTF-8 kept, invalid bytes replaced");
  vt_buf_reset(&j);
  tap_ok(vt_json_num(&j, NAN, 3) == VT_OK && vt_json_num(&j, 1.5, 3) == VT_OK,
         "numbers");
  tap_is_str(vt_buf_str(&j), "null1.500", "NaN is null");
  vt_buf_cleanup(&j);

  /* vt_buf_add_file: a file bigger than one read, a cap, a missing file. */
  char path[] = "/tmp/vt-test-buf-XXXXXX";
  int fd = mkstemp(path);
  char big[40000];
  for (size_t i = 0; i < sizeof(big); i++)
    big[i] = (char)('a' + i % 26);
  bool wrote = fd >= 0 && write(fd, big, sizeof(big)) == (ssize_t)sizeof(big);
  if (fd >= 0)
    close(fd);
  struct vt_buf f;
  vt_buf_init(&f, 0);
  tap_ok(wrote && vt_buf_add_file(&f, path) == VT_OK && f.len == sizeof(big) &&
             memcmp(f.data, big, sizeof(big)) == 0,
         "add_file reads a file of several chunks whole");
  vt_buf_cleanup(&f);
  vt_buf_init(&f, 1000);
  tap_ok(vt_buf_add_file(&f, path) == VT_EFULL && f.len <= 1000,
         "add_file past the cap: VT_EFULL");
  vt_buf_cleanup(&f);
  unlink(path);
  errno = 0;
  tap_ok(vt_buf_add_file(&f, path) == VT_EIO && errno == ENOENT,
         "add_file of a missing file: VT_EIO, errno ENOENT");
  tap_ok(f.len == 0, "nothing appended from a missing file");
  vt_buf_cleanup(&f);
  return tap_done();
}
