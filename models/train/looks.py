"""The hidden "looks" of the gst-tunit default model's data set.

Each look is a fixed, deterministic transform of an RGB picture with values
in [0, 1] (last axis = R, G, B): the same picture in gives the same picture
out.  Five of them have local structure that per-channel statistics cannot
express (lines, flat areas, brush strokes); two are global colour looks.
The trainer's unsupervised mode never sees which look an image is in; its
paired mode and the evaluation use the looks as ground truth.

apply() takes numpy arrays or torch tensors, [H, W, 3] or [N, H, W, 3],
and returns the same kind.  The structural looks filter in pixels of the
picture they get, so a look is defined at the resolution it is applied at
(the data set applies it at the resolution the network sees).

Notation (model card): Y = 0.299 R + 0.587 G + 0.114 B (luma);
sat(x, s) = Y + s (x - Y); blur_s = Gaussian blur with sigma s pixels
(radius ceil(3 s), edges replicated); every result is clipped to [0, 1].
"""

import math

import torch
import torch.nn.functional as F

LUMA = (0.299, 0.587, 0.114)

# name, structural?, one-line description (the exact transform is below and
# in the model card)
LOOKS = (
    ('sketch', True, 'pencil sketch: grey dodge Y / blur_3(Y), cubed, on warm paper'),
    ('cartoon', True, 'cartoon: bilateral smoothing, 5 levels per channel, dark outlines'),
    ('poster', True, 'pop-art poster: blurred luma in 4 levels of its own spread, '
                     'fixed palette navy / magenta / orange / yellow'),
    ('oil', True, 'oil paint: Kuwahara filter radius 4 then 2, saturation 1.4'),
    ('neon', True, 'neon: edges of the luma glowing in the picture\'s own hue on black'),
    ('night', False, 'night: sat 0.4, 0.55 x^1.5, gains R 0.60 G 0.80 B 1.25'),
    ('mono', False, 'silver monochrome: 0.5 + 1.15 (Y - 0.5) in all channels'),
)
NAMES = tuple(n for n, _, _ in LOOKS)
STRUCTURAL = tuple(s for _, s, _ in LOOKS)

PAPER = (0.98, 0.96, 0.90)
POSTER_PALETTE = ((0.10, 0.12, 0.42), (0.86, 0.16, 0.52), (1.00, 0.56, 0.10),
                  (1.00, 0.93, 0.35))


def luma(x):
    return x[..., 0:1] * LUMA[0] + x[..., 1:2] * LUMA[1] + x[..., 2:3] * LUMA[2]


def _sat(x, s):
    y = luma(x)
    return y + s * (x - y)


# ------------------------------------------------------------ filters
# (torch, [N, C, H, W] float32)

def _gauss(x, sigma):
    radius = int(math.ceil(3 * sigma))
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).to(x.dtype)
    c = x.shape[1]
    x = F.pad(x, (radius, radius, radius, radius), mode='replicate')
    x = F.conv2d(x, k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _gradient(y):
    """Sobel gradient magnitude of [N, 1, H, W] (in units per pixel)."""
    p = F.pad(y, (1, 1, 1, 1), mode='replicate')
    kx = torch.tensor([[-1., 0., 1.], [-2., 0., 2.], [-1., 0., 1.]], dtype=y.dtype) / 8
    gx = F.conv2d(p, kx.view(1, 1, 3, 3))
    gy = F.conv2d(p, kx.t().contiguous().view(1, 1, 3, 3))
    return torch.sqrt(gx * gx + gy * gy + 1e-12)


def _luma_nchw(x):
    return x[:, 0:1] * LUMA[0] + x[:, 1:2] * LUMA[1] + x[:, 2:3] * LUMA[2]


def _bilateral(x, radius=2, sigma_space=2.0, sigma_range=0.12):
    n, c, h, w = x.shape
    size = 2 * radius + 1
    p = F.pad(x, (radius,) * 4, mode='replicate')
    patches = F.unfold(p, size).view(n, c, size * size, h, w)
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    space = torch.exp(-(t.view(-1, 1) ** 2 + t.view(1, -1) ** 2) / (2 * sigma_space ** 2))
    diff = ((patches - x.unsqueeze(2)) ** 2).sum(1, keepdim=True)
    weight = space.reshape(1, 1, -1, 1, 1) * torch.exp(-diff / (2 * sigma_range ** 2))
    return (patches * weight).sum(2) / weight.sum(2)


def _kuwahara(x, radius=3):
    """Each pixel takes the mean colour of the least varied (in luma) of the
    four (radius+1)^2 windows that have it as a corner."""
    r = radius
    s = r + 1
    p = F.pad(x, (r, r, r, r), mode='replicate')
    y = _luma_nchw(p)
    mean = F.avg_pool2d(p, s, stride=1)                   # [N,3,H+r,W+r]
    ym = F.avg_pool2d(y, s, stride=1)
    var = F.avg_pool2d(y * y, s, stride=1) - ym * ym
    h, w = x.shape[2:]
    means, variances = [], []
    for dy in (0, r):
        for dx in (0, r):
            means.append(mean[:, :, dy:dy + h, dx:dx + w])
            variances.append(var[:, :, dy:dy + h, dx:dx + w])
    best = torch.stack(variances, 0).argmin(0, keepdim=True)     # [1,N,1,H,W]
    stacked = torch.stack(means, 0)                               # [4,N,3,H,W]
    return stacked.gather(0, best.expand(1, *stacked.shape[1:]))[0]


# ------------------------------------------------------------ the looks

def _sketch(x):
    y = _luma_nchw(x)
    s = (y / _gauss(y, 3.0).clamp_min(1e-3)).clamp(0, 1) ** 3
    return s * torch.tensor(PAPER, dtype=x.dtype).view(1, 3, 1, 1)


def _cartoon(x):
    smooth = _bilateral(_bilateral(x))
    flat = torch.round(_sat(smooth.permute(0, 2, 3, 1), 1.2).permute(0, 3, 1, 2)
                       .clamp(0, 1) * 4) / 4
    edge = _gradient(_gauss(_luma_nchw(x), 1.0))
    line = ((edge - 0.02) / 0.02).clamp(0, 1)
    return flat * (1 - 0.9 * line)


def _poster(x):
    y = _gauss(_luma_nchw(x), 1.0)
    mean = y.mean(dim=(2, 3), keepdim=True)
    std = y.std(dim=(2, 3), keepdim=True, unbiased=False).clamp_min(0.02)
    z = (y - mean) / std
    level = (z > -0.7).long() + (z > 0.0).long() + (z > 0.7).long()    # [N,1,H,W]
    palette = torch.tensor(POSTER_PALETTE, dtype=x.dtype)              # [4,3]
    return palette[level[:, 0]].permute(0, 3, 1, 2)


def _oil(x):
    k = _kuwahara(_kuwahara(x, 4), 2)
    return _sat(k.permute(0, 2, 3, 1), 1.4).permute(0, 3, 1, 2)


def _neon(x):
    y = _luma_nchw(x)
    edge = (_gradient(_gauss(y, 0.8)) * 12).clamp(0, 1)
    glow = (edge + 0.6 * _gauss(edge, 2.0)).clamp(0, 1)
    hue = _sat(x.permute(0, 2, 3, 1), 2.0).clamp(0, 1).permute(0, 3, 1, 2)
    hue = hue / hue.amax(1, keepdim=True).clamp_min(0.1)
    return (hue.clamp(0, 1) * 0.8 + 0.2) * glow


def _spatial(fn, x):
    """Runs fn on a torch [N,3,H,W] version of x (numpy/torch, [..,H,W,3])."""
    is_torch = torch.is_tensor(x)
    t = x if is_torch else torch.from_numpy(x)
    dtype = t.dtype
    single = t.dim() == 3
    if single:
        t = t.unsqueeze(0)
    out = fn(t.float().permute(0, 3, 1, 2)).permute(0, 2, 3, 1).to(dtype)
    if single:
        out = out[0]
    return out if is_torch else out.numpy()


def _colour(name, x):
    is_torch = torch.is_tensor(x)
    if name == 'night':
        k = (0.60, 0.80, 1.25)
        x = 0.55 * _sat(x, 0.4).clip(0, 1) ** 1.5
        k = torch.tensor(k, dtype=x.dtype) if is_torch else __import__('numpy').asarray(k, x.dtype)
        return x * k
    y = 0.5 + 1.15 * (luma(x) - 0.5)           # mono
    return y + 0.0 * x


SPATIAL = {'sketch': _sketch, 'cartoon': _cartoon, 'poster': _poster, 'oil': _oil,
           'neon': _neon}


def apply(look, x):
    """look: index or name; x: float array/tensor [..., H, W, 3] in [0, 1]."""
    name = NAMES[look] if isinstance(look, int) else look
    if name not in NAMES:
        raise ValueError('unknown look %r' % (look,))
    x = x.clip(0.0, 1.0)
    if name in SPATIAL:
        with torch.no_grad():
            x = _spatial(SPATIAL[name], x)
    else:
        x = _colour(name, x)
    return x.clip(0.0, 1.0)
