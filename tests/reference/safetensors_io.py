"""Minimal .safetensors reader for the tests (standard library only).

read(path) -> (metadata: dict, tensors: OrderedDict name -> Tensor) where a
Tensor has dtype, shape and data (the raw little-endian bytes).  It checks
the layout strictly: header length, JSON, dtypes, that shape and byte range
agree, and that the data regions are contiguous, in bounds and cover the
whole data section (the rules of the Hugging Face reference reader).
"""

import collections
import json
import struct

ITEMSIZE = {'F64': 8, 'F32': 4, 'F16': 2, 'BF16': 2, 'I64': 8, 'I32': 4,
            'I16': 2, 'I8': 1, 'U8': 1, 'BOOL': 1}

Tensor = collections.namedtuple('Tensor', 'dtype shape data')


class FormatError(Exception):
    pass


def parse(blob):
    if len(blob) < 8:
        raise FormatError('file shorter than 8 bytes')
    (n,) = struct.unpack_from('<Q', blob, 0)
    if n > len(blob) - 8:
        raise FormatError('header length %d exceeds the file' % n)
    try:
        header = json.loads(blob[8:8 + n].decode('utf-8'),
                            object_pairs_hook=collections.OrderedDict)
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError('header is not JSON: %s' % e)
    if not isinstance(header, dict):
        raise FormatError('header is not a JSON object')
    data = blob[8 + n:]
    meta = header.pop('__metadata__', {})
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                             for k, v in meta.items()):
        raise FormatError('__metadata__ must map strings to strings')
    tensors = collections.OrderedDict()
    spans = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {'dtype', 'shape', 'data_offsets'}:
            raise FormatError('tensor %s: bad header entry' % name)
        dtype, shape, (begin, end) = info['dtype'], info['shape'], info['data_offsets']
        if dtype not in ITEMSIZE:
            raise FormatError('tensor %s: unknown dtype %r' % (name, dtype))
        count = 1
        for s in shape:
            if not isinstance(s, int) or s < 0:
                raise FormatError('tensor %s: bad shape %r' % (name, shape))
            count *= s
        if not (0 <= begin <= end <= len(data)) or end - begin != count * ITEMSIZE[dtype]:
            raise FormatError('tensor %s: data_offsets %r do not match shape %r %s'
                              % (name, [begin, end], shape, dtype))
        spans.append((begin, end, name))
        tensors[name] = Tensor(dtype, tuple(shape), bytes(data[begin:end]))
    pos = 0
    for begin, end, name in sorted(spans):
        if begin != pos:
            raise FormatError('tensor %s: data not contiguous (starts at %d, expected %d)'
                              % (name, begin, pos))
        pos = end
    if pos != len(data):
        raise FormatError('%d trailing bytes after the last tensor' % (len(data) - pos))
    return dict(meta), tensors


def read(path):
    with open(path, 'rb') as f:
        return parse(f.read())


def to_numpy(t):
    import numpy as np
    dt = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'I64': '<i8', 'I32': '<i4',
          'I16': '<i2', 'I8': 'i1', 'U8': 'u1', 'BOOL': '?'}[t.dtype]
    return np.frombuffer(t.data, dtype=dt).reshape(t.shape)
