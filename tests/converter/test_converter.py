#!/usr/bin/python3
"""Unit tests of models/tunit-convert.

Run with Debian's interpreter (it needs python3-torch to build checkpoints):
    /usr/bin/python3 tests/converter/test_converter.py
"""

import collections
import copy
import importlib.machinery
import os
import pickle
import random
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import types
import unittest
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get('TUNIT_SOURCE_ROOT', os.path.join(HERE, '..', '..'))
CONVERTER = os.path.join(SOURCE_ROOT, 'models', 'tunit-convert')
sys.path.insert(0, os.path.join(HERE, '..', 'reference'))

import torch  # noqa: E402

import safetensors_io  # noqa: E402
import tunit_torch as T  # noqa: E402

PREFIX = 'tunit-convert: error: '


def expected_tensors(G, C):
    """name -> tensor that a conversion must store."""
    out = collections.OrderedDict()
    for name, t in G.state_dict().items():
        if '.norm.running_' in name:
            continue
        out['G.' + name] = t
    for name, t in C.state_dict().items():
        if name.endswith('num_batches_tracked'):
            continue
        out['E.' + name] = t
    return out


def load_converter():
    """models/tunit-convert as a module, for tests of its helpers."""
    loader = importlib.machinery.SourceFileLoader('tunit_convert', CONVERTER)
    module = types.ModuleType(loader.name)
    loader.exec_module(module)
    return module


class Malicious:
    """Unpickling this runs a shell command that creates a marker file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ('touch %s' % self.marker,))


class ConverterTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        cls.tmp = tempfile.mkdtemp(prefix='tunit-convert-test-')
        cls.G_raw, cls.C_raw = T.build(64, 16, 4, nf=8, seed=11)
        cls.G_ema, cls.C_ema = T.build(64, 16, 4, nf=8, seed=12)
        cls.zip_ckpt = cls.path('model_zip.ckpt')
        cls.legacy_ckpt = cls.path('model_legacy.ckpt')
        T.save_checkpoint(cls.zip_ckpt, cls.G_raw, cls.G_ema, cls.C_raw, cls.C_ema,
                          legacy=False, module_prefix=False, epoch=42)
        T.save_checkpoint(cls.legacy_ckpt, cls.G_raw, cls.G_ema, cls.C_raw, cls.C_ema,
                          legacy=True, module_prefix=True, epoch=43)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def path(cls, name):
        return os.path.join(cls.tmp, name)

    # ------------------------------------------------------------ helpers

    def run_converter(self, *args, timeout=300):
        # 4 GiB of address space: a conversion of these small checkpoints
        # needs a fraction of it, and a bad file must not take the machine
        def limit_memory():
            resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
        return subprocess.run([sys.executable, CONVERTER] + [str(a) for a in args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, preexec_fn=limit_memory)

    def convert_ok(self, ckpt, out, *flags):
        r = self.run_converter(ckpt, out, *flags)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, '')
        return safetensors_io.read(out)

    def assert_rejected(self, ckpt, *phrases, flags=(), timeout=300):
        out_dir = tempfile.mkdtemp(dir=self.tmp)
        out = os.path.join(out_dir, 'out.safetensors')
        r = self.run_converter(ckpt, out, *flags, timeout=timeout)
        self.assertEqual(r.returncode, 1, 'stdout %r stderr %r' % (r.stdout, r.stderr))
        self.assertTrue(r.stderr.startswith(PREFIX), r.stderr)
        self.assertNotIn('Traceback', r.stderr)
        self.assertEqual(r.stderr.count('\n'), 1, r.stderr)
        for phrase in phrases:
            self.assertIn(phrase, r.stderr)
        self.assertEqual(os.listdir(out_dir), [], 'output or temp file left behind')
        return r.stderr

    def assert_model(self, meta, tensors, G, C, dtype, img_size, weights, source, epoch):
        self.assertEqual(meta['tunit.format_version'], '1')
        self.assertEqual(meta['tunit.img_size'], str(img_size))
        self.assertEqual(meta['tunit.n_downs'], str(G.n_downs))
        self.assertEqual(meta['tunit.nf'], str(G.nf))
        self.assertEqual(meta['tunit.n_res'], '2')
        self.assertEqual(meta['tunit.style_dim'], str(C.cont.out_features))
        self.assertEqual(meta['tunit.num_domains'], str(C.disc.out_features))
        self.assertEqual(meta['tunit.mlp_dim'], '256')
        self.assertEqual(meta['tunit.mlp_layers'], '3')
        self.assertEqual(meta['tunit.weights'], weights)
        self.assertEqual(meta['tunit.source'], source)
        self.assertEqual(meta['tunit.epoch'], str(epoch))
        self.assertTrue(meta['tunit.converter'].startswith('tunit-convert'))
        want = expected_tensors(G, C)
        self.assertEqual(sorted(tensors), sorted(want))
        np_dtype = torch.float16 if dtype == 'F16' else torch.float32
        for name, t in want.items():
            got = tensors[name]
            self.assertEqual(got.dtype, dtype, name)
            self.assertEqual(got.shape, tuple(t.shape), name)
            self.assertEqual(got.data, t.to(np_dtype).contiguous().numpy().tobytes(), name)

    # -------------------------------------------------------------- good

    def test_zip_ema(self):
        out = self.path('zip.safetensors')
        meta, tensors = self.convert_ok(self.zip_ckpt, out)
        self.assert_model(meta, tensors, self.G_ema, self.C_ema, 'F32', 64, 'ema',
                          'model_zip.ckpt', 42)
        self.assertIn('E.features.1.running_var', tensors)
        self.assertNotIn('G.decoder.model.2.norm.running_mean', tensors)
        self.assertFalse(any('num_batches_tracked' in n for n in tensors))
        with open(out, 'rb') as f:
            (n,) = struct.unpack('<Q', f.read(8))
        self.assertEqual((8 + n) % 8, 0)
        umask = os.umask(0o22)
        os.umask(umask)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o666 & ~umask)

    def test_legacy_with_module_prefix(self):
        meta, tensors = self.convert_ok(self.legacy_ckpt, self.path('legacy.safetensors'))
        self.assert_model(meta, tensors, self.G_ema, self.C_ema, 'F32', 64, 'ema',
                          'model_legacy.ckpt', 43)

    def test_no_ema(self):
        for ckpt in (self.zip_ckpt, self.legacy_ckpt):
            meta, tensors = self.convert_ok(ckpt, self.path('raw.safetensors'), '--no-ema')
            self.assert_model(meta, tensors, self.G_raw, self.C_raw, 'F32', 64, 'raw',
                              os.path.basename(ckpt), meta['tunit.epoch'])

    def test_fp16(self):
        meta, tensors = self.convert_ok(self.legacy_ckpt, self.path('f16.safetensors'),
                                        '--fp16')
        self.assert_model(meta, tensors, self.G_ema, self.C_ema, 'F16', 64, 'ema',
                          'model_legacy.ckpt', 43)

    def test_img_sizes(self):
        for size, nf in ((128, 8), (256, 4)):
            G, C = T.build(size, 8, 3, nf=nf, seed=size)
            G2, C2 = T.build(size, 8, 3, nf=nf, seed=size + 1)
            ckpt = self.path('s%d.ckpt' % size)
            T.save_checkpoint(ckpt, G, G2, C, C2, legacy=size == 256, epoch=size)
            meta, tensors = self.convert_ok(ckpt, self.path('s%d.safetensors' % size))
            self.assert_model(meta, tensors, G2, C2, 'F32', size, 'ema',
                              os.path.basename(ckpt), size)
            self.assertEqual(meta['tunit.n_downs'], str({128: 3, 256: 4}[size]))
            os.unlink(ckpt)
        # The official width rule, for the record (the file says what it is).
        self.assertEqual(T.Generator(128, 8).nf, 64)
        self.assertEqual(T.Generator(256, 8).nf, 32)

    def test_trainer_checkpoint_with_narrow_guide(self):
        """A checkpoint written by models/train/train-tunit, whose guiding
        network is narrower than VGG11's 64..512, converts like any other:
        the shipped default model takes this road."""
        path = os.path.join(SOURCE_ROOT, 'models', 'train', 'train-tunit')
        loader = importlib.machinery.SourceFileLoader('train_tunit', path)
        trainer = types.ModuleType(loader.name)
        trainer.__file__ = path
        loader.exec_module(trainer)
        widths = (16, 32, 64, 64, 128, 128, 128, 128)
        torch.manual_seed(21)
        G = trainer.build_generator(64, 12, 8, 256)
        C = trainer.build_guide(12, 5, widths)
        D = trainer.Discriminator(64, 5)
        G_ema, C_ema = copy.deepcopy(G), copy.deepcopy(C)
        with torch.no_grad():
            for p in list(G_ema.parameters()) + list(C_ema.parameters()):
                p.add_(torch.randn_like(p) * 0.01)
            for m in C.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.running_mean.uniform_(-0.5, 0.5)
                    m.running_var.uniform_(0.5, 2.0)
        opts = {'C': torch.optim.Adam(C.parameters()),
                'G': torch.optim.RMSprop(G.parameters()),
                'D': torch.optim.RMSprop(D.parameters())}
        ckpt = self.path('model_77.ckpt')
        trainer.save(ckpt, 77, {'D': D}, opts, None, G, G_ema, C, C_ema)
        meta, tensors = self.convert_ok(ckpt, self.path('trained.safetensors'))
        # the trainer copies the trained networks' norm buffers into the EMA
        # copies before saving, as the official trainer does
        self.assert_model(meta, tensors, G_ema, C_ema, 'F32', 64, 'ema', 'model_77.ckpt', 77)
        for i, width in zip((0, 4, 8, 11, 15, 18, 22, 25), widths):
            self.assertEqual(tensors['E.features.%d.weight' % i].shape[0], width)

    def test_trainer_loop_in_every_guide_mode(self):
        """models/train/train-tunit runs its warm-up and joint phases, with
        the guide stepping on its own loss only, on the reconstruction too
        (--rec-trains-c) and on all of the generator's loss (--g-trains-c),
        and its last checkpoint converts.  In every mode the joint phase must
        move the generator and the guide."""
        import numpy as np
        trainer = os.path.join(SOURCE_ROOT, 'models', 'train', 'train-tunit')
        rng = np.random.default_rng(3)
        data = self.path('tiny-data.npz')
        np.savez(data, train=rng.integers(0, 256, (12, 80, 80, 3), dtype=np.uint8))
        for mode in (['--g-trains-c', '0'], ['--rec-trains-c', '1'], ['--g-trains-c', '1']):
            out = self.path('run-' + mode[0][2:] + mode[1])
            done = subprocess.run(
                [sys.executable, trainer, '--data', data, '--out', out, '--device', 'cpu',
                 '--threads', '1', '--nf', '8', '--style-dim', '8', '--mlp-dim', '32',
                 '--guide-widths', '8,8,8,8,16,16,16,16', '--warmup-batch', '6',
                 '--batch', '4', '--warmup-iters', '2', '--iters', '5', '--r1-every', '2',
                 '--queue', '16', '--ckpt-every', '1e9'] + mode,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
            self.assertEqual(done.returncode, 0, done.stderr)
            first = torch.load(os.path.join(out, 'model_2.ckpt'), weights_only=False)
            last = torch.load(os.path.join(out, 'model_5.ckpt'), weights_only=False)
            for net in ('G_state_dict', 'C_state_dict'):
                moved = [k for k, v in last[net].items()
                         if v.is_floating_point() and not torch.equal(v, first[net][k])]
                self.assertTrue(moved, '%s did not change in mode %s' % (net, mode))
            meta, _ = self.convert_ok(os.path.join(out, 'model_5.ckpt'),
                                      self.path('run.safetensors'))
            self.assertEqual(meta['tunit.style_dim'], '8')

    def test_shared_and_strided_storages(self):
        """Tensors that are offset views into one storage, and a strided one."""
        g = collections.OrderedDict(self.G_ema.state_dict())
        total = sum(t.numel() for t in g.values())
        flat = torch.empty(total)
        pos = 0
        for name, t in g.items():
            n = t.numel()
            flat[pos:pos + n] = t.flatten()
            g[name] = flat[pos:pos + n].view(t.shape)
            pos += n
        w = self.G_ema.state_dict()['cnt_encoder.model.0.conv.weight']
        g['cnt_encoder.model.0.conv.weight'] = w.permute(2, 3, 0, 1).contiguous().permute(2, 3, 0, 1)
        self.assertFalse(g['cnt_encoder.model.0.conv.weight'].is_contiguous())
        for legacy in (False, True):
            ckpt = self.path('views_%d.ckpt' % legacy)
            torch.save({'G_EMA_state_dict': g, 'C_EMA_state_dict': self.C_ema.state_dict(),
                        'epoch': 5}, ckpt, _use_new_zipfile_serialization=not legacy)
            meta, tensors = self.convert_ok(ckpt, self.path('views.safetensors'))
            self.assert_model(meta, tensors, self.G_ema, self.C_ema, 'F32', 64, 'ema',
                              os.path.basename(ckpt), 5)

    def test_existing_output_replaced_only_on_success(self):
        out = self.path('keep.safetensors')
        with open(out, 'w') as f:
            f.write('old')
        bad = self.path('bad.txt')
        with open(bad, 'w') as f:
            f.write('not a checkpoint\n')
        r = self.run_converter(bad, out)
        self.assertEqual(r.returncode, 1)
        with open(out) as f:
            self.assertEqual(f.read(), 'old')
        self.convert_ok(self.zip_ckpt, out)

    # ---------------------------------------------------------- rejected

    def write(self, name, data):
        p = self.path(name)
        with open(p, 'wb') as f:
            f.write(data)
        return p

    def test_not_checkpoints(self):
        self.assert_rejected(self.write('text.txt', b'hello, world\n' * 10),
                             'not a PyTorch checkpoint')
        self.assert_rejected(self.write('empty.ckpt', b''), 'is empty')
        rnd = random.Random(1)
        self.assert_rejected(self.write('random.ckpt', bytes(rnd.randrange(256)
                                                            for _ in range(4096))))
        self.assert_rejected(self.write('pk.ckpt', b'PK\x03\x04' + b'\0' * 100), 'zip')
        self.assert_rejected(self.path('does-not-exist.ckpt'), 'cannot open')
        self.assert_rejected(self.tmp, 'cannot open')

    def test_truncated(self):
        with open(self.zip_ckpt, 'rb') as f:
            data = f.read()
        self.assert_rejected(self.write('trunc.zip.ckpt', data[:len(data) // 2]))
        with open(self.legacy_ckpt, 'rb') as f:
            data = f.read()
        self.assert_rejected(self.write('trunc1.legacy.ckpt', data[:len(data) * 3 // 5]),
                             'truncated')
        self.assert_rejected(self.write('trunc2.legacy.ckpt', data[:300]))
        self.assert_rejected(self.write('trunc3.legacy.ckpt', data[:-1]), 'truncated')

    def test_dicts_without_the_keys(self):
        self.assert_rejected(self.write('plain.pickle', pickle.dumps({'a': 1}, protocol=2)),
                             'not a PyTorch checkpoint')
        ckpt = self.path('nokeys.ckpt')
        torch.save({'epoch': 1, 'model': {'w': torch.zeros(3)}}, ckpt)
        self.assert_rejected(ckpt, 'has no G_EMA_state_dict')
        torch.save({'G_state_dict': self.G_raw.state_dict(),
                    'C_state_dict': self.C_raw.state_dict()}, ckpt)
        self.assert_rejected(ckpt, 'has no G_EMA_state_dict', '--no-ema')
        self.convert_ok(ckpt, self.path('noema.safetensors'), '--no-ema')
        torch.save([1, 2, 3], ckpt)
        self.assert_rejected(ckpt, 'not a training checkpoint')
        torch.save({'G_EMA_state_dict': [1], 'C_EMA_state_dict': {}}, ckpt)
        self.assert_rejected(ckpt, 'G_EMA_state_dict', 'not a state dict')
        torch.save({'G_EMA_state_dict': {'x': 3}, 'C_EMA_state_dict': {}}, ckpt)
        self.assert_rejected(ckpt, 'not a tensor')
        torch.save(self.G_ema, ckpt)   # a whole pickled module
        self.assert_rejected(ckpt, 'refusing to load global')

    def check_malicious(self, make):
        marker = self.path('PWNED')
        if os.path.exists(marker):
            os.unlink(marker)
        ckpt = make(Malicious(marker))
        err = self.assert_rejected(ckpt, 'refusing to load global')
        self.assertIn('system', err)
        self.assertFalse(os.path.exists(marker), 'the payload ran')

    def test_malicious_pickles(self):
        # Sanity: the payload does work when unpickled normally.
        marker = self.path('PWNED')
        pickle.loads(pickle.dumps(Malicious(marker), protocol=2))
        self.assertTrue(os.path.exists(marker))
        os.unlink(marker)

        # GLOBAL + REDUCE (protocol 2), STACK_GLOBAL (protocol 4).
        self.check_malicious(lambda m: self.write('evil2.ckpt', pickle.dumps(
            {'G_EMA_state_dict': m}, protocol=2)))
        self.check_malicious(lambda m: self.write('evil4.ckpt', pickle.dumps(
            {'G_EMA_state_dict': m}, protocol=4)))
        self.check_malicious(lambda m: self.write('evil0.ckpt', b'\x80\x02' + pickle.dumps(
            m, protocol=0)))

        # A legacy stream whose object pickle is malicious.
        def legacy(m):
            return self.write('evil_legacy.ckpt', b''.join([
                pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2),
                pickle.dumps(1001, protocol=2),
                pickle.dumps({'protocol_version': 1001, 'little_endian': True}, protocol=2),
                pickle.dumps({'epoch': 1, 'G_EMA_state_dict': m}, protocol=2),
                pickle.dumps([], protocol=2)]))
        self.check_malicious(legacy)

        # A zip checkpoint whose data.pkl is malicious.
        def evil_zip(m):
            out = self.path('evil_zip.ckpt')
            with zipfile.ZipFile(self.zip_ckpt) as src, \
                    zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as dst:
                for info in src.infolist():
                    data = src.read(info)
                    if info.filename.endswith('/data.pkl'):
                        data = pickle.dumps({'G_EMA_state_dict': m}, protocol=2)
                    dst.writestr(info.filename, data)
            return out
        self.check_malicious(evil_zip)

        # Other dangerous globals.
        for mod, name in (('builtins', 'eval'), ('subprocess', 'Popen'),
                          ('torch', 'load'), ('__builtin__', 'getattr')):
            data = b'\x80\x02c' + mod.encode() + b'\n' + name.encode() + b'\nq\x00.'
            self.assert_rejected(self.write('evil_%s.ckpt' % name, data),
                                 'refusing to load global %s.%s' % (mod, name))

    def rewrite_zip(self, name, edit):
        out = self.path(name)
        with zipfile.ZipFile(self.zip_ckpt) as src, \
                zipfile.ZipFile(out, 'w', zipfile.ZIP_STORED) as dst:
            for info in src.infolist():
                data = edit(info.filename, src.read(info))
                if data is not None:
                    dst.writestr(info.filename, data)
        return out

    def test_damaged_zip_archives(self):
        missing = self.rewrite_zip('nostorage.ckpt',
                                   lambda n, d: None if '/data/' in n else d)
        self.assert_rejected(missing, 'is missing from the checkpoint archive')
        short = self.rewrite_zip('short.ckpt',
                                 lambda n, d: d[:-4] if '/data/' in n else d)
        self.assert_rejected(short, 'holds', 'bytes but the checkpoint describes')
        nopkl = self.rewrite_zip('nopkl.ckpt',
                                 lambda n, d: None if n.endswith('data.pkl') else d)
        self.assert_rejected(nopkl, 'not a PyTorch checkpoint')
        garbage = self.rewrite_zip('garbage.ckpt',
                                   lambda n, d: b'\x80\x02garbage' if n.endswith('data.pkl')
                                   else d)
        self.assert_rejected(garbage)

        # A "zip bomb": data.pkl claims 4 GiB in the central directory.
        with open(self.zip_ckpt, 'rb') as f:
            data = bytearray(f.read())
        pos = data.rfind(b'PK\x01\x02', 0, data.find(b'PK\x05\x06'))
        while pos >= 0:
            (nlen,) = struct.unpack_from('<H', data, pos + 28)
            if data[pos + 46:pos + 46 + nlen].endswith(b'/data.pkl'):
                struct.pack_into('<I', data, pos + 24, 0xFFFFFFF0)
                break
            pos = data.rfind(b'PK\x01\x02', 0, pos)
        self.assertGreaterEqual(pos, 0)
        self.assert_rejected(self.write('bomb.ckpt', bytes(data)))

    def test_memo_bomb(self):
        """A memo index of 2^31 would make the C unpickler allocate 16 GiB."""
        bomb = b'\x80\x02N' + b'r' + struct.pack('<I', 0x7ffffff0) + b'.'
        self.assert_rejected(self.write('memo.ckpt', bomb), 'memo index')
        zipped = self.rewrite_zip('memo_zip.ckpt', lambda n, d: bomb if n.endswith('data.pkl')
                                  else d)
        self.assert_rejected(zipped, 'memo index')

    # ------------------------------------------- sizes the file declares

    def expanded_mlp(self, mlp_dim, hidden_layers=1):
        """G with an MLP of width mlp_dim whose tensors are stride-0 views
        of one-element storages: a few KB that declare mlp_dim^2 elements."""
        g = collections.OrderedDict((k, v) for k, v in self.G_ema.state_dict().items()
                                    if not k.startswith('mlp.'))
        style_dim = self.C_ema.cont.out_features
        last = self.G_ema.state_dict()['mlp.model.2.fc.weight'].shape[0]
        widths = [style_dim] + [mlp_dim] * (hidden_layers + 1) + [last]
        for j in range(len(widths) - 1):
            g['mlp.model.%d.fc.weight' % j] = torch.zeros(1).expand(widths[j + 1], widths[j])
            g['mlp.model.%d.fc.bias' % j] = torch.zeros(1).expand(widths[j + 1])
        return g

    def test_expanded_views(self):
        """Stride-0 expansions declaring 2.6e8 elements (the gather used to
        copy them one by one, for hours) or more than 2^28 in one tensor
        are refused before any copy."""
        for mlp_dim, phrase in ((16000, 'is a view of a storage of only 1 elements'),
                                (30000, 'has more than 268435456 elements')):
            for legacy in (False, True):
                ckpt = self.path('expanded_%d_%d.ckpt' % (mlp_dim, legacy))
                g = self.expanded_mlp(mlp_dim)
                g.move_to_end('mlp.model.1.fc.weight', last=False)   # read first
                torch.save({'G_EMA_state_dict': g,
                            'C_EMA_state_dict': self.C_ema.state_dict()}, ckpt,
                           _use_new_zipfile_serialization=not legacy)
                # the file is far smaller than what it declares
                self.assertLess(os.path.getsize(ckpt) * 20, 4 * mlp_dim ** 2)
                self.assert_rejected(ckpt, phrase, timeout=60)

    def test_overlapping_and_short_views(self):
        """Overlapping strides that declare more elements than the storage,
        and views that reach past it."""
        g = collections.OrderedDict(self.G_ema.state_dict())
        name = 'decoder.model.2.conv.weight'
        shape = g[name].shape
        storage = torch.zeros(shape.numel() // 2)
        g[name] = storage.as_strided(shape, (1, 1, 1, 1))
        ckpt = self.path('overlap.ckpt')
        torch.save({'G_EMA_state_dict': g, 'C_EMA_state_dict': self.C_ema.state_dict()}, ckpt)
        self.assert_rejected(ckpt, 'is a view of a storage of only')
        # a view that fits, with an odd order of strides, converts exactly
        g[name] = self.G_ema.state_dict()[name].permute(3, 1, 0, 2).contiguous() \
            .permute(2, 1, 3, 0)
        self.assertEqual(g[name].shape, shape)
        torch.save({'G_EMA_state_dict': g, 'C_EMA_state_dict': self.C_ema.state_dict(),
                    'epoch': 1}, ckpt)
        meta, tensors = self.convert_ok(ckpt, self.path('permuted.safetensors'))
        self.assert_model(meta, tensors, self.G_ema, self.C_ema, 'F32', 64, 'ema', 'overlap.ckpt', 1)

    def test_model_size_bound(self):
        """More than 2^30 elements in all is refused before reading them."""
        tc = load_converter()
        ref = tc.StorageRef('0', 'F32', 0, 1 << 28)
        tensors = [('t%d' % i, tc.TensorRec(ref, 0, (1 << 28,), (1,))) for i in range(5)]
        with self.assertRaisesRegex(tc.ConvertError, 'at most 1073741824'):
            tc.check_model_size(tensors)
        tc.check_model_size(tensors[:4])

    # ------------------------------------------ structures that share parts

    @staticmethod
    def laughs_ops(depth):
        """Protocol-2 opcodes that leave on the stack a tuple of two
        references to a tuple of two references ... depth levels deep:
        2^depth leaves from a few hundred bytes."""
        ops = b'X\x01\x00\x00\x00aq\x00'
        for i in range(depth):
            ops += b'h' + bytes([i]) + b'h' + bytes([i]) + b'\x86' + b'q' + bytes([i + 1])
            if i + 1 < depth:
                ops += b'0'
        return ops

    def test_shown_is_bounded(self):
        tc = load_converter()
        laughs = 'a'
        for _ in range(200):
            laughs = (laughs, laughs)
        for obj in (laughs, [laughs] * 1000, {'k': laughs, 1: [laughs]}, 'x' * 10 ** 7,
                    b'y' * 10 ** 7, 10 ** 4000, KeyError(laughs)):
            text = tc.shown_error(obj) if isinstance(obj, Exception) else tc.shown(obj)
            self.assertLessEqual(len(text), 120, text)
        self.assertEqual(tc.shown(('storage', 3, [1, 2])), "('storage', 3, [1, 2])")
        self.assertEqual(tc.shown('name'), 'name')

    def test_billion_laughs(self):
        """A persistent id, a dict key and a state-dict key that refer to
        their parts 2^40 times: refused at once with a short message (the
        message used to take 3.5 GB; hashing the key never ended)."""
        laughs = self.laughs_ops(40)
        pickles = {
            'pid': b'\x80\x02}X\x01\x00\x00\x00x' + laughs + b'Qs.',
            'key': b'\x80\x02}' + laughs + b'K\x01s.',
            'list': b'\x80\x02]' + laughs + b'a.',
        }
        for what, data in pickles.items():
            for container in ('zip', 'legacy'):
                if container == 'zip':
                    ckpt = self.rewrite_zip('laughs_%s.ckpt' % what,
                                            lambda n, d: data if n.endswith('data.pkl') else d)
                else:
                    ckpt = self.write('laughs_%s_legacy.ckpt' % what, b''.join([
                        pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2),
                        pickle.dumps(1001, protocol=2),
                        pickle.dumps({'protocol_version': 1001, 'little_endian': True},
                                     protocol=2), data, pickle.dumps([], protocol=2)]))
                message = self.assert_rejected(ckpt, 'expands to more than', timeout=60)
                self.assertLess(len(message), 400)
        # below the bound the unpickler runs, and its messages stay short
        pid = self.rewrite_zip('laughs_small.ckpt', lambda n, d: (
            b'\x80\x02}X\x01\x00\x00\x00x' + self.laughs_ops(20) + b'Qs.')
            if n.endswith('data.pkl') else d)
        message = self.assert_rejected(pid, 'unsupported persistent id', timeout=60)
        self.assertLess(len(message), 400)

    def test_inconsistent_shapes(self):
        def save(name, g, c):
            ckpt = self.path(name)
            torch.save({'G_EMA_state_dict': g, 'C_EMA_state_dict': c, 'epoch': 1}, ckpt)
            return ckpt
        g0 = self.G_ema.state_dict()
        c0 = self.C_ema.state_dict()

        g = collections.OrderedDict(g0)
        g['decoder.model.2.conv.weight'] = torch.zeros(16, 31, 5, 5)
        self.assert_rejected(save('bad1.ckpt', g, c0), 'G.decoder.model.2.conv.weight',
                             '[16,31,5,5]', '[16,32,5,5]')

        g = collections.OrderedDict(g0)
        g['mlp.model.2.fc.weight'] = torch.zeros(100, 256)
        g['mlp.model.2.fc.bias'] = torch.zeros(100)
        self.assert_rejected(save('bad2.ckpt', g, c0), 'G.mlp.model.2.fc.weight', 'AdaIN')

        c = collections.OrderedDict(c0)
        c['cont.weight'] = torch.zeros(17, 512)
        c['cont.bias'] = torch.zeros(17)
        self.assert_rejected(save('bad3.ckpt', g0, c), 'E.cont.weight', 'style_dim 16')

        c = collections.OrderedDict(c0)
        del c['features.12.running_var']
        self.assert_rejected(save('bad4.ckpt', g0, c), 'E.features.12.running_var',
                             'missing')

        g = collections.OrderedDict(g0)
        g['decoder.model.0.model.1.model.0.conv.weight_orig'] = torch.zeros(3)
        self.assert_rejected(save('bad5.ckpt', g, c0), 'unexpected tensor',
                             'G.decoder.model.0.model.1.model.0.conv.weight_orig')

        c = collections.OrderedDict(c0)
        c['features.4.weight'] = torch.zeros(128, 32, 3, 3)
        self.assert_rejected(save('bad6.ckpt', g0, c), 'E.features.4.weight')

        g = collections.OrderedDict(g0)
        g['cnt_encoder.model.0.conv.bias'] = torch.zeros(8, dtype=torch.int64)
        self.assert_rejected(save('bad7.ckpt', g, c0), 'G.cnt_encoder.model.0.conv.bias',
                             'I64')

        g = collections.OrderedDict(g0)
        w = g['decoder.model.0.model.0.model.0.conv.bias'].clone()
        w[3] = float('nan')
        g['decoder.model.0.model.0.model.0.conv.bias'] = w
        self.assert_rejected(save('bad8.ckpt', g, c0),
                             'G.decoder.model.0.model.0.model.0.conv.bias', 'NaN')

        g = collections.OrderedDict(g0)
        g['mlp.model.0.fc.bias'] = torch.full((256,), 1e6)
        self.assert_rejected(save('bad9.ckpt', g, c0), 'G.mlp.model.0.fc.bias', 'F16',
                             flags=('--fp16',))

        # F16 and F64 checkpoints are read and converted.
        g = collections.OrderedDict((k, v.half() if 'mlp' in k else v.double())
                                    for k, v in g0.items())
        ckpt = save('mixed.ckpt', g, c0)
        meta, tensors = self.convert_ok(ckpt, self.path('mixed.safetensors'))
        self.assertEqual(tensors['G.mlp.model.0.fc.weight'].data,
                         g0['mlp.model.0.fc.weight'].half().float().numpy().tobytes())
        self.assertEqual(tensors['G.decoder.model.2.conv.weight'].data,
                         g0['decoder.model.2.conv.weight'].numpy().tobytes())

    def test_usage(self):
        r = self.run_converter()
        self.assertEqual(r.returncode, 2)
        self.assertIn('usage', r.stderr)
        r = self.run_converter(self.zip_ckpt, self.path('x.safetensors'), '--bogus')
        self.assertEqual(r.returncode, 2)
        self.assertFalse(os.path.exists(self.path('x.safetensors')))
        r = self.run_converter(self.zip_ckpt, self.path('no/such/dir/x.safetensors'))
        self.assertEqual(r.returncode, 1)
        self.assertTrue(r.stderr.startswith(PREFIX), r.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
