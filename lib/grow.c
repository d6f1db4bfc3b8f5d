/* SPDX-License-Identifier: MIT */
/* Growing a heap array by doubling (see grow.h). */
#include "config.h"

#include "grow.h"

#include <stdint.h>
#include <stdlib.h>

void *vt_grow(void *arr, size_t *cap, size_t need, size_t size)
{
  if (need <= *cap)
    return arr;
  size_t n = *cap ? *cap : 16;
  while (n < need) {
    if (n > SIZE_MAX / 2 / size)
      return NULL;
    n *= 2;
  }
  void *p = realloc(arr, n * size);
  if (p)
    *cap = n;
  return p;
}
