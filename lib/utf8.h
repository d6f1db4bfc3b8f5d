/* SPDX-License-Identifier: MIT */
/* The one UTF-8 validator: JSON (lib/json.c) and the graphs' HTML, XML and
 * SVG text (graphs/present.c) decide with it what is valid text. */
#ifndef VT_UTF8_H
#define VT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the well-formed UTF-8 sequence at s, with its code
 * point in *cp (cp may be NULL); 0 when s starts an ill-formed one: a
 * stray continuation byte, a sequence cut by the end (avail bytes, at
 * least 1) or a byte that is not a continuation, an overlong form, a
 * surrogate (U+D800..U+DFFF) or a value past U+10FFFF. Reads no further
 * than avail bytes nor past the first byte that is not a continuation
 * byte, so for a NUL-terminated string avail may be SIZE_MAX. Whether a
 * valid code point is allowed (C0 and C1 controls) is the format's rule,
 * not this function's. */
size_t vt_utf8_seq(const unsigned char *s, size_t avail, uint32_t *cp);

#endif
