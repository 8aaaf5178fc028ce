"""Writes the .npz archives the tests read (issue 17): __test__/fixtures/npz/,
committed so `npm test` runs without numpy; the live tests call the same
functions. Run: python3 scripts/make-npz-fixtures.py [--big] (--big also
writes the 4 GiB archive, sparse, to record big-member.json; a few seconds).

Every archive is written by numpy or by Python's zipfile the way a user's
program would write it; manifest.json lists each archive's members (as
np.load sees them) with their values. The > 4 GiB member cannot be committed:
big-member.json holds the archive's bytes before and after its zeros (numpy
wrote them), from which the test rebuilds it as a sparse file.
"""
import base64
import io
import json
import os
import sys
import zipfile

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '__test__', 'fixtures', 'npz')
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from numpy_json import DTYPES, sample, to_json  # noqa: E402


def info(name, method=zipfile.ZIP_STORED):
    """A member as zipfile.writestr would make it, with a fixed date (so the
    committed bytes do not change each time the script runs)."""
    member = zipfile.ZipInfo(name, date_time=(2021, 6, 1, 12, 30, 0))
    member.compress_type = method
    member.external_attr = (0o40755 << 16) | 0x10 if name.endswith('/') else 0o644 << 16
    return member


def npy_bytes(array):
    out = io.BytesIO()
    np.lib.format.write_array(out, np.asanyarray(array), allow_pickle=False)
    return out.getvalue()


class Unseekable(io.RawIOBase):
    """A stream zipfile cannot seek: it writes data descriptors (flag bit 3)."""

    def __init__(self, sink):
        self.sink = sink

    def writable(self):
        return True

    def write(self, data):
        return self.sink.write(data)


class SparseFile(io.RawIOBase):
    """A file where runs of zero bytes are skipped (holes), for a > 4 GiB member."""

    def __init__(self, path):
        self.f = open(path, 'wb')

    def writable(self):
        return True

    def seekable(self):
        return True

    def write(self, data):
        data = memoryview(data).cast('B')
        if not np.frombuffer(data, dtype='u1').any():
            self.f.seek(len(data), 1)
        else:
            self.f.write(data)
        return len(data)

    def seek(self, offset, whence=0):
        return self.f.seek(offset, whence)

    def tell(self):
        return self.f.tell()

    def flush(self):
        if not self.f.closed:
            self.f.flush()

    def close(self):
        end = self.f.tell()
        self.f.seek(0, 2)
        if self.f.tell() < end:
            self.f.truncate(end)
        self.f.close()
        super().close()


def archives():
    """(file name, writer(path), members) for every committed archive.
    members: {name as np.load lists it: array, or a string saying what it is}."""
    cases = []

    one = {'x': np.arange(5, dtype='<f8')}
    cases.append(('savez-1.npz', lambda p, m=one: np.savez(p, **m), one))

    ten = {f'a{i}': sample('<i4', (i + 1,), seed=i) for i in range(10)}
    cases.append(('savez-10.npz', lambda p, m=ten: np.savez(p, **m), ten))

    many = {f'm{i:04d}': np.array([i, -i], dtype='<i2') for i in range(1000)}
    cases.append(('savez-1000.npz', lambda p, m=many: np.savez(p, **m), many))

    dtypes = {}
    for descr in DTYPES:
        key = descr.replace('<', 'le_').replace('>', 'be_').replace('|', '')
        dtypes[key + '_C'] = sample(descr, (3, 4))
        dtypes[key + '_F'] = np.asfortranarray(sample(descr, (3, 4)))
    cases.append(('dtypes.npz', lambda p, m=dtypes: np.savez(p, **m), dtypes))

    special = {
        'scalar': np.array(2.5),
        'empty': np.zeros((0,), dtype='<i4'),
        'empty3d': np.zeros((2, 0, 3), dtype='<f4'),
        'dir/sub/é': np.arange(4, dtype='<u2').reshape(2, 2),
        'arr_0': np.array([True, False]),
    }
    cases.append(('special.npz', lambda p, m=special: np.savez(p, **m), special))

    compressed = {'x': np.arange(1000, dtype='<f8'), 'y': sample('<i8', (4, 5)), 'z': np.zeros((0, 2))}
    cases.append(('compressed.npz', lambda p, m=compressed: np.savez_compressed(p, **m), compressed))

    # mmnpz's NpzWriter: zipf.open(name + '.npy', 'w', force_zip64=True), then
    # more members appended in zipfile's mode 'a'.
    first = {'a': np.arange(6, dtype='<f4').reshape(2, 3)}
    more = {'b': np.array([[9.5], [10.5]]), 'c/d': np.arange(3, dtype='>i4')}

    def mmnpz(path):
        for mode, members in (('w', first), ('a', more)):
            with zipfile.ZipFile(path, mode=mode) as zf:
                for name, array in members.items():
                    with zf.open(name + '.npy', 'w', force_zip64=True) as f:
                        np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)
    cases.append(('mmnpz.npz', mmnpz, {**first, **more}))

    # zipfile.writestr: no ZIP64 extra field, today's date, 0o600 unset.
    plain = {'x': sample('<f4', (7,)), 'y': np.arange(3, dtype='<u8')}

    def writestr(path):
        with zipfile.ZipFile(path, 'w') as zf:
            for name, array in plain.items():
                zf.writestr(info(name + '.npy'), npy_bytes(array))
            zf.writestr(info('notes.txt'), b'not an array\n')
            zf.writestr(info('sub/'), b'')
            zf.writestr(info('raw.npy'), b'plain bytes, named .npy')
    cases.append(('writestr.npz', writestr,
                  {**plain, 'notes.txt': 'not npy', 'sub/': 'directory', 'raw': 'not npy'}))

    # Written to a stream zipfile cannot seek: data descriptors after each member.
    streamed = {'x': np.arange(10, dtype='<i8'), 'y': sample('<c8', (2, 2))}

    def stream(path):
        with open(path, 'wb') as sink:
            with zipfile.ZipFile(Unseekable(sink), 'w') as zf:
                for name, array in streamed.items():
                    with zf.open(name + '.npy', 'w', force_zip64=True) as f:
                        f.write(npy_bytes(array))
    cases.append(('stream.npz', stream, streamed))

    # An archive comment, and bytes before the archive (a stub: zipfile's "concat").
    commented = {'x': np.arange(4, dtype='<f8')}

    def comment(path):
        np.savez(path, **commented)
        with zipfile.ZipFile(path, 'a') as zf:
            zf.comment = b'an archive comment, which zipfile writes after the end record'

    def prefixed(path):
        inner = io.BytesIO()
        np.savez(inner, **commented)
        with open(path, 'wb') as f:
            f.write(b'#!/bin/sh\necho stub\n' * 7)
            f.write(inner.getvalue())
    cases.append(('comment.npz', comment, commented))
    cases.append(('prefixed.npz', prefixed, commented))

    # Other compression methods, and an encrypted member (flag bit 0 set by hand:
    # zipfile cannot encrypt; its bytes are stored and the flag is all that matters).
    other = {'x': np.arange(3, dtype='<f8')}

    def methods(path):
        with zipfile.ZipFile(path, 'w') as zf:
            zf.writestr(info('bz.npy', zipfile.ZIP_BZIP2), npy_bytes(other['x']))
            zf.writestr(info('xz.npy', zipfile.ZIP_LZMA), npy_bytes(other['x']))
            zf.writestr(info('x.npy'), npy_bytes(other['x']))
            zf.writestr(info('secret.npy'), npy_bytes(other['x']))
        data = bytearray(open(path, 'rb').read())
        for sig, flag_at in ((b'PK\x03\x04', 6), (b'PK\x01\x02', 8)):
            at = 0
            while True:
                at = data.find(sig, at)
                if at < 0:
                    break
                name_at = at + (30 if sig == b'PK\x03\x04' else 46)
                if data[name_at:name_at + 10] == b'secret.npy':
                    data[at + flag_at] |= 1
                at += 4
        open(path, 'wb').write(bytes(data))
    cases.append(('methods.npz', methods,
                  {'bz': 'bzip2', 'xz': 'lzma', **other, 'secret': 'encrypted'}))

    # Two members of one name: np.load gives the last (zipfile's NameToInfo).
    def duplicates(path):
        with zipfile.ZipFile(path, 'w') as zf:
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                zf.writestr(info('x.npy'), npy_bytes(np.array([1, 1], dtype='<i4')))
                zf.writestr(info('x.npy'), npy_bytes(np.array([2, 2], dtype='<i4')))
    cases.append(('duplicates.npz', duplicates, {'x': np.array([2, 2], dtype='<i4')}))
    return cases


def describe(members, archive_path):
    # NpzFile, as np.load opens an archive (np.load itself looks at the first
    # bytes, so it refuses an archive with a stub in front; zipfile does not).
    with open(archive_path, 'rb') as f, np.lib.npyio.NpzFile(f) as loaded:
        files = list(loaded.files)
        for name, value in members.items():
            if not isinstance(value, str):
                assert np.array_equal(loaded[name], value, equal_nan=False), name
    out = []
    for name, value in members.items():
        if isinstance(value, str):
            out.append({'name': name, 'kind': value})
            continue
        a = np.asanyarray(value)
        out.append({'name': name, 'kind': 'array', 'str': str(a.dtype),
                    'descr': a.dtype.str, 'shape': list(a.shape), 'fortranOrder': bool(a.flags.f_contiguous and not a.flags.c_contiguous),
                    'values': to_json(a)})
    return files, out


def write_big(path, n=2**32 + 24):
    """np.savez of a > 4 GiB member, written sparse (the zeros are holes)."""
    big = np.zeros(n, dtype='u1')
    big[-3:] = [1, 2, 3]
    f = SparseFile(path)
    np.savez(f, small=np.arange(3, dtype='<i4'), big=big, after=np.array([7.5]))
    f.close()
    return big


def big_fixture(path):
    """The bytes of the big archive around its zeros, and where the zeros are."""
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        data_start = None
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo('big.npy')
            f.seek(info.header_offset + 26)
            name_len, extra_len = np.frombuffer(f.read(4), '<u2')
            data_start = info.header_offset + 30 + int(name_len) + int(extra_len)
        head_end = data_start + 128
        tail_start = data_start + info.file_size - 3
        f.seek(0)
        head = f.read(head_end)
        f.seek(tail_start)
        tail = f.read()
    return {'size': size, 'head': base64.b64encode(head).decode(), 'tailStart': tail_start,
            'tail': base64.b64encode(tail).decode()}


def main():
    os.makedirs(HERE, exist_ok=True)
    for name in os.listdir(HERE):
        if name != 'big-member.json' or '--big' in sys.argv:
            os.remove(os.path.join(HERE, name))
    manifest = []
    for file, write, members in archives():
        path = os.path.join(HERE, file)
        write(path)
        files, described = describe(members, path)
        with zipfile.ZipFile(path) as zf:
            testzip = zf.testzip() if file != 'methods.npz' else None
        manifest.append({'file': file, 'files': files, 'members': described, 'testzip': testzip})
    with open(os.path.join(HERE, 'manifest.json'), 'w') as f:
        json.dump(manifest, f, indent=0)
    if '--big' in sys.argv:
        big = os.path.join(HERE, 'big.npz')
        write_big(big)
        with open(os.path.join(HERE, 'big-member.json'), 'w') as f:
            json.dump(big_fixture(big), f)
        os.remove(big)


if __name__ == '__main__':
    main()
