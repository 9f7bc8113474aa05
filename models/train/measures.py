"""Error measures shared by the trainer's progress log and models/eval/evaluate.

All take float arrays [N, H, W, 3] with values in [0, 1] and return one
value per image.
"""

import numpy as np


def l1(out, target):
    return np.abs(out - target).mean(axis=(1, 2, 3))


def psnr(out, target):
    mse = ((out - target) ** 2).mean(axis=(1, 2, 3))
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-10))


def standardise(x):
    """Each channel of each image to zero mean and unit standard deviation
    (a flat channel stays zero)."""
    m = x.mean(axis=(1, 2), keepdims=True)
    s = x.std(axis=(1, 2), keepdims=True)
    return (x - m) / np.maximum(s, 1e-3)


def structure_l1(out, target):
    """L1 between output and target after both are standardised per channel:
    blind to the global statistics, it sees lines, flat areas and texture."""
    return np.abs(standardise(out) - standardise(target)).mean(axis=(1, 2, 3))


def colour_transfer(x, mean, std):
    """Each channel of each image of x given the mean and standard
    deviation `mean`, `std` (broadcastable to [N, 1, 1, 3])."""
    return (standardise(x) * std + mean).clip(0, 1)
