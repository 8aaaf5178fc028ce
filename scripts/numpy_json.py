"""Shared by the fixture generator and the live numpy tests: the dtypes under
test, deterministic sample data, and a JSON form of values that JavaScript
compares exactly (64-bit integers as strings, complex as [re, im])."""
import numpy as np

DTYPES = ['|b1', '|i1', '|u1', '<i2', '>i2', '<u2', '>u2', '<i4', '>i4', '<u4', '>u4',
          '<i8', '>i8', '<u8', '>u8', '<f2', '>f2', '<f4', '>f4', '<f8', '>f8',
          '<c8', '>c8', '<c16', '>c16']


# Bytes, unicode, void, datetime64 and timedelta64 (issue 4, first part).
EXTRA_DTYPES = ['|S5', '<U3', '>U3', '|V4', '<M8[ns]', '>M8[s]', '<M8[D]', '<M8[us]', '<m8[h]', '>m8[ms]',
                # Multiples of a unit.
                '<M8[10s]', '>M8[3M]', '<M8[2W]', '<m8[250ms]', '>m8[7D]']


def sample(descr, shape, seed=None):
    """Values of every sign and size the dtype holds, in the given shape."""
    dt = np.dtype(descr)
    n = int(np.prod(shape)) if len(shape) else 1
    rng = np.random.default_rng(seed) if seed is not None else None
    base = np.arange(n, dtype=np.float64) if rng is None else rng.integers(-1000, 1000, n).astype(np.float64)
    ints = base.astype(np.int64)
    if dt.kind == 'S':
        words = [b'', b'a', b'ab\x00c', b'xyz\x7f\x80', b"it's", b'\x00\x00z']
        out = np.array([words[int(i) % len(words)] for i in ints], dtype=dt)
    elif dt.kind == 'U':
        words = ['', 'a', '\u00e9t\u00e9', '\U0001f600!', 'x\x00y', "it's"]
        out = np.array([words[int(i) % len(words)] for i in ints], dtype=dt)
    elif dt.kind == 'V':
        out = np.array([bytes([(int(i) * 37 + k) % 256 for k in range(dt.itemsize)]) for i in ints], dtype=dt)
    elif dt.kind in 'Mm':
        vals = (np.abs(ints) * 1000 + 123) * np.where(ints % 2 == 0, 1, -1)
        out = vals.astype('<i8').view('<' + dt.str[1:]).astype(dt)
        if n >= 2:
            out[1] = np.datetime64('NaT') if dt.kind == 'M' else np.timedelta64('NaT')
    elif dt.kind == 'b':
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
    if a.dtype.names is not None:
        if a.ndim == 0:
            return {name: to_json(a[name]) for name in a.dtype.names}
        return [to_json(x) for x in a]
    kind = a.dtype.kind

    def one(x):
        if kind == 'S':
            return list(bytes(x))
        if kind == 'V':
            return list(bytes(x))
        if kind == 'U':
            return str(x)
        if kind in 'Mm':
            return str(int(np.asarray(x).view('i8')))
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
