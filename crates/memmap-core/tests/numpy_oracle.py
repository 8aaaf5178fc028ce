"""numpy as the oracle of the reduction engine.

Writes reduction cases computed by numpy: the input's bytes (a view of a base
buffer: contiguous, Fortran order, strided, reversed, a field of a record,
broadcast, transposed), the operation, axes, ddof, initial and where mask,
and numpy's result bytes (or the error numpy raises). Float results also
carry a precise value (the same reduction in long double), because numpy's
float16/float32 sums accumulate in their own dtype: the engine must be at
least as close to the precise value as numpy is.

    python3 numpy_oracle.py OUT [--cases N] [--seed S]

tests/numpy_oracle.rs runs it live (MEMMAP_REQUIRE_NUMPY=1 makes a missing
numpy a failure) and reads the committed tests/fixtures/numpy_reductions.txt,
made by: python3 numpy_oracle.py tests/fixtures/numpy_reductions.txt --cases 700
"""

import sys
import warnings

import numpy as np

warnings.simplefilter("ignore")
np.seterr(all="ignore")

KINDS = ["b1", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "c8", "c16", "M8", "m8"]
OPS = ["sum", "prod", "mean", "min", "max", "argmin", "argmax", "var", "std", "any", "all", "count_nonzero"]
VIEWS = ["contiguous", "fortran", "strided", "reversed", "field", "broadcast", "transposed"]
SHAPES = [(), (1,), (0,), (7,), (33,), (3, 4), (5, 1), (0, 3), (4, 0), (2, 3, 4), (6, 1, 5), (3, 2, 2, 3), (17, 4), (9, 16)]


def numpy_dtype(kind, order):
    if kind in ("M8", "m8"):
        return np.dtype(order + kind + "[s]")
    if kind == "b1":
        return np.dtype("?")
    return np.dtype(order + kind)


def values(rng, dt, n, special):
    k = dt.kind
    if k == "b":
        return rng.integers(0, 2, n).astype(bool)
    if k in "iu":
        info = np.iinfo(dt)
        if rng.random() < 0.5:
            v = rng.integers(-3, 4, n)
            if k == "u":
                v = np.abs(v)
            return v.astype(dt)
        return rng.integers(info.min, info.max, n, dtype=np.int64 if k == "i" else np.uint64, endpoint=True).astype(dt)
    if k in "mM":
        v = rng.integers(-1000, 1000, n).astype(np.int64)
        if special:
            v[rng.random(n) < 0.15] = np.iinfo(np.int64).min
        return v.view(dt.newbyteorder("=")).astype(dt)
    real = np.where(rng.random(n) < 0.5, rng.integers(-3, 4, n), (rng.random(n) - 0.5) * 2000)
    if special:
        pick = rng.random(n)
        real = np.where(pick < 0.05, np.nan, real)
        real = np.where((pick >= 0.05) & (pick < 0.08), np.inf, real)
        real = np.where((pick >= 0.08) & (pick < 0.11), -np.inf, real)
        real = np.where((pick >= 0.11) & (pick < 0.14), -0.0, real)
    if k == "c":
        imag = np.where(rng.random(n) < 0.5, 0, rng.integers(-3, 4, n))
        return (real + 1j * imag).astype(dt)
    return real.astype(dt)


def make_view(rng, kind_of_view, dt, shape, special):
    """A view of a base array; returns (view, base bytes as uint8 array)."""
    count = int(np.prod(shape)) if shape else 1
    if shape == ():
        # Indexing a 0-d view gives a scalar, not a view: every kind is the plain one.
        kind_of_view = "field" if kind_of_view == "field" else "contiguous"
    if kind_of_view == "field":
        rec = np.dtype([("pad", "u1"), ("x", dt), ("tail", "u1", (2,))])
        base = np.zeros(max(count, 1), dtype=rec)
        base["x"] = values(rng, dt, max(count, 1), special)
        base["pad"] = rng.integers(0, 255, max(count, 1))
        view = base["x"][:count].reshape(shape)
        return view, base.view(np.uint8).reshape(-1)
    if kind_of_view == "strided":
        big = tuple(2 * n + 1 for n in shape)
        base = values(rng, dt, int(np.prod(big)) if big else 1, special).reshape(big)
        view = base[tuple(slice(1, None, 2) for _ in shape)]
        return view, base.reshape(-1).view(np.uint8)
    if kind_of_view == "broadcast" and len(shape) > 0:
        small = values(rng, dt, int(np.prod(shape[1:])) if len(shape) > 1 else 1, special).reshape(shape[1:])
        view = np.broadcast_to(small, shape)
        return view, small.reshape(-1).view(np.uint8)
    base = values(rng, dt, count, special)
    if kind_of_view == "fortran":
        view = np.asfortranarray(base.reshape(shape))
        return view, view.T.reshape(-1).view(np.uint8)
    if kind_of_view == "transposed":
        t = base.reshape(tuple(reversed(shape)))
        return t.T, base.view(np.uint8)
    view = base.reshape(shape)
    if kind_of_view == "reversed":
        view = view[tuple(slice(None, None, -1) for _ in shape)]
    return view, base.view(np.uint8)


def offset_of(view, base):
    if view.size == 0:
        return 0
    return view.__array_interface__["data"][0] - base.__array_interface__["data"][0]


def hexbytes(a):
    return np.ascontiguousarray(a).view(np.uint8).tobytes().hex() or "-"


RESULT_CODE = {
    "b": "b1", "i": "i", "u": "u", "f": "f", "c": "c", "m": "m8", "M": "M8",
}


def code_of(dt):
    if dt.kind == "b":
        return "b1"
    if dt.kind in "mM":
        return dt.kind + "8"
    return dt.kind + str(dt.itemsize)


def call(a, op, axis, ddof, initial, where, dtype=None):
    kw = {}
    if where is not None:
        kw["where"] = where
    if initial is not None:
        kw["initial"] = initial
    if dtype is not None:
        kw["dtype"] = dtype
    if op == "count_nonzero":
        return np.count_nonzero(a, axis=axis)
    if op in ("var", "std"):
        return getattr(np, op)(a, axis=axis, ddof=ddof, **kw)
    if op in ("argmin", "argmax"):
        return getattr(np, op)(a, axis=axis)
    return getattr(np, op)(a, axis=axis, **kw)


def precise(a, op, axis, ddof, initial, where, result_dtype):
    """The reduction in long double (complex long double), cast to the result
    dtype, and the scale of its rounding error as float64: the mean of |x|
    (times the count for sums) or, for var/std, the mean of |x|^2."""
    if a.dtype.kind not in "fc" and op not in ("mean", "var", "std"):
        return None, None
    if op not in ("sum", "prod", "mean", "var", "std"):
        return None, None
    wide = a.astype(np.clongdouble if a.dtype.kind == "c" else np.longdouble)
    r = call(wide, op, axis, ddof, initial, where)
    kw = {} if where is None else {"where": where}
    if op in ("sum", "mean"):
        scale = np.sum(np.abs(wide), axis=axis, **kw)
        if op == "mean":
            scale = np.mean(np.abs(wide), axis=axis, **kw)
    elif op in ("var", "std"):
        scale = np.mean(np.abs(wide) ** 2, axis=axis, **kw)
    else:
        scale = None
    if scale is not None:
        scale = np.nan_to_num(np.asarray(scale).astype(np.float64), nan=0.0)
    return np.asarray(r).astype(result_dtype), scale


def case_lines(rng, kind, order, view_kind, shape, op):
    dt = numpy_dtype(kind, order)
    special = rng.random() < 0.4
    view, base = make_view(rng, view_kind, dt, shape, special)
    ndim = len(shape)
    choices = [None]
    if ndim >= 1:
        choices.append(int(rng.integers(0, ndim)))
    if ndim >= 2 and op not in ("argmin", "argmax"):
        choices.append(tuple(sorted(rng.choice(ndim, 2, replace=False).tolist())))
        choices.append(())
    out = []
    for axis in choices:
        ddof = float(rng.integers(0, 3)) if op in ("var", "std") else 0.0
        initial = None
        where = None
        mask_lines = "mask -"
        if op in ("sum", "prod", "mean", "min", "max", "var", "std", "any", "all") and ndim >= 1 and rng.random() < 0.3:
            mshape = tuple(n if (i % 2 == 1 or rng.random() < 0.5) else 1 for i, n in enumerate(shape))
            m = rng.random(mshape) < 0.7
            where = np.broadcast_to(m, shape)
            mbase = m.reshape(-1).view(np.uint8)
            mask_lines = "mask %s %d %s" % (hexbytes(mbase), offset_of(where, m.view(np.uint8)) if where.size else 0,
                                            " ".join(str(s) for s in where.strides))
            if op in ("min", "max"):
                initial = 1 if dt.kind in "iub" else 0.5
                if dt.kind == "b":
                    initial = True
                if dt.kind in "mM":
                    initial = np.array(1, dtype=dt)
        elif op in ("sum", "prod") and rng.random() < 0.2 and dt.kind not in "mMb":
            initial = 2 if dt.kind in "iu" else 1.5
        try:
            r = call(view, op, axis, ddof, initial, where)
            r = np.asarray(r)
            if op == "count_nonzero":
                r = r.astype(np.int64)
            result = "result %s %s" % (code_of(r.dtype), hexbytes(r.astype(r.dtype.newbyteorder("="))))
            p, scale = precise(view, op, axis, ddof, initial, where, r.dtype)
            result += " %s" % (hexbytes(p.astype(p.dtype.newbyteorder("="))) if p is not None else "-")
            result += " %s" % (hexbytes(scale) if scale is not None else "-")
        except (ValueError, TypeError) as e:
            text = str(e)
            if "zero-size" in text or "empty sequence" in text or "identity" in text:
                result = "error EmptyReduction"
            else:
                result = "error InvalidDtype"
        if isinstance(initial, np.ndarray):
            init = "initial i %d" % int(initial.astype(np.int64))
        elif initial is None:
            init = "initial -"
        elif isinstance(initial, (bool, np.bool_)):
            init = "initial b %d" % int(initial)
        elif isinstance(initial, int):
            init = "initial i %d" % initial
        else:
            init = "initial f %r" % float(initial)
        axes = "-" if axis is None else " ".join(str(x) for x in (axis if isinstance(axis, tuple) else (axis,)))
        if axes == "":
            axes = "none"
        out.append("\n".join([
            "case %s %s %s %s" % (kind, "<" if order == "<" else ">", view_kind, op),
            "base %s" % hexbytes(base),
            "view %d %d %s" % (offset_of(view, base), ndim, " ".join(str(x) for x in list(shape) + list(view.strides))),
            "axes %s" % axes,
            "ddof %r" % ddof,
            init,
            mask_lines,
            result,
            "end",
        ]))
    return out


def main():
    args = sys.argv[1:]
    path = args[0]
    cases = int(args[args.index("--cases") + 1]) if "--cases" in args else 0
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 12345
    rng = np.random.default_rng(seed)
    plan = []
    for kind in KINDS:
        for order in (["<", ">"] if kind not in ("b1", "i1", "u1") else ["<"]):
            for view_kind in VIEWS:
                for shape in SHAPES:
                    for op in OPS:
                        plan.append((kind, order, view_kind, shape, op))
    if cases:
        pick = rng.choice(len(plan), min(cases, len(plan)), replace=False)
        plan = [plan[i] for i in sorted(pick)]
    with open(path, "w") as f:
        f.write("# numpy %s reductions, made by numpy_oracle.py (seed %d)\n" % (np.__version__, seed))
        for kind, order, view_kind, shape, op in plan:
            for text in case_lines(rng, kind, order, view_kind, shape, op):
                f.write(text + "\n")


if __name__ == "__main__":
    main()
