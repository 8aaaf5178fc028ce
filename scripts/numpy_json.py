"""Shared by the fixture generator and the live numpy tests: the dtypes under
test, deterministic sample data, and a JSON form of values that JavaScript
compares exactly (64-bit integers as strings, complex as [re, im])."""
import numpy as np

DTYPES = ['|b1', '|i1', '|u1', '<i2', '>i2', '<u2', '>u2', '<i4', '>i4', '<u4', '>u4',
          '<i8', '>i8', '<u8', '>u8', '<f2', '>f2', '<f4', '>f4', '<f8', '>f8',
          '<c8', '>c8', '<c16', '>c16']


def sample(descr, shape, seed=None):
    """Values of every sign and size the dtype holds, in the given shape."""
    dt = np.dtype(descr)
    n = int(np.prod(shape)) if len(shape) else 1
    rng = np.random.default_rng(seed) if seed is not None else None
    base = np.arange(n, dtype=np.float64) if rng is None else rng.integers(-1000, 1000, n).astype(np.float64)
    if dt.kind == 'b':
        out = (base % 3 == 0)
    elif dt.kind in 'iu':
        info = np.iinfo(dt)
        vals = (base - 5) * 7 if dt.kind == 'i' else np.abs(base) * 3
        out = np.clip(vals, info.min, info.max).astype(dt)
        if n >= 2:
            out[0] = info.max
            out[1] = info.min
    elif dt.kind == 'f':
        out = ((base - 5) * 1.25).astype(dt)
        if n >= 3:
            out[2] = 0.1
    else:
        out = ((base - 5) * 1.5 + 1j * (base * 0.5)).astype(dt)
    return np.asarray(out, dtype=dt).reshape(shape)


def to_json(a):
    """Nested lists; bigint-safe and exact."""
    a = np.asarray(a)
    kind = a.dtype.kind

    def one(x):
        if kind == 'b':
            return bool(x)
        if kind in 'iu':
            return str(int(x)) if a.dtype.itemsize == 8 else int(x)
        if kind == 'c':
            return [float(x.real), float(x.imag)]
        return float(x)

    if a.ndim == 0:
        return one(a[()])
    return [to_json(x) if a.ndim > 1 else one(x) for x in a]
