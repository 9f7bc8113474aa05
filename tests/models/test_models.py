#!/usr/bin/python3
"""Tests of the default model's looks, paired trainer and evaluation.

Run with Debian's interpreter: /usr/bin/python3 tests/models/test_models.py
(TUNIT_CLI names the built `tunit` tool; evaluate's engine rows need it).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.environ.get('TUNIT_SOURCE_ROOT', os.path.join(HERE, '..', '..'))
TRAIN = os.path.join(SOURCE_ROOT, 'models', 'train')
EVALUATE = os.path.join(SOURCE_ROOT, 'models', 'eval', 'evaluate')
CONVERTER = os.path.join(SOURCE_ROOT, 'models', 'tunit-convert')
CLI = os.environ.get('TUNIT_CLI', os.path.join(SOURCE_ROOT, 'build', 'tunit'))
sys.path.insert(0, TRAIN)
sys.path.insert(0, os.path.join(SOURCE_ROOT, 'tests', 'reference'))

import looks  # noqa: E402
import measures  # noqa: E402
import tunit_torch  # noqa: E402

PLASMA = '/usr/share/wallpapers'


def photographs(n, side, seed):
    """Smooth random pictures with edges: [n, side, side, 3] in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    x = tunit_torch.smooth_images(n, side, side, g, cells=5)
    x = (x + 1) / 2
    # hard-edged blocks, so that lines and flat areas have something to follow
    blocks = torch.rand(n, 3, 4, 4, generator=g)
    x = 0.6 * x + 0.4 * torch.nn.functional.interpolate(blocks, size=(side, side))
    return x.permute(0, 2, 3, 1).numpy().astype(np.float32)


class LooksTest(unittest.TestCase):
    def test_deterministic_and_in_range(self):
        x = photographs(3, 40, 1)
        for k, name in enumerate(looks.NAMES):
            a = looks.apply(k, x)
            b = looks.apply(name, x.copy())
            self.assertEqual(a.shape, x.shape, name)
            self.assertTrue(np.array_equal(a, b), '%s is not deterministic' % name)
            self.assertGreaterEqual(a.min(), 0.0, name)
            self.assertLessEqual(a.max(), 1.0, name)
            # one picture alone gives the same as in a batch; torch as numpy
            single = looks.apply(k, x[1])
            self.assertLess(np.abs(single - a[1]).max(), 1e-5, name)
            t = looks.apply(k, torch.from_numpy(x)).numpy()
            self.assertLess(np.abs(t - a).max(), 1e-5, name)

    def test_structural_looks_depend_on_neighbours(self):
        """A colour look is a function of each pixel's colour alone, so it
        commutes with shuffling the pixels; a structural look (lines, flat
        areas, strokes) depends on the neighbourhood and does not.  Fails if
        a structural look becomes a colour transform or the reverse."""
        x = photographs(4, 48, 2)
        self.assertEqual(len(looks.NAMES), len(looks.STRUCTURAL))
        self.assertGreaterEqual(len(looks.NAMES), 6)
        self.assertGreaterEqual(sum(looks.STRUCTURAL), 4)
        order = np.random.default_rng(0).permutation(48 * 48)

        def shuffle(a):
            return a.reshape(len(a), -1, 3)[:, order].reshape(a.shape)

        for k, name in enumerate(looks.NAMES):
            gap = np.abs(looks.apply(k, shuffle(x)) - shuffle(looks.apply(k, x))).mean()
            if looks.STRUCTURAL[k]:
                self.assertGreater(gap, 0.03, '%s works pixel by pixel' % name)
            else:
                self.assertLess(gap, 1e-5, name)

    def test_unknown_look(self):
        with self.assertRaises(ValueError):
            looks.apply('sepia', np.zeros((4, 4, 3), np.float32))

    def test_measures(self):
        x = photographs(2, 16, 3)
        self.assertTrue(np.allclose(measures.l1(x, x), 0))
        # the structure error ignores each channel's gain and offset
        y = (0.5 * x + 0.2).clip(0, 1)
        self.assertLess(measures.structure_l1(y, x).max(), 1e-4)
        self.assertGreater(measures.l1(y, x).min(), 0.01)


class PairedTrainerAndEvaluateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='tunit-models-test-')

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def run_ok(self, cmd, timeout=300):
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        self.assertEqual(done.returncode, 0, done.stdout[-2000:] + done.stderr[-2000:])
        return done

    def train_tiny(self):
        if os.path.exists(self.path('run/model_6.ckpt')):
            return
        photos = photographs(6, 40, 4)
        rendered = np.stack([looks.apply(k, photos) for k in range(len(looks.NAMES))])
        u8 = lambda a: np.round(a * 255).astype(np.uint8)  # noqa: E731
        test = photographs(4, 32, 5)
        np.savez(self.path('tiny.npz'), train=u8(photos), train_looks=u8(rendered),
                 look_names=np.array(looks.NAMES), test=u8(test))
        trainer = os.path.join(TRAIN, 'train-tunit')
        common = [sys.executable, trainer, '--mode', 'paired', '--data', self.path('tiny.npz'),
                  '--out', self.path('run'), '--device', 'cpu', '--threads', '1',
                  '--img-size', '32', '--nf', '8', '--style-dim', '8', '--mlp-dim', '32',
                  '--guide-widths', '8,8,8,8,16,16,16,16', '--crop', '32', '--batch', '4',
                  '--w-adv', '0.1', '--r1-every', '2', '--ckpt-every', '1e9',
                  '--references', os.path.join(SOURCE_ROOT, 'models', 'references'),
                  '--check-crops', '2', '--sample-crops', '1']
        self.run_ok(common + ['--iters', '3'])
        # a second leg continues the first from its checkpoint
        self.run_ok(common + ['--iters', '6', '--resume', self.path('run/model_3.ckpt')])

    def test_paired_training_moves_every_network_and_converts(self):
        self.train_tiny()
        first = torch.load(self.path('run/model_3.ckpt'), weights_only=False)
        last = torch.load(self.path('run/model_6.ckpt'), weights_only=False)
        self.assertEqual(last['epoch'], 6)
        for net in ('G_state_dict', 'C_state_dict', 'D_state_dict', 'G_EMA_state_dict'):
            # weights only: BatchNorm statistics change without a step
            moved = [k for k, v in last[net].items()
                     if v.is_floating_point() and 'running_' not in k
                     and not torch.equal(v, first[net][k])]
            self.assertTrue(moved, '%s did not change in the second leg' % net)
        with open(self.path('run/train.log')) as f:
            log = f.read()
        self.assertIn('held-out EMA l1', log)
        self.assertTrue(os.path.exists(self.path('run/sample_6.png')))
        self.run_ok([sys.executable, CONVERTER, self.path('run/model_6.ckpt'),
                     self.path('tiny.safetensors')])
        meta, G, C, _ = tunit_torch.load_model_file(self.path('tiny.safetensors'))
        self.assertEqual(meta['tunit.img_size'], '32')
        self.assertEqual(meta['tunit.num_domains'], str(len(looks.NAMES)))
        self.assertEqual(G.n_downs, 1)

    def test_paired_mode_needs_rendered_looks(self):
        np.savez(self.path('plain.npz'), train=np.zeros((2, 40, 40, 3), np.uint8))
        done = subprocess.run([sys.executable, os.path.join(TRAIN, 'train-tunit'), '--mode',
                               'paired', '--data', self.path('plain.npz'), '--out',
                               self.path('never')], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn('train_looks', done.stderr)
        self.assertNotIn('Traceback', done.stderr)

    def photo_folder(self):
        folder = self.path('photos')
        if not os.path.isdir(folder):
            os.makedirs(folder)
            for name in ('Path', 'BytheWater'):
                src = os.path.join(PLASMA, name, 'contents', 'images', '640x480.jpg')
                self.assertTrue(os.path.exists(src),
                                '%s missing: apt-get install plasma-workspace-wallpapers' % src)
                os.symlink(src, os.path.join(folder, name + '.jpg'))
            with open(os.path.join(folder, 'notes.txt'), 'w') as f:
                f.write('not a photograph\n')
        return folder

    def test_evaluate_on_a_folder_of_debian_photographs(self):
        """The shipped model, on photographs of a package the trainer never
        used: the JSON has every method x look x metric, the averages, the
        clustering accuracy, the looks and the engine beside PyTorch."""
        model = os.path.join(SOURCE_ROOT, 'models', 'default.safetensors')
        out = self.path('eval.json')
        self.run_ok([sys.executable, EVALUATE, '--model', model, '--photos', self.photo_folder(),
                     '--json', out, '--crops-per-photo', '2', '--classifier-steps', '10',
                     '--classifier-crops-per-photo', '3',
                     '--engine', CLI, '--engine-crops', '1'])
        with open(out) as f:
            r = json.load(f)
        self.assertEqual([d['name'] for d in r['looks']], list(looks.NAMES))
        self.assertEqual([d['structural'] for d in r['looks']], list(looks.STRUCTURAL))
        for method in ('tunit_reference', 'tunit_centroid', 'input', 'colour_transfer',
                       'colour_transfer_domain'):
            for name in looks.NAMES:
                m = r[method][name]
                self.assertEqual(set(m), {'l1', 'psnr', 'structure_l1', 'look_recognised'})
                self.assertTrue(0 <= m['l1'] <= 1 and 0 <= m['look_recognised'] <= 1)
            self.assertIn('structural', r['averages'][method])
        self.assertTrue(0 <= r['clustering_accuracy'] <= 1)
        self.assertEqual(r['crops'], 4)
        self.assertEqual(sorted(r['photos']), ['BytheWater.jpg', 'Path.jpg'])
        # the untouched input's numbers, computed here from the same crops
        self.assertGreater(r['input']['mono']['l1'], 0.0)
        # engine and PyTorch run the same network
        self.assertLess(r['engine']['max_abs_diff_vs_torch'], 1e-3)
        self.assertAlmostEqual(r['engine']['tunit_reference_engine']['l1'],
                               r['engine']['tunit_reference_torch']['l1'], places=3)

    def test_evaluate_refuses_a_folder_without_photographs(self):
        empty = self.path('empty')
        os.makedirs(empty, exist_ok=True)
        model = os.path.join(SOURCE_ROOT, 'models', 'default.safetensors')
        done = subprocess.run([sys.executable, EVALUATE, '--model', model, '--photos', empty,
                               '--engine-crops', '0'], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn('no JPEG or PNG', done.stderr)
        self.assertNotIn('Traceback', done.stderr)


if __name__ == '__main__':
    unittest.main(verbosity=2)
