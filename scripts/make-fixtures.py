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


if __name__ == '__main__':
    main()
