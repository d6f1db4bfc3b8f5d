/* SPDX-License-Identifier: MIT */
/* The status page (status_page.h): announcements and operator notes: the
 * announcements file, which are shown, in what order. */
#include "config.h"

#include "status_page_int.h"

/* ---- announcements ------------------------------------------------------- */

void status_page_ann_free(struct status_page_ann *a, size_t n)
{
  for (size_t i = 0; a && i < n; i++) {
    free(a[i].title);
    free(a[i].text);
    vt_cfg_strv_free(a[i].targets, a[i].n_targets);
  }
  free(a);
}

static const char *const status_page_ann_top_keys[] = {"announcements", "notes",
                                                       NULL};
static const char *const status_page_note_keys[] = {"service", "at", "text",
                                                    NULL};

void status_page_notes_free(struct status_page_note *v, size_t n)
{
  for (size_t i = 0; v && i < n; i++) {
    free(v[i].target);
    free(v[i].text);
  }
  free(v);
}

static int status_page_note_cmp(const void *x, const void *y)
{
  const struct status_page_note *a = x, *b = y;
  return (a->at > b->at) - (a->at < b->at);
}

/* One element of the notes list: { service = "www"; at = "2026-11-21T
 * 10:05:00Z"; text = "..."; }. */
static void status_page_note_parse(struct vt_cfg *c, config_setting_t *g,
                                   const char *path, struct status_page_note *n)
{
  char pk[96];
  n->at = NAN;
  n->inc = -1;
  if (!config_setting_is_group(g)) {
    vt_cfg_error(c, g, path,
                 "expected a group { service = ...; at = ...; "
                 "text = ...; }");
    return;
  }
  vt_cfg_check_keys(c, g, path, status_page_note_keys);
  if (vt_cfg_get_string(c, g, path, "service", true, &n->target) &&
      !vt_wire_name_ok(n->target))
    vt_cfg_error(c, config_setting_get_member(g, "service"),
                 vt_cfg_path(pk, sizeof(pk), path, "service", 0),
                 "\"%s\" is not a target name", n->target);
  char *at = NULL;
  if (vt_cfg_get_string(c, g, path, "at", true, &at) &&
      !coll_parse_utc(at, &n->at))
    vt_cfg_error(c, config_setting_get_member(g, "at"),
                 vt_cfg_path(pk, sizeof(pk), path, "at", 0),
                 "\"%s\" is not YYYY-MM-DDTHH:MM:SSZ (UTC)", at);
  free(at);
  if (vt_cfg_get_string(c, g, path, "text", true, &n->text) && !n->text[0])
    vt_cfg_error(c, config_setting_get_member(g, "text"),
                 vt_cfg_path(pk, sizeof(pk), path, "text", 0), "is empty");
}
static const char *const status_page_ann_keys[] = {
    "kind", "title", "text", "start", "end", "targets", NULL};

/* One element of the announcements list into a; problems are counted in
 * c and logged with file:line. */
static void status_page_ann_parse(struct vt_cfg *c, config_setting_t *g,
                                  const char *path, struct status_page_ann *a)
{
  char pk[96];
  a->start = a->end = NAN;
  if (!config_setting_is_group(g)) {
    vt_cfg_error(c, g, path, "expected a group { kind = ...; title = ...; }");
    return;
  }
  vt_cfg_check_keys(c, g, path, status_page_ann_keys);
  char *kind = NULL;
  if (vt_cfg_get_string(c, g, path, "kind", true, &kind)) {
    size_t k = 0;
    while (k < 4 && strcmp(kind, status_page_ann_kinds[k]) != 0)
      k++;
    if (k == 4)
      vt_cfg_error(c, config_setting_get_member(g, "kind"),
                   vt_cfg_path(pk, sizeof(pk), path, "kind", 0),
                   "\"%s\" is not maintenance, hotfix, incident or notice",
                   kind);
    else
      a->kind = (enum status_page_ann_kind)k;
  }
  free(kind);
  if (vt_cfg_get_string(c, g, path, "title", true, &a->title) && !a->title[0])
    vt_cfg_error(c, config_setting_get_member(g, "title"),
                 vt_cfg_path(pk, sizeof(pk), path, "title", 0), "is empty");
  vt_cfg_get_string(c, g, path, "text", false, &a->text);
  const char *keys[] = {"start", "end"};
  double *dst[] = {&a->start, &a->end};
  for (int k = 0; k < 2; k++) {
    char *s = NULL;
    if (vt_cfg_get_string(c, g, path, keys[k], false, &s) &&
        !coll_parse_utc(s, dst[k]))
      vt_cfg_error(c, config_setting_get_member(g, keys[k]),
                   vt_cfg_path(pk, sizeof(pk), path, keys[k], 0),
                   "\"%s\" is not YYYY-MM-DDTHH:MM:SSZ (UTC)", s);
    free(s);
  }
  if (!isnan(a->start) && !isnan(a->end) && a->end <= a->start)
    vt_cfg_error(c, config_setting_get_member(g, "end"),
                 vt_cfg_path(pk, sizeof(pk), path, "end", 0),
                 "is not after start");
  if (vt_cfg_get_strv(c, g, path, "targets", &a->targets, &a->n_targets))
    for (size_t i = 0; i < a->n_targets; i++)
      if (!vt_wire_name_ok(a->targets[i]))
        vt_cfg_error(c, config_setting_get_member(g, "targets"),
                     vt_cfg_path(pk, sizeof(pk), path, "targets", 0),
                     "\"%s\" is not a target name", a->targets[i]);
}

/* Reads the announcements file, as strictly as our other configs. On any
 * problem every one has been logged as "FILE:LINE: SETTING: message" and
 * VT_ECONFIG is returned. *out: free with status_page_ann_free. */
static enum vt_status
status_page_ann_load(const char *path, struct status_page_ann **out, size_t *n,
                     struct status_page_note **notes_out, size_t *n_notes_out)
{
  *out = NULL;
  *n = 0;
  *notes_out = NULL;
  *n_notes_out = 0;
  struct status_page_note *notes = NULL;
  size_t n_notes = 0;
  struct vt_cfg c;
  enum vt_status st = vt_cfg_open(&c, path);
  if (st != VT_OK)
    return st;
  config_setting_t *root = config_root_setting(&c.cfg);
  vt_cfg_check_keys(&c, root, "", status_page_ann_top_keys);
  config_setting_t *list = config_setting_get_member(root, "announcements");
  struct status_page_ann *a = NULL;
  size_t count = 0;
  if (list && !config_setting_is_list(list)) {
    vt_cfg_error(&c, list, "announcements",
                 "expected a list ( { kind = ...; title = ...; }, ... )");
  } else if (list) {
    count = (size_t)config_setting_length(list);
    a = calloc(count ? count : 1, sizeof(*a));
    if (!a) {
      st = VT_ENOMEM;
      goto out;
    }
    for (size_t i = 0; i < count; i++) {
      char p[48];
      vt_cfg_path(p, sizeof(p), "announcements", NULL, (int)i);
      status_page_ann_parse(&c, config_setting_get_elem(list, (unsigned)i), p,
                            &a[i]);
    }
  }
  config_setting_t *nl = config_setting_get_member(root, "notes");
  if (nl && !config_setting_is_list(nl)) {
    vt_cfg_error(&c, nl, "notes",
                 "expected a list ( { service = ...; at = ...; text = ...; }, "
                 "... )");
  } else if (nl) {
    n_notes = (size_t)config_setting_length(nl);
    notes = calloc(n_notes ? n_notes : 1, sizeof(*notes));
    if (!notes) {
      n_notes = 0;
      st = VT_ENOMEM;
      goto out;
    }
    for (size_t i = 0; i < n_notes; i++) {
      char p[48];
      vt_cfg_path(p, sizeof(p), "notes", NULL, (int)i);
      status_page_note_parse(&c, config_setting_get_elem(nl, (unsigned)i), p,
                             &notes[i]);
    }
    qsort(notes, n_notes, sizeof(*notes), status_page_note_cmp);
  }
  if (c.errors) {
    vt_err("%s: %d error%s; announcements rejected", path, c.errors,
           c.errors == 1 ? "" : "s");
    st = VT_ECONFIG;
    goto out;
  }
  *out = a;
  *n = count;
  a = NULL;
  count = 0;
  *notes_out = notes;
  *n_notes_out = n_notes;
  notes = NULL;
  n_notes = 0;
out:
  status_page_notes_free(notes, n_notes);
  status_page_ann_free(a, count);
  vt_cfg_close(&c);
  return st;
}

/* Shown: no end given (until it is taken out of the file), or ended less
 * than STATUS_PAGE_ANN_KEEP_S ago. */
static bool status_page_ann_shown(const struct status_page_ann *a, double now)
{
  return isnan(a->end) || a->end > now - STATUS_PAGE_ANN_KEEP_S;
}

const char *status_page_ann_phase(const struct status_page_ann *a, double now)
{
  if (!isnan(a->start) && a->start > now)
    return "scheduled";
  if (!isnan(a->end) && a->end <= now)
    return "completed";
  /* A hotfix or notice with only a start was done then; maintenance and
   * incidents without an end are still going on. */
  if (isnan(a->end) &&
      (a->kind == STATUS_PAGE_ANN_HOTFIX || a->kind == STATUS_PAGE_ANN_NOTICE))
    return "posted";
  if (!isnan(a->start) || !isnan(a->end))
    return "in progress";
  return "posted";
}

bool status_page_ann_for(const struct status_page_ann *a, const char *svc)
{
  if (!a->n_targets)
    return true;
  for (size_t i = 0; i < a->n_targets; i++)
    if (strcmp(a->targets[i], svc) == 0)
      return true;
  return false;
}

/* Current first, then scheduled (soonest first), then completed (latest
 * first): what a reader needs first is what is happening now. */
static int status_page_ann_rank(const struct status_page_ann *a, double now)
{
  const char *p = status_page_ann_phase(a, now);
  return strcmp(p, "in progress") == 0 || strcmp(p, "posted") == 0 ? 0
         : strcmp(p, "scheduled") == 0                             ? 1
                                                                   : 2;
}

static int status_page_ann_cmp(const void *x, const void *y)
{
  const struct status_page_ann *a = x, *b = y;
  if (a->rank != b->rank)
    return a->rank - b->rank;
  return (a->key > b->key) - (a->key < b->key);
}

/* The collector's maintenance windows become announcements, followed by
 * the file's. Windows that ended long ago are left out. */
enum vt_status status_page_ann_collect(struct status_page_ctx *x)
{
  struct status_page_ann *file = NULL;
  size_t n_file = 0;
  enum vt_status st = VT_OK;
  if (x->conf->announcements_file) {
    st = status_page_ann_load(x->conf->announcements_file, &file, &n_file,
                              &x->notes, &x->n_notes);
    if (st != VT_OK)
      return st;
  }
  size_t total = x->n_maint + n_file;
  x->ann = calloc(total ? total : 1, sizeof(*x->ann));
  if (!x->ann) {
    status_page_ann_free(file, n_file);
    return VT_ENOMEM;
  }
  for (size_t i = 0; i < x->n_maint; i++) {
    const struct gr_maint *m = &x->maint[i];
    struct status_page_ann *a = &x->ann[x->n_ann];
    *a = (struct status_page_ann){.kind = STATUS_PAGE_ANN_MAINTENANCE,
                                  .start = m->start,
                                  .end = m->end,
                                  .from_window = true};
    if (!status_page_ann_shown(a, x->now))
      continue;
    char title[128];
    snprintf(title, sizeof(title), "Planned maintenance of %s", m->target);
    a->title = strdup(title);
    a->text = m->reason[0] ? strdup(m->reason) : NULL;
    a->targets = calloc(1, sizeof(*a->targets));
    if (a->targets) {
      a->n_targets = 1;
      a->targets[0] = strdup(m->target);
    }
    x->n_ann++;
    if (!a->title || (m->reason[0] && !a->text) || !a->targets ||
        !a->targets[0]) {
      st = VT_ENOMEM;
      goto out;
    }
  }
  for (size_t i = 0; i < n_file; i++)
    if (status_page_ann_shown(&file[i], x->now)) {
      x->ann[x->n_ann++] = file[i];
      file[i] = (struct status_page_ann){0};
    }
  for (size_t i = 0; i < x->n_ann; i++) {
    struct status_page_ann *a = &x->ann[i];
    a->rank = status_page_ann_rank(a, x->now);
    a->key = isnan(a->start) ? x->now : a->start;
    if (a->rank == 2) /* completed: latest first */
      a->key = -a->key;
  }
  qsort(x->ann, x->n_ann, sizeof(*x->ann), status_page_ann_cmp);
out:
  status_page_ann_free(file, n_file);
  return st;
}
