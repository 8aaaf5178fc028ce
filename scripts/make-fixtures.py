"""Regenerates the numpy-written fixtures in __test__/fixtures/ (committed, so
`npm test` runs without numpy). Run: python3 scripts/make-fixtures.py

raw/    files written by np.memmap: every dtype, both byte orders, both orders,
        several offsets; manifest.json lists each with its values.
npy/    .npy files written by np.lib.format.open_memmap: every dtype, both byte
        orders, both orders, versions 1.0/2.0/3.0, 0-d, empty, a 0 in the shape.
repr.json  numpy's repr of assorted arrays (the oracle for util.inspect).
"""
import json
import os
import shutil
import sys
import warnings

import numpy as np
from numpy.lib.format import open_memmap

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '__test__', 'fixtures')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_json import DTYPES, sample, to_json  # noqa: E402


def main():
    for sub in ('raw', 'npy'):
        shutil.rmtree(os.path.join(HERE, sub), ignore_errors=True)
        os.makedirs(os.path.join(HERE, sub))

    raw = []
    for descr in DTYPES:
        for order in 'CF':
            for offset in ((0, 3, 16) if descr in ('<f4', '>i2') else (3,)):
                name = f"{descr.replace('<', 'le-').replace('>', 'be-').replace('|', '')}-{order}-{offset}.bin"
                path = os.path.join(HERE, 'raw', name)
                data = sample(descr, (3, 4))
                fp = np.memmap(path, dtype=descr, mode='w+', shape=(3, 4), order=order, offset=offset)
                fp[:] = data
                fp.flush()
                del fp
                raw.append({'file': name, 'dtype': descr, 'str': str(np.dtype(descr)), 'shape': [3, 4],
                            'order': order, 'offset': offset, 'values': to_json(data)})
    with open(os.path.join(HERE, 'raw', 'manifest.json'), 'w') as f:
        json.dump(raw, f, indent=0)

    npy = []
    cases = []
    for descr in DTYPES:
        for fortran in (False, True):
            cases.append((descr, (3, 4), fortran, None))
    cases += [('<f8', (), False, None), ('<i4', (0,), False, None), ('<f4', (2, 0, 3), False, None),
              ('<f4', (2, 3), False, (2, 0)), ('<f4', (2, 3), False, (3, 0)), ('>u2', (5,), True, (2, 0)),
              ('<f8', (7,), False, None), ('|b1', (1, 1, 1), False, None)]
    for i, (descr, shape, fortran, version) in enumerate(cases):
        name = f"{i:03d}.npy"
        path = os.path.join(HERE, 'npy', name)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            m = open_memmap(path, mode='w+', dtype=descr, shape=shape, fortran_order=fortran, version=version)
        data = sample(descr, shape)
        if m.size:
            m[...] = data
        m.flush()
        del m
        npy.append({'file': name, 'dtype': descr, 'str': str(np.dtype(descr)), 'shape': list(shape),
                    'fortranOrder': fortran, 'version': list(version) if version else None,
                    'values': to_json(data)})
    with open(os.path.join(HERE, 'npy', 'manifest.json'), 'w') as f:
        json.dump(npy, f, indent=0)

    reprs = []
    for expr in REPR_CASES:
        a = np.asarray(eval(expr, {'np': np}))
        reprs.append({'expr': expr, 'dtype': a.dtype.str, 'shape': list(a.shape),
                      'bytes': a.tobytes(order='C').hex(), 'repr': repr(a.view(np.memmap))})
    with open(os.path.join(HERE, 'repr.json'), 'w') as f:
        json.dump(reprs, f, indent=0)


REPR_CASES = [
    "np.arange(12, dtype='f4').reshape(3, 4)",
    "np.zeros((3, 4), dtype='f4')",
    "np.arange(8, dtype='f4') + 4",
    "np.array([0.5, 1.25, -3])",
    "np.array([1e-5, 1.5e-5, 1], dtype='f4')",
    "np.array([1e10, 1])",
    "np.array(1.5, dtype='f4')",
    "np.array([], dtype='f4')",
    "np.zeros((0, 3), dtype='i8')",
    "np.arange(30)",
    "np.arange(2000, dtype='f4')",
    "np.arange(2000).reshape(2, 1000)",
    "np.arange(3000, dtype='i2').reshape(10, 10, 30)",
    "np.array([True, False])",
    "np.array(True)",
    "np.array([1 + 2j, 3 - 1j], dtype='c8')",
    "np.array([0.5 - 2.25j, -3 + 1e-3j])",
    "np.array([np.nan, 1, -np.inf], dtype='f4')",
    "np.array([np.nan, np.inf])",
    "np.array([0.1, 0.2], dtype='f4')",
    "np.array([1, 2], dtype='>f4')",
    "np.array([1, -2], dtype='i2')",
    "np.array([1, 2], dtype='>i8')",
    "np.array([1.5, 2], dtype='f2')",
    "np.array([-0.0, 2])",
    "np.array(3, dtype='i8')",
    "np.array([1 / 3, 2 / 3])",
    "np.array([123456789.0, 1.0])",
    "np.array([1e-5, 1e5])",
    "np.array([2**64 - 1, 0], dtype='u8')",
    "np.array([-2**63, 2**63 - 1], dtype='i8')",
    "np.linspace(-1, 1, 24, dtype='f4').reshape(2, 3, 4)",
    "np.arange(100, dtype='u1')",
    "np.array([3.14159265358979, 2.718281828], dtype='f8')",
    "np.array([65504, 6.1e-5, 1e-7], dtype='f2')",
    "np.arange(24, dtype='f8').reshape(2, 3, 4) / 7",
    "np.ones((2, 2, 2, 2), dtype='?')",
]


if __name__ == '__main__':
    main()
