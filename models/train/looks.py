"""The hidden photographic "looks" of the gst-tunit default model's data set.

Each look is a fixed, deterministic colour/tone transform of an RGB image
with values in [0, 1] (last axis = R, G, B).  The same code runs on numpy
arrays and on torch tensors (channels last).  The trainer never sees which
look an image is in; the evaluation uses the looks as hidden ground truth.

Notation used in the model card:  Y = 0.299 R + 0.587 G + 0.114 B (luma);
sat(x, s) = Y + s (x - Y); every result is clipped to [0, 1].
"""

LUMA = (0.299, 0.587, 0.114)

# name, one-line description (exact transform in the model card)
LOOKS = (
    ('winter', 'cold winter light: sat 0.8, gains R 0.82 G 0.95 B 1.18, +0.04'),
    ('golden', 'golden hour: x^0.85, gains R 1.15 G 0.98 B 0.70, +0.02'),
    ('night', 'night: sat 0.4, 0.55 x^1.5, gains R 0.60 G 0.80 B 1.25'),
    ('mono', 'silver monochrome: 0.5 + 1.15 (Y - 0.5) in all channels'),
    ('faded', 'faded film: sat 0.6, 0.12 + 0.72 x, gains R 1.02 G 1.05 B 0.90'),
)
NAMES = tuple(n for n, _ in LOOKS)


def luma(x):
    return x[..., 0:1] * LUMA[0] + x[..., 1:2] * LUMA[1] + x[..., 2:3] * LUMA[2]


def _sat(x, s):
    y = luma(x)
    return y + s * (x - y)


def _gains(x, r, g, b, lib):
    if lib == 'torch':
        import torch
        k = torch.tensor((r, g, b), dtype=x.dtype, device=x.device)
    else:
        import numpy
        k = numpy.asarray((r, g, b), dtype=x.dtype)
    return x * k


def _clip(x):
    return x.clip(0.0, 1.0)


def apply(look, x):
    """look: index or name; x: float array/tensor [..., 3] in [0, 1]."""
    lib = 'torch' if type(x).__module__.startswith('torch') else 'numpy'
    name = NAMES[look] if isinstance(look, int) else look
    x = _clip(x)
    if name == 'winter':
        x = _gains(_sat(x, 0.8), 0.82, 0.95, 1.18, lib) + 0.04
    elif name == 'golden':
        x = _gains(x ** 0.85, 1.15, 0.98, 0.70, lib) + 0.02
    elif name == 'night':
        x = _gains(0.55 * _clip(_sat(x, 0.4)) ** 1.5, 0.60, 0.80, 1.25, lib)
    elif name == 'mono':
        y = 0.5 + 1.15 * (luma(x) - 0.5)
        x = y + 0.0 * x
    elif name == 'faded':
        x = _gains(0.12 + 0.72 * _clip(_sat(x, 0.6)), 1.02, 1.05, 0.90, lib)
    else:
        raise ValueError('unknown look %r' % (look,))
    return _clip(x)
