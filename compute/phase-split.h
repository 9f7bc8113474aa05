/* phase-split.h - the index rules of the phase split of a nearest x2
 * upsampling followed by a convolution (lowering.h has the whole story),
 * written so that C and GLSL both compile them: the lowering derives the
 * phase weights and the border terms from these rules, and the CPU
 * kernels and the Vulkan shaders read the small image with the same ones.
 *
 * Notation: X is the small image (n rows), U its nearest x2 upsampling
 * (2n rows), the convolution has kernel 2r + 1 and padding r, and row u of
 * the padded U runs from -r to 2n - 1 + r.  Columns follow the same rules.
 */
#ifndef TUNIT_PHASE_SPLIT_H
#define TUNIT_PHASE_SPLIT_H

#ifdef VULKAN   /* glslc defines it for GLSL written for Vulkan */
#define TUNIT_RULE int
#else
#define TUNIT_RULE static inline int
#endif

/* floor (a / 2) for either sign, without dividing a negative number */
TUNIT_RULE
tunit_floor_half (int a)
{
  return a >= 0 ? a / 2 : -((1 - a) / 2);
}

/* The phase convolutions' padding p (replicate) for padding r; their
 * kernel has 2p + 1 taps. */
TUNIT_RULE
tunit_phase_padding (int r)
{
  return (r + 1) / 2;
}

/* Output phase `phase` (0 or 1: even or odd output rows) reads, with tap
 * `tap` (0 .. 2r) of the convolution, the row floor ((phase - r + tap) / 2)
 * below its own row of X: tap tunit_phase_tap () of the phase kernel. */
TUNIT_RULE
tunit_phase_tap (int phase, int tap, int r)
{
  return tunit_floor_half (phase - r + tap) + tunit_phase_padding (r);
}

/* The row of X that the phases read for row u of the padded U: X padded
 * by replication. */
TUNIT_RULE
tunit_phase_row (int u, int n)
{
  int row = tunit_floor_half (u);
  return row < 0 ? 0 : row > n - 1 ? n - 1 : row;
}

/* The row of X that row u of the padded U really holds: U padded by
 * reflection (reflect != 0), or -1 for a row of zero padding. */
TUNIT_RULE
tunit_upsampled_row (int u, int n, int reflect)
{
  if (u >= 0 && u < 2 * n)
    return u / 2;
  if (reflect == 0)
    return -1;
  return (u < 0 ? -u : 4 * n - 2 - u) / 2;
}

/* The first padded line beyond an edge (1 = the one next to it) where the
 * two rules above can disagree: with reflection the first line reflects
 * onto the row that replication repeats, with zeros none agree. */
TUNIT_RULE
tunit_phase_border_first_line (int reflect)
{
  return reflect != 0 ? 2 : 1;
}

/* Whether row u of the padded U (2n rows) lies on a border line, that
 * is where the phases may have read the wrong row of X. */
TUNIT_RULE
tunit_phase_border_row (int u, int n, int reflect)
{
  int first = tunit_phase_border_first_line (reflect);
  return u <= -first || u >= 2 * n - 1 + first ? 1 : 0;
}

#endif /* TUNIT_PHASE_SPLIT_H */
