/* SPDX-License-Identifier: MIT */
/* Minimal JSON writing helpers on struct vt_buf. */
#ifndef VT_JSON_H
#define VT_JSON_H

#include <stdbool.h>

#include "buf.h"

/* Appends s as a JSON string literal (quotes included), escaping control
 * characters, quotes, backslashes and bytes that are not valid UTF-8
 * (replaced by U+FFFD). s NULL appends null. */
enum vt_status vt_json_str(struct vt_buf *b, const char *s)
    __attribute__((warn_unused_result));

/* Appends a number with up to 3 decimals (or an integer when whole), or
 * null when v is NaN or infinite. */
enum vt_status vt_json_num(struct vt_buf *b, double v, int decimals)
    __attribute__((warn_unused_result));

/* Appends v with exactly decimals digits after the point (like "%.*f"),
 * or null when v is NaN or infinite. */
enum vt_status vt_json_fixed(struct vt_buf *b, double v, int decimals)
    __attribute__((warn_unused_result));

#endif
