/* SPDX-License-Identifier: MIT */
/* The status page (status_page.h): presentation rules of the status page:
 * the output buffer, escaping, times and numbers, time spans. */
#include "config.h"

#include "status_page_int.h"

/* ---- output buffer with a sticky error ------------------------------- */

void status_page_put(struct status_page_out *o, const char *fmt, ...)
{
  if (o->st != VT_OK)
    return;
  va_list ap;
  va_start(ap, fmt);
  o->st = vt_buf_vaddf(&o->b, fmt, ap);
  va_end(ap);
}

void status_page_raw(struct status_page_out *o, const char *s, size_t len)
{
  if (o->st == VT_OK)
    o->st = vt_buf_add(&o->b, s, len);
}

/* Appends len bytes of s escaped (present.h's pr_esc: HTML and XML).
 * Every string that comes from data (names, reasons, announcement text)
 * goes through here. */
void status_page_escn(struct status_page_out *o, const char *s, size_t len)
{
  if (o->st == VT_OK)
    o->st = pr_esc(&o->b, s, len);
}

void status_page_esc(struct status_page_out *o, const char *s)
{
  status_page_escn(o, s, strlen(s));
}

/* Free text (announcements): paragraphs at blank lines, <br> at single
 * line breaks, everything else escaped. */
void status_page_esc_text(struct status_page_out *o, const char *s)
{
  status_page_put(o, "<p>");
  while (*s) {
    size_t n = strcspn(s, "\n");
    status_page_escn(o, s, n);
    s += n;
    size_t breaks = 0;
    while (*s == '\n' || *s == '\r' || *s == ' ' || *s == '\t')
      breaks += *s++ == '\n';
    if (*s && breaks == 1)
      status_page_put(o, "<br>\n");
    else if (*s && breaks > 1)
      status_page_put(o, "</p>\n<p>");
  }
  status_page_put(o, "</p>\n");
}

/* ---- times and numbers --------------------------------------------------- */

/* <time datetime="2026-11-21T10:02:13Z">2026-11-21 10:02 UTC</time> */
void status_page_time(struct status_page_out *o, double t)
{
  char iso[32], human[32];
  pr_time(t, PR_T_ISO, iso, sizeof(iso));
  pr_time(t, PR_T_HUMAN, human, sizeof(human));
  status_page_put(o, "<time datetime=\"%s\">%s</time>", iso, human);
}

/* Start of the UTC month containing t, moved by delta months. */
double status_page_month(double t, int delta)
{
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_mon += delta;
  return (double)timegm(&tm);
}
