"""A PyTorch re-implementation of TUNIT inference, for test fixtures.

Written for gst-tunit from the published architecture of TUNIT (Baek et al.,
ICCV 2021).  Module attributes are laid out so that state_dict() keys are the
ones the official trainer writes (cnt_encoder.model.N..., decoder.model.N...,
mlp.model.N.fc..., features.N..., cont, disc), which lets the fixtures be
saved as genuine-looking training checkpoints.

Run it with Debian's interpreter (/usr/bin/python3), which has python3-torch.
"""

import collections
import copy
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

VGG11 = (64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M')
MLP_DIM = 256
MLP_LAYERS = 3
N_RES = 2


# ------------------------------------------------------------ generator

class AdaIN(nn.Module):
    """Instance normalisation whose per-sample scale (weight) and shift
    (bias) come from the style MLP.  Keeps the unused running buffers the
    official trainer stores, so state dicts match."""

    def __init__(self, channels, eps=1e-5):
        super().__init__()
        self.num_features = channels
        self.eps = eps
        self.weight = None   # [N, C], set by assign_adain
        self.bias = None
        self.register_buffer('running_mean', torch.zeros(channels))
        self.register_buffer('running_var', torch.ones(channels))

    def forward(self, x):
        mean = x.mean(dim=(2, 3), keepdim=True)
        var = x.var(dim=(2, 3), unbiased=False, keepdim=True)
        y = (x - mean) / torch.sqrt(var + self.eps)
        return y * self.weight[:, :, None, None] + self.bias[:, :, None, None]


class Conv2dBlock(nn.Module):
    """reflection pad -> conv -> norm -> activation."""

    def __init__(self, cin, cout, kernel, stride, pad, norm, act):
        super().__init__()
        self.pad = nn.ReflectionPad2d(pad)
        if norm == 'in':
            self.norm = nn.InstanceNorm2d(cout)
        elif norm == 'adain':
            self.norm = AdaIN(cout)
        else:
            self.norm = None
        self.activation = {'relu': nn.ReLU(), 'tanh': nn.Tanh(), 'none': None}[act]
        self.conv = nn.Conv2d(cin, cout, kernel, stride)

    def forward(self, x):
        x = self.conv(self.pad(x))
        if self.norm is not None:
            x = self.norm(x)
        if self.activation is not None:
            x = self.activation(x)
        return x


class ResBlock(nn.Module):
    def __init__(self, channels, norm):
        super().__init__()
        self.model = nn.Sequential(
            Conv2dBlock(channels, channels, 3, 1, 1, norm, 'relu'),
            Conv2dBlock(channels, channels, 3, 1, 1, norm, 'none'))

    def forward(self, x):
        return x + 0.1 * self.model(x)


class ResBlocks(nn.Module):
    def __init__(self, count, channels, norm):
        super().__init__()
        self.model = nn.Sequential(*[ResBlock(channels, norm) for _ in range(count)])

    def forward(self, x):
        return self.model(x)


class ContentEncoder(nn.Module):
    def __init__(self, nf, n_downs, n_res):
        super().__init__()
        layers = [Conv2dBlock(3, nf, 7, 1, 3, 'in', 'relu')]
        c = nf
        for _ in range(n_downs):
            layers.append(Conv2dBlock(c, 2 * c, 4, 2, 1, 'in', 'relu'))
            c *= 2
        layers.append(ResBlocks(n_res, c, 'in'))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class Decoder(nn.Module):
    def __init__(self, channels, n_downs, n_res):
        super().__init__()
        layers = [ResBlocks(n_res, channels, 'adain')]
        c = channels
        for _ in range(n_downs):
            layers.append(nn.Upsample(scale_factor=2, mode='nearest'))
            layers.append(Conv2dBlock(c, c // 2, 5, 1, 2, 'adain', 'relu'))
            c //= 2
        layers.append(Conv2dBlock(c, 3, 7, 1, 3, 'none', 'tanh'))
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class LinearBlock(nn.Module):
    def __init__(self, cin, cout, act):
        super().__init__()
        self.fc = nn.Linear(cin, cout)
        self.activation = nn.ReLU() if act == 'relu' else None

    def forward(self, x):
        x = self.fc(x)
        return self.activation(x) if self.activation is not None else x


class MLP(nn.Module):
    def __init__(self, cin, cout, width=MLP_DIM, layers=MLP_LAYERS):
        super().__init__()
        blocks = [LinearBlock(cin, width, 'relu')]
        for _ in range(layers - 2):
            blocks.append(LinearBlock(width, width, 'relu'))
        blocks.append(LinearBlock(width, cout, 'none'))
        self.model = nn.Sequential(*blocks)

    def forward(self, x):
        return self.model(x.reshape(x.shape[0], -1))


def adain_layers(module):
    return [m for m in module.modules() if isinstance(m, AdaIN)]


class Generator(nn.Module):
    def __init__(self, img_size, style_dim, nf=None, n_res=N_RES):
        super().__init__()
        self.img_size = img_size
        self.nf = nf if nf is not None else (64 if img_size < 256 else 32)
        self.n_downs = int(round(math.log2(img_size // 16)))
        assert 16 << self.n_downs == img_size, 'img_size must be 16 * 2^n'
        channels = self.nf << self.n_downs
        self.cnt_encoder = ContentEncoder(self.nf, self.n_downs, n_res)
        self.decoder = Decoder(channels, self.n_downs, n_res)
        self.num_adain_params = 2 * sum(m.num_features for m in adain_layers(self.decoder))
        self.mlp = MLP(style_dim, self.num_adain_params)

    def assign_adain(self, style):
        params = self.mlp(style)
        pos = 0
        for m in adain_layers(self.decoder):
            c = m.num_features
            m.bias = params[:, pos:pos + c]
            m.weight = params[:, pos + c:pos + 2 * c]
            pos += 2 * c
        assert pos == params.shape[1]

    def forward(self, content_image, style):
        content = self.cnt_encoder(content_image)
        self.assign_adain(style)
        return self.decoder(content)


# ------------------------------------------------------- guiding network

class GuidingNet(nn.Module):
    def __init__(self, style_dim, num_domains):
        super().__init__()
        layers = []
        c = 3
        for v in VGG11:
            if v == 'M':
                layers.append(nn.MaxPool2d(2, 2))
            else:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]
                c = v
        self.features = nn.Sequential(*layers)
        self.disc = nn.Linear(c, num_domains)
        self.cont = nn.Linear(c, style_dim)

    def pooled(self, x):
        return F.adaptive_avg_pool2d(self.features(x), 1).flatten(1)

    def forward(self, x):
        flat = self.pooled(x)
        return self.cont(flat), self.disc(flat)


# ------------------------------------------------------------ inference

@torch.no_grad()
def style(C, image):
    """Style code [N, d] of image [N, 3, S, S]."""
    return C.cont(C.pooled(image))


@torch.no_grad()
def logits(C, image):
    """Pseudo-domain logits [N, K]."""
    return C.disc(C.pooled(image))


@torch.no_grad()
def translate(G, content_image, style_code):
    """Translation of content_image [N,3,H,W] (sides multiples of 2^n_downs)."""
    return G(content_image, style_code)


@torch.no_grad()
def translate_any_size(G, content_image, style_code):
    """The engine's documented behaviour for any frame size: reflect-pad on
    the right and bottom to the next multiple of 2^n_downs, translate, crop."""
    m = 1 << G.n_downs
    h, w = content_image.shape[2:]
    ph, pw = -h % m, -w % m
    x = content_image
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode='reflect')
    return translate(G, x, style_code)[:, :, :h, :w].contiguous()


# -------------------------------------------------------- random weights

def smooth_images(n, height, width, generator, cells=6):
    """Smooth random RGB images in [-1, 1]: bicubic-upsampled noise plus a
    few random sinusoids, squashed by tanh."""
    low = torch.randn(n, 3, cells, cells, generator=generator)
    x = F.interpolate(low, size=(height, width), mode='bicubic', align_corners=False)
    yy = torch.linspace(0, 1, height).view(1, 1, height, 1)
    xx = torch.linspace(0, 1, width).view(1, 1, 1, width)
    for _ in range(3):
        f = torch.rand(n, 3, 2, 1, 1, generator=generator) * 12
        ph = torch.rand(n, 3, 1, 1, generator=generator) * 6.283
        x = x + 0.3 * torch.sin(f[:, :, 0] * xx + f[:, :, 1] * yy + ph)
    return torch.tanh(x).float()


def _kaiming_(weight, gain, generator):
    fan_in = weight[0].numel()
    with torch.no_grad():
        weight.copy_(torch.randn(weight.shape, generator=generator) *
                     (gain * math.sqrt(2.0 / fan_in)))


@torch.no_grad()
def _randomize_generator(G, gen):
    for m in G.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            _kaiming_(m.weight, 1.0, gen)
            m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
    # AdaIN buffers: the trainer stores whatever they hold; make them non-trivial.
    for m in adain_layers(G.decoder):
        m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
        m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    # The last MLP layer yields (bias, weight) pairs: centre the weights at 1.
    last = G.mlp.model[-1].fc
    last.weight.mul_(0.3)
    pos = 0
    for m in adain_layers(G.decoder):
        c = m.num_features
        last.bias[pos + c:pos + 2 * c] += 1.0
        pos += 2 * c
    # Keep the final tanh out of saturation.
    G.decoder.model[-1].conv.weight.mul_(0.3)


@torch.no_grad()
def _randomize_guiding(C, gen, calib):
    C.eval()   # BatchNorm must use the running statistics set below
    x = calib
    for m in C.features:
        if isinstance(m, nn.Conv2d):
            _kaiming_(m.weight, 1.0, gen)
            m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)
        elif isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.weight.copy_(1 + 0.1 * torch.randn(n, generator=gen))
            m.bias.copy_(0.1 * torch.randn(n, generator=gen))
            # Running stats near the real statistics of the calibration
            # images, but off by random amounts so they matter.
            mean = x.mean(dim=(0, 2, 3))
            var = x.var(dim=(0, 2, 3), unbiased=False)
            std = var.sqrt()
            m.running_mean.copy_(mean + 0.2 * std * torch.randn(n, generator=gen))
            m.running_var.copy_(var * (0.5 + 1.5 * torch.rand(n, generator=gen)) + 1e-3)
            m.num_batches_tracked.fill_(1000)
        x = m(x)
    flat = F.adaptive_avg_pool2d(x, 1).flatten(1)
    centred = flat - flat.mean(0, keepdim=True)
    for lin, scale in ((C.cont, 0.5), (C.disc, 2.0)):
        _kaiming_(lin.weight, 1.0, gen)
        # Scale so outputs vary by about `scale` from image to image, and
        # centre them near zero (small random offsets) so style codes are O(1).
        spread = (centred @ lin.weight.t()).std().clamp_min(1e-6)
        lin.weight.mul_(scale / spread)
        lin.bias.copy_(-(flat.mean(0) @ lin.weight.t()) +
                       0.1 * torch.randn(lin.bias.shape, generator=gen))


def build(img_size, style_dim, num_domains, nf=None, seed=0):
    """(G, C) in eval mode with random, non-trivial weights."""
    gen = torch.Generator().manual_seed(seed)
    G = Generator(img_size, style_dim, nf=nf)
    C = GuidingNet(style_dim, num_domains)
    _randomize_generator(G, gen)
    # BatchNorm statistics and output centring are calibrated on a few
    # smooth images (fewer for big sizes, to keep building quick).
    calib = smooth_images(8 if img_size <= 64 else 6 if img_size <= 128 else 3,
                          img_size, img_size, gen)
    _randomize_guiding(C, gen, calib)
    return G.eval(), C.eval()


# ------------------------------------------------------------ checkpoints

class _TinyDiscriminator(nn.Module):
    """Stands in for the trainer's discriminator: only its state dict is saved."""

    def __init__(self, num_domains):
        super().__init__()
        self.main = nn.Sequential(nn.Conv2d(3, 8, 3, 1, 1), nn.LeakyReLU(0.2),
                                  nn.Conv2d(8, num_domains, 1, 1, 0))


def _wrapped_state_dict(module, module_prefix):
    if module_prefix:
        return nn.DataParallel(module).state_dict()   # keys 'module.*'
    return module.state_dict()


def _optimizer_state(module, kind, touch):
    """A real optimizer state dict after one step.  Only the parameters in
    `touch` (names) get gradients, which keeps the state (and the files) small
    while param_groups still list every parameter."""
    net = copy.deepcopy(module)
    params = dict(net.named_parameters())
    if kind == 'adam':
        opt = torch.optim.Adam(net.parameters(), 1e-4, weight_decay=0.001)
    else:
        opt = torch.optim.RMSprop(net.parameters(), 1e-4, weight_decay=0.0001)
    with torch.enable_grad():
        loss = sum((params[n] ** 2).sum() for n in touch)
        loss.backward()
        opt.step()
    return opt.state_dict()


def save_checkpoint(path, G, G_EMA, C, C_EMA, legacy=False, module_prefix=False,
                    epoch=1, num_domains=None):
    """Writes a checkpoint laid out as the official trainer's save_model."""
    K = num_domains if num_domains is not None else C.disc.out_features
    D = _TinyDiscriminator(K)
    n_last = len(G.mlp.model) - 1
    state = collections.OrderedDict()
    state['epoch'] = epoch
    state['C_state_dict'] = _wrapped_state_dict(C, module_prefix)
    state['c_optimizer'] = _optimizer_state(C, 'adam', ['disc.weight', 'disc.bias',
                                                        'features.1.weight'])
    state['C_EMA_state_dict'] = _wrapped_state_dict(C_EMA, module_prefix)
    state['D_state_dict'] = _wrapped_state_dict(D, module_prefix)
    state['d_optimizer'] = _optimizer_state(D, 'rmsprop', ['main.0.weight', 'main.2.bias'])
    state['G_state_dict'] = _wrapped_state_dict(G, module_prefix)
    state['g_optimizer'] = _optimizer_state(G, 'rmsprop', [
        'mlp.model.%d.fc.bias' % n_last, 'cnt_encoder.model.0.conv.bias'])
    state['G_EMA_state_dict'] = _wrapped_state_dict(G_EMA, module_prefix)
    # The trainer also saves its Inception network; a small stand-in will do.
    state['inceptionNet_state_dict'] = collections.OrderedDict(
        [('blocks.0.0.conv.weight', torch.randn(4, 3, 3, 3)),
         ('blocks.0.0.bn.running_mean', torch.zeros(4)),
         ('blocks.0.0.bn.num_batches_tracked', torch.tensor(0))])
    torch.save(dict(state), path, _use_new_zipfile_serialization=not legacy)


# ------------------------------------------------------ gst-tunit model files

def load_model_file(path):
    """A gst-tunit model file (.safetensors) as (metadata, G, C, centroids):
    the generator and guiding network in eval mode, with the widths the
    file's tensors have (narrow guides and MLPs included); centroids is a
    [K, style_dim] tensor or None."""
    import numpy as np
    import safetensors_io
    meta, tensors = safetensors_io.read(path)
    arr = {k: torch.from_numpy(safetensors_io.to_numpy(v).astype(np.float32).copy())
           for k, v in tensors.items()}
    size = int(meta['tunit.img_size'])
    style_dim = int(meta['tunit.style_dim'])
    K = int(meta['tunit.num_domains'])
    G = Generator(size, style_dim, nf=int(meta['tunit.nf']))
    if int(meta['tunit.mlp_dim']) != MLP_DIM or int(meta['tunit.mlp_layers']) != MLP_LAYERS:
        G.mlp = MLP(style_dim, G.num_adain_params, width=int(meta['tunit.mlp_dim']),
                    layers=int(meta['tunit.mlp_layers']))
    global VGG11
    widths = iter(arr['E.features.%d.weight' % i].shape[0]
                  for i in (0, 4, 8, 11, 15, 18, 22, 25))
    saved = VGG11
    VGG11 = tuple(v if v == 'M' else next(widths) for v in saved)
    try:
        C = GuidingNet(style_dim, K)
    finally:
        VGG11 = saved
    for prefix, net in (('G.', G), ('E.', C)):
        state = {k[2:]: v for k, v in arr.items() if k.startswith(prefix)}
        missing, unexpected = net.load_state_dict(state, strict=False)
        missing = [m for m in missing if not m.endswith(('running_mean', 'running_var',
                                                         'num_batches_tracked'))
                   or m.startswith('features')]
        if missing or unexpected:
            raise ValueError('model %s: missing %s, unexpected %s' % (path, missing, unexpected))
    return meta, G.eval(), C.eval(), arr.get('centroids')
