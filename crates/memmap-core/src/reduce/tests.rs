//! The engine against a plain reference (element by element, in index
//! order, exact or in compensated f64) on random data: every operation x
//! element kind x byte order x axis set x view kind x mask, tiny units and
//! state budgets so that every split, tiling and lane path runs on small
//! arrays, several thread counts.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::*;

/// xorshift64*: deterministic test data without a dependency.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One element's value, decoded from raw bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Val {
    Int(i64),
    UInt(u64),
    Float(f64),
    Complex(f64, f64),
}

fn native_bytes(element: Element, little: bool, raw: &[u8]) -> Vec<u8> {
    let mut b = raw.to_vec();
    if little != cfg!(target_endian = "little") {
        for part in b.chunks_mut(element.swap_unit()) {
            part.reverse();
        }
    }
    b
}

fn decode(element: Element, little: bool, raw: &[u8]) -> Val {
    let b = native_bytes(element, little, raw);
    match Scalar::read(element, &b) {
        Scalar::Bool(v) => Val::Int(v as i64),
        Scalar::Int(v) => Val::Int(v),
        Scalar::UInt(v) => Val::UInt(v),
        Scalar::Float(v) => Val::Float(v),
        Scalar::Complex(re, im) => Val::Complex(re, im),
    }
}

/// Random element bytes (native order): small values with many repeats
/// (ties for argmin/argmax), full-range values (wraparound), and, with
/// `special`, NaN, infinities, -0.0 and NaT.
fn random_element(rng: &mut Rng, element: Element, special: bool) -> Vec<u8> {
    let size = element.itemsize();
    let wide = rng.below(4) == 0;
    let pick = rng.below(20);
    let small = rng.below(7) as i64 - 3;
    let float = |rng: &mut Rng| -> f64 {
        if special && pick == 0 {
            f64::NAN
        } else if special && pick == 1 {
            f64::INFINITY
        } else if special && pick == 2 {
            f64::NEG_INFINITY
        } else if special && pick == 3 {
            -0.0
        } else if wide {
            (rng.unit() - 0.5) * 1e4
        } else {
            small as f64
        }
    };
    match element {
        Element::Bool => vec![if rng.below(5) == 0 {
            2 + rng.below(200) as u8
        } else {
            rng.below(2) as u8
        }],
        Element::F16 => f64_to_f16(float(rng)).to_ne_bytes().to_vec(),
        Element::F32 => (float(rng) as f32).to_ne_bytes().to_vec(),
        Element::F64 => float(rng).to_ne_bytes().to_vec(),
        Element::C64 => {
            let (re, im) = (
                float(rng) as f32,
                if rng.below(2) == 0 { 0.0 } else { float(rng) as f32 },
            );
            [re.to_ne_bytes(), im.to_ne_bytes()].concat()
        }
        Element::C128 => {
            let (re, im) = (float(rng), if rng.below(2) == 0 { 0.0 } else { float(rng) });
            [re.to_ne_bytes(), im.to_ne_bytes()].concat()
        }
        Element::Datetime | Element::Timedelta if special && pick == 0 => i64::MIN.to_ne_bytes().to_vec(),
        _ => {
            let v: u64 = if wide { rng.next() } else { small as u64 };
            v.to_ne_bytes()[..size].to_vec()
        }
    }
}

/// What the engine should give for one output.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Exact(Scalar),
    /// A float within `tol` (NaN: NaN).
    Near(f64, f64),
    ComplexNear((f64, f64), f64),
    /// Products of huge and tiny values (bit patterns read through field
    /// views) overflow or underflow by the order of multiplication, in
    /// numpy's SIMD loops as here.
    Any,
}

fn ulp(result: Element, v: f64) -> f64 {
    let v = v.abs();
    match result {
        Element::F16 => (v * 2f64.powi(-10)).max(2f64.powi(-24)),
        Element::F32 | Element::C64 => (v * 2f64.powi(-23)).max(1e-45),
        _ => v * 2f64.powi(-52),
    }
}

fn round_to(result: Element, v: f64) -> f64 {
    match result {
        Element::F16 => f16_to_f32(f64_to_f16(v)) as f64,
        Element::F32 | Element::C64 => v as f32 as f64,
        _ => v,
    }
}

/// Compensated f64 sum (the reference's exact-enough total).
fn accurate_sum(xs: impl Iterator<Item = f64>) -> (f64, f64) {
    let mut c = kernels::Compensated::default();
    let mut magnitude = 0.0;
    for x in xs {
        c.add(x);
        magnitude += x.abs();
    }
    (c.value(), magnitude)
}

fn is_nat(v: &Val) -> bool {
    *v == Val::Int(i64::MIN)
}

fn key_less(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => x < y,
        (Val::UInt(x), Val::UInt(y)) => x < y,
        (Val::Float(x), Val::Float(y)) => x < y,
        (Val::Complex(a, b), Val::Complex(c, d)) => a < c || (a == c && b < d),
        _ => unreachable!(),
    }
}

fn val_nan(v: &Val, element: Element) -> bool {
    match v {
        Val::Float(x) => x.is_nan(),
        Val::Complex(re, im) => re.is_nan() || im.is_nan(),
        _ => element.is_time() && is_nat(v),
    }
}

fn to_scalar(v: Val, element: Element) -> Scalar {
    match (v, element) {
        (Val::Int(x), Element::Bool) => Scalar::Bool(x != 0),
        (Val::Int(x), _) => Scalar::Int(x),
        (Val::UInt(x), _) => Scalar::UInt(x),
        (Val::Float(x), _) => Scalar::Float(x),
        (Val::Complex(re, im), _) => Scalar::Complex(re, im),
    }
}

/// numpy's answer for one output over `vals` (with their flat indices),
/// straightforwardly.
fn reference(
    op: Op,
    element: Element,
    result: Element,
    vals: &[(Val, i64)],
    ddof: f64,
    initial: Option<Scalar>,
) -> Expect {
    let f64s = || {
        vals.iter().map(|(v, _)| match v {
            Val::Int(x) => *x as f64,
            Val::UInt(x) => *x as f64,
            Val::Float(x) => *x,
            Val::Complex(..) => unreachable!(),
        })
    };
    let truth = |v: &Val| match v {
        Val::Int(x) => *x != 0,
        Val::UInt(x) => *x != 0,
        Val::Float(x) => *x != 0.0,
        Val::Complex(re, im) => *re != 0.0 || *im != 0.0,
    };
    let bool_norm = |v: Val| {
        if element == Element::Bool {
            Val::Int((v != Val::Int(0)) as i64)
        } else {
            v
        }
    };
    match op {
        Op::Any => Expect::Exact(Scalar::Bool(vals.iter().any(|(v, _)| truth(v)))),
        Op::All => Expect::Exact(Scalar::Bool(vals.iter().all(|(v, _)| truth(v)))),
        Op::CountNonzero => Expect::Exact(Scalar::Int(vals.iter().filter(|(v, _)| truth(v)).count() as i64)),
        Op::Sum | Op::Prod | Op::Mean if element.is_time() => {
            if vals.iter().any(|(v, _)| is_nat(v)) || initial == Some(Scalar::Int(i64::MIN)) {
                return Expect::Exact(Scalar::Int(i64::MIN));
            }
            let mut s = match initial {
                Some(Scalar::Int(v)) => v,
                _ => 0,
            };
            for (v, _) in vals {
                let Val::Int(x) = v else { unreachable!() };
                s = s.wrapping_add(*x);
            }
            if op == Op::Mean {
                if vals.is_empty() || s == i64::MIN {
                    return Expect::Exact(Scalar::Int(i64::MIN));
                }
                return Expect::Exact(Scalar::Int((s as i128 / vals.len() as i128) as i64));
            }
            Expect::Exact(Scalar::Int(s))
        }
        Op::Sum | Op::Prod if !element.is_float() && !element.is_complex() => {
            let init = match initial {
                Some(Scalar::Int(v)) => v as u64,
                Some(Scalar::UInt(v)) => v,
                _ => (op == Op::Prod) as u64,
            };
            let mut acc = init;
            for (v, _) in vals {
                let x = match bool_norm(*v) {
                    Val::Int(x) => x as u64,
                    Val::UInt(x) => x,
                    _ => unreachable!(),
                };
                acc = if op == Op::Sum {
                    acc.wrapping_add(x)
                } else {
                    acc.wrapping_mul(x)
                };
            }
            Expect::Exact(if result == Element::U64 {
                Scalar::UInt(acc)
            } else {
                Scalar::Int(acc as i64)
            })
        }
        Op::Sum | Op::Mean if element.is_complex() => {
            let init = match initial {
                Some(Scalar::Complex(re, im)) => (re, im),
                Some(Scalar::Float(re)) => (re, 0.0),
                _ => (0.0, 0.0),
            };
            let parts = |k: usize| {
                vals.iter().map(move |(v, _)| match v {
                    Val::Complex(re, im) => [*re, *im][k],
                    _ => unreachable!(),
                })
            };
            let (re, mr) = accurate_sum(parts(0).chain([init.0]));
            let (im, mi) = accurate_sum(parts(1).chain([init.1]));
            let n = if op == Op::Mean { vals.len() as f64 } else { 1.0 };
            // numpy divides by n + 0j (Smith's method): an infinite part
            // makes the other NaN.
            let (re, im) = if op == Op::Mean {
                ((re + im * 0.0) / n, (im - re * 0.0) / n)
            } else {
                (re, im)
            };
            let tol = 4.0 * f64::EPSILON * (mr + mi) / n + ulp(result, re.abs().max(im.abs())) * 2.0;
            Expect::ComplexNear((round_to(result, re), round_to(result, im)), tol)
        }
        Op::Sum | Op::Mean => {
            let init = match initial {
                Some(Scalar::Float(v)) => v,
                Some(Scalar::Int(v)) => v as f64,
                _ => 0.0,
            };
            let (s, magnitude) = accurate_sum(f64s().chain([init]));
            let v = if op == Op::Mean { s / vals.len() as f64 } else { s };
            let scale = if op == Op::Mean { vals.len() as f64 } else { 1.0 };
            let tol = 4.0 * f64::EPSILON * magnitude / scale + ulp(result, v);
            Expect::Near(round_to(result, v), tol)
        }
        Op::Prod if element.is_complex() => {
            let wild = |x: f64| x.is_finite() && x != 0.0 && !(1e-100..1e100).contains(&x.abs());
            if vals
                .iter()
                .any(|(v, _)| matches!(v, Val::Complex(re, im) if wild(*re) || wild(*im)))
            {
                return Expect::Any;
            }
            let mut acc = match initial {
                Some(Scalar::Complex(re, im)) => (re, im),
                _ => (1.0, 0.0),
            };
            for (v, _) in vals {
                let Val::Complex(c, d) = v else { unreachable!() };
                acc = (acc.0 * c - acc.1 * d, acc.0 * d + acc.1 * c);
            }
            if !acc.0.is_finite() || !acc.1.is_finite() {
                // Infinities in complex products give NaN or not by the
                // order of multiplication, in numpy as here.
                return Expect::ComplexNear((f64::NAN, f64::NAN), 0.0);
            }
            let tol = 1e-9 * (acc.0.abs() + acc.1.abs()) + ulp(result, acc.0.abs().max(acc.1.abs())) * 2.0;
            Expect::ComplexNear((round_to(result, acc.0), round_to(result, acc.1)), tol)
        }
        Op::Prod => {
            if f64s().any(|x| x.is_finite() && x != 0.0 && !(1e-100..1e100).contains(&x.abs())) {
                return Expect::Any;
            }
            let mut p = match initial {
                Some(Scalar::Float(v)) => v,
                _ => 1.0,
            };
            for x in f64s() {
                p *= x;
            }
            Expect::Near(round_to(result, p), 1e-12 * p.abs() + ulp(result, p))
        }
        Op::Var | Op::Std => {
            let n = vals.len() as f64;
            let (m2, mean_scale) = if element.is_complex() {
                let re: Vec<f64> = vals
                    .iter()
                    .map(|(v, _)| if let Val::Complex(r, _) = v { *r } else { 0.0 })
                    .collect();
                let im: Vec<f64> = vals
                    .iter()
                    .map(|(v, _)| if let Val::Complex(_, i) = v { *i } else { 0.0 })
                    .collect();
                let (mr, _) = accurate_sum(re.iter().copied());
                let (mi, _) = accurate_sum(im.iter().copied());
                let (mr, mi) = (mr / n, mi / n);
                let (m2, _) = accurate_sum(re.iter().zip(&im).map(|(r, i)| (r - mr).powi(2) + (i - mi).powi(2)));
                (m2, mr.abs() + mi.abs())
            } else {
                let xs: Vec<f64> = f64s().collect();
                let (s, _) = accurate_sum(xs.iter().copied());
                let mean = s / n;
                let (m2, _) = accurate_sum(xs.iter().map(|x| (x - mean).powi(2)));
                (m2, mean.abs())
            };
            let var = m2 / (n - ddof).max(0.0);
            let v = if op == Op::Std { var.sqrt() } else { var };
            // Squares of deviations below 1e-162 underflow (here and in numpy).
            let underflow = 4.0 * n * 5e-324;
            let tol = 1e-9 * (v.abs() + mean_scale * mean_scale * 1e-6)
                + ulp(result, v) * 2.0
                + if op == Op::Std { underflow.sqrt() } else { underflow };
            Expect::Near(round_to(result, v), tol)
        }
        Op::Min | Op::Max | Op::ArgMin | Op::ArgMax => {
            let max = matches!(op, Op::Max | Op::ArgMax);
            let mut best: Option<(Val, i64)> = None;
            if let (Some(init), false) = (initial, matches!(op, Op::ArgMin | Op::ArgMax)) {
                let unsigned = matches!(element, Element::U8 | Element::U16 | Element::U32 | Element::U64);
                let v = match init {
                    Scalar::Bool(b) => Val::Int(b as i64),
                    Scalar::Int(x) if unsigned => Val::UInt(x as u64),
                    Scalar::Int(x) => Val::Int(x),
                    Scalar::UInt(x) => Val::UInt(x),
                    Scalar::Float(x) => Val::Float(x),
                    Scalar::Complex(re, im) => Val::Complex(re, im),
                };
                best = Some((v, -1));
            }
            for &(v, i) in vals {
                let v = bool_norm(v);
                let Some((b, _)) = best else {
                    best = Some((v, i));
                    continue;
                };
                if val_nan(&b, element) {
                    continue;
                }
                let better = val_nan(&v, element) || if max { key_less(&b, &v) } else { key_less(&v, &b) };
                if better {
                    best = Some((v, i));
                }
            }
            let (v, i) = best.expect("non-empty");
            match op {
                Op::ArgMin | Op::ArgMax => Expect::Exact(Scalar::Int(i)),
                _ if element.is_float() => match v {
                    Val::Float(x) if x.is_nan() => Expect::Near(f64::NAN, 0.0),
                    Val::Float(x) => Expect::Exact(Scalar::Float(x)),
                    _ => unreachable!(),
                },
                _ => Expect::Exact(to_scalar(v, element)),
            }
        }
    }
}

fn check(expect: Expect, got: Scalar, what: &dyn Fn() -> String) {
    match (expect, got) {
        (Expect::Any, _) => {}
        (Expect::Exact(Scalar::Float(a)), Scalar::Float(b)) => {
            assert!(
                a == b || (a.is_nan() && b.is_nan()),
                "{}: expected {a}, got {b}",
                what()
            )
        }
        (Expect::Exact(Scalar::Complex(a, b)), Scalar::Complex(c, d)) => {
            let same = |x: f64, y: f64| x == y || (x.is_nan() && y.is_nan());
            assert!(same(a, c) && same(b, d), "{}: expected {a}+{b}j, got {c}+{d}j", what())
        }
        (Expect::Exact(e), g) => assert_eq!(e, g, "{}", what()),
        (Expect::Near(e, tol), Scalar::Float(g)) => {
            let ok = if e.is_nan() {
                g.is_nan()
            } else if e.is_infinite() {
                e == g
            } else {
                (e - g).abs() <= tol
            };
            assert!(ok, "{}: expected {e} (tolerance {tol}), got {g}", what());
        }
        (Expect::ComplexNear((er, ei), tol), Scalar::Complex(gr, gi)) => {
            let near = |e: f64, g: f64| {
                if e.is_nan() {
                    g.is_nan()
                } else if e.is_infinite() {
                    e == g
                } else {
                    (e - g).abs() <= tol
                }
            };
            // numpy's NaN in a complex sum may land in either part; a complex
            // product with infinities is NaN or infinite by the order.
            let any_nan = er.is_nan() || ei.is_nan();
            let ok = if any_nan {
                gr.is_nan() || gi.is_nan() || (tol == 0.0 && (!gr.is_finite() || !gi.is_finite()))
            } else {
                near(er, gr) && near(ei, gi)
            };
            assert!(ok, "{}: expected {er}+{ei}j (tolerance {tol}), got {gr}+{gi}j", what());
        }
        (e, g) => panic!("{}: expected {e:?}, got {g:?}", what()),
    }
}

/// A view over a buffer: element 0's byte offset, shape, strides.
#[derive(Debug, Clone)]
struct Case {
    offset: usize,
    shape: Vec<usize>,
    strides: Vec<isize>,
}

/// The kinds of view every operation is tried on, over a base of `shape`.
fn views(shape: &[usize], itemsize: usize) -> Vec<(&'static str, Case, usize)> {
    let ndim = shape.len();
    let c_strides = |shape: &[usize], item: usize| -> Vec<isize> {
        let mut s = vec![0isize; shape.len()];
        let mut step = item as isize;
        for a in (0..shape.len()).rev() {
            s[a] = step;
            step *= shape[a].max(1) as isize;
        }
        s
    };
    let count: usize = shape.iter().product();
    let mut out = Vec::new();
    // C order.
    out.push((
        "contiguous",
        Case {
            offset: 0,
            shape: shape.to_vec(),
            strides: c_strides(shape, itemsize),
        },
        count * itemsize,
    ));
    // Fortran order.
    let mut f = vec![0isize; ndim];
    let mut step = itemsize as isize;
    for a in 0..ndim {
        f[a] = step;
        step *= shape[a].max(1) as isize;
    }
    out.push((
        "fortran",
        Case {
            offset: 0,
            shape: shape.to_vec(),
            strides: f,
        },
        count * itemsize,
    ));
    // Every other element along each axis, of a base twice as long.
    let base: Vec<usize> = shape.iter().map(|&n| 2 * n).collect();
    let s = c_strides(&base, itemsize);
    out.push((
        "strided",
        Case {
            offset: 0,
            shape: shape.to_vec(),
            strides: s.iter().map(|x| 2 * x).collect(),
        },
        base.iter().product::<usize>() * itemsize,
    ));
    // Reversed along every axis.
    let s = c_strides(shape, itemsize);
    let offset: isize = shape.iter().zip(&s).map(|(&n, &st)| (n.max(1) as isize - 1) * st).sum();
    out.push((
        "reversed",
        Case {
            offset: offset as usize,
            shape: shape.to_vec(),
            strides: s.iter().map(|x| -x).collect(),
        },
        count * itemsize,
    ));
    // A field of a record: itemsize + 3 bytes apart, starting at byte 1 (unaligned).
    let record = itemsize + 3;
    out.push((
        "field",
        Case {
            offset: 1,
            shape: shape.to_vec(),
            strides: c_strides(shape, record),
        },
        count * record + 1,
    ));
    // The first axis broadcast (stride 0) over a base without it.
    if ndim > 0 {
        let mut s = c_strides(shape, itemsize);
        s[0] = 0;
        out.push((
            "broadcast",
            Case {
                offset: 0,
                shape: shape.to_vec(),
                strides: s,
            },
            (count / shape[0].max(1)).max(1) * itemsize,
        ));
    }
    // Transposed (axes reversed), C order underneath.
    let mut rev = shape.to_vec();
    rev.reverse();
    let mut s = c_strides(&rev, itemsize);
    s.reverse();
    out.push((
        "transposed",
        Case {
            offset: 0,
            shape: shape.to_vec(),
            strides: s,
        },
        count * itemsize,
    ));
    out
}

/// Every index tuple of `shape` in C order.
fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let count: usize = shape.iter().product();
    (0..count)
        .map(|mut k| {
            let mut idx = vec![0; shape.len()];
            for a in (0..shape.len()).rev() {
                idx[a] = k % shape[a];
                k /= shape[a];
            }
            idx
        })
        .collect()
}

struct Trial<'a> {
    element: Element,
    little: bool,
    memory: &'a [u8],
    case: &'a Case,
    mask: Option<(&'a [u8], &'a Case)>,
}

impl Trial<'_> {
    fn at(&self, idx: &[usize]) -> Val {
        let off = self.case.offset as isize
            + idx
                .iter()
                .zip(&self.case.strides)
                .map(|(&i, &s)| i as isize * s)
                .sum::<isize>();
        let off = off as usize;
        decode(
            self.element,
            self.little,
            &self.memory[off..off + self.element.itemsize()],
        )
    }

    fn masked(&self, idx: &[usize]) -> bool {
        let Some((m, case)) = self.mask else { return true };
        let off = case.offset as isize
            + idx
                .iter()
                .zip(&case.strides)
                .map(|(&i, &s)| i as isize * s)
                .sum::<isize>();
        m[off as usize] != 0
    }

    /// Runs `op` over `axes` (None: all) with the engine and the reference and compares.
    fn run(&self, op: Op, axes: Option<&[usize]>, ddof: f64, initial: Option<Scalar>, control: &Control, label: &str) {
        let shape = &self.case.shape;
        let ndim = shape.len();
        let Ok(result) = self.element.result(op) else {
            return;
        };
        // SAFETY: the test's buffers outlive the calls and nothing writes them.
        let input = unsafe {
            Strided::new(
                self.memory.as_ptr(),
                self.memory.len(),
                self.case.offset,
                shape,
                &self.case.strides,
                self.element,
                self.little,
            )
        }
        .unwrap();
        let mask = self.mask.map(|(m, case)| {
            // SAFETY: as above.
            unsafe { Mask::new(m.as_ptr(), m.len(), case.offset, &case.strides) }
        });
        let request = Request {
            op,
            axes,
            ddof,
            initial,
            mask,
        };
        let reduced: Vec<bool> = (0..ndim).map(|a| axes.is_none_or(|axes| axes.contains(&a))).collect();
        let kept: Vec<usize> = (0..ndim).filter(|&a| !reduced[a]).collect();
        let red: Vec<usize> = (0..ndim).filter(|&a| reduced[a]).collect();
        let kept_shape: Vec<usize> = kept.iter().map(|&a| shape[a]).collect();
        let red_shape: Vec<usize> = red.iter().map(|&a| shape[a]).collect();
        let outputs: usize = kept_shape.iter().product();
        let mut out = vec![0u8; outputs * result.itemsize()];
        let got = reduce(&input, &request, control, &mut out);
        let what = |k: usize| {
            format!(
                "{label}: {} of {:?} {} shape {:?} strides {:?} axes {axes:?} ddof {ddof} initial {initial:?} mask {} output {k}",
                op.name(),
                self.element,
                if self.little { "<" } else { ">" },
                shape,
                self.case.strides,
                self.mask.is_some(),
            )
        };
        let per_output: usize = red_shape.iter().product();
        // numpy raises even when there are no outputs either.
        if per_output == 0 && op.needs_elements() && initial.is_none() {
            let err = got.expect_err(&what(0));
            assert_eq!(err.kind(), ErrorKind::EmptyReduction, "{}", what(0));
            return;
        }
        got.unwrap_or_else(|e| panic!("{}: {e}", what(0)));
        for (k, kidx) in indices(&kept_shape).iter().enumerate() {
            let mut vals = Vec::new();
            for (flat, ridx) in indices(&red_shape).iter().enumerate() {
                let mut idx = vec![0; ndim];
                for (i, &a) in kept.iter().enumerate() {
                    idx[a] = kidx[i];
                }
                for (i, &a) in red.iter().enumerate() {
                    idx[a] = ridx[i];
                }
                if self.masked(&idx) {
                    vals.push((self.at(&idx), flat as i64));
                }
            }
            let n = result.itemsize();
            let got = Scalar::read(result, &out[k * n..(k + 1) * n]);
            if vals.is_empty() && op.needs_elements() {
                // All masked out: the initial value.
                let unsigned = matches!(result, Element::U8 | Element::U16 | Element::U32 | Element::U64);
                let expect = match initial.unwrap() {
                    Scalar::Float(v) => Expect::Near(round_to(result, v), 0.0),
                    Scalar::Int(v) if unsigned => Expect::Exact(Scalar::UInt(v as u64)),
                    other => Expect::Exact(other),
                };
                check(expect, got, &|| what(k));
                continue;
            }
            let expect = reference(op, self.element, result, &vals, ddof, initial);
            check(expect, got, &|| {
                format!(
                    "{} over {:?}",
                    what(k),
                    vals.iter().take(40).map(|v| v.0).collect::<Vec<_>>()
                )
            });
        }
    }
}

/// The axis sets tried for `ndim` dimensions.
fn axis_sets(ndim: usize) -> Vec<Option<Vec<usize>>> {
    let mut sets = vec![None, Some(vec![])];
    for a in 0..ndim {
        sets.push(Some(vec![a]));
    }
    for a in 0..ndim {
        for b in a + 1..ndim {
            sets.push(Some(vec![a, b]));
        }
    }
    if ndim > 2 {
        sets.push(Some((0..ndim).collect()));
    }
    sets
}

fn tiny(threads: usize) -> Control<'static> {
    Control {
        threads,
        tuning: Tuning {
            unit_bytes: 64,
            acc_bytes: 64,
        },
        ..Control::default()
    }
}

/// Builds the data for `case` of `element` in the byte order, from `rng`.
fn memory(rng: &mut Rng, element: Element, little: bool, len: usize, special: bool) -> Vec<u8> {
    let size = element.itemsize();
    let mut m = vec![0u8; len];
    let mut at = 0;
    while at + size <= len {
        let e = random_element(rng, element, special);
        m[at..at + size].copy_from_slice(&native_bytes(element, little, &e));
        at += size;
    }
    // The odd bytes of records (field views) are random too.
    for b in m[at..].iter_mut() {
        *b = rng.next() as u8;
    }
    m
}

fn mask_for(rng: &mut Rng, shape: &[usize], broadcast: bool) -> (Vec<u8>, Case) {
    let mut strides = vec![0isize; shape.len()];
    let mut step = 1isize;
    for a in (0..shape.len()).rev() {
        if broadcast && a % 2 == 0 {
            continue;
        }
        strides[a] = step;
        step *= shape[a].max(1) as isize;
    }
    let bytes: Vec<u8> = (0..step as usize)
        .map(|_| (rng.below(3) != 0) as u8 * (1 + rng.below(3) as u8))
        .collect();
    (
        bytes,
        Case {
            offset: 0,
            shape: shape.to_vec(),
            strides,
        },
    )
}

fn exercise(element: Element, shapes: &[Vec<usize>], seed: u64) {
    let mut rng = Rng(seed);
    for shape in shapes {
        for little in [true, false] {
            for (label, case, len) in views(shape, element.itemsize()) {
                let special = rng.below(2) == 0;
                let mem = memory(&mut rng, element, little, len, special);
                let trial = Trial {
                    element,
                    little,
                    memory: &mem,
                    case: &case,
                    mask: None,
                };
                let threads = [1, 2, 3][rng.below(3) as usize];
                let control = tiny(threads);
                for axes in axis_sets(shape.len()) {
                    for op in Op::ALL {
                        let ddof = if matches!(op, Op::Var | Op::Std) {
                            rng.below(3) as f64
                        } else {
                            0.0
                        };
                        trial.run(op, axes.as_deref(), ddof, None, &control, label);
                    }
                }
                // A where mask (full, or broadcast), with initial for min/max.
                for broadcast in [false, true] {
                    let (m, mcase) = mask_for(&mut rng, shape, broadcast);
                    let trial = Trial {
                        mask: Some((&m, &mcase)),
                        ..trial
                    };
                    for axes in axis_sets(shape.len()) {
                        for op in Op::ALL.into_iter().filter(|op| op.takes_mask()) {
                            let initial = match (op, element) {
                                (Op::Min | Op::Max, e) if e.is_float() => Some(Scalar::Float(0.5)),
                                (Op::Min | Op::Max, e) if e.is_complex() => Some(Scalar::Complex(0.5, -1.0)),
                                (Op::Min | Op::Max, Element::Bool) => Some(Scalar::Bool(true)),
                                (Op::Min | Op::Max, _) => Some(Scalar::Int(1)),
                                _ => None,
                            };
                            trial.run(op, axes.as_deref(), 0.0, initial, &control, label);
                        }
                    }
                }
            }
        }
    }
}

fn shapes() -> Vec<Vec<usize>> {
    vec![
        vec![],
        vec![1],
        vec![0],
        vec![37],
        vec![3, 0],
        vec![4, 9],
        vec![1, 7],
        vec![33, 2],
        vec![2, 3, 5],
        vec![5, 1, 17],
        vec![3, 4, 2, 3],
    ]
}

macro_rules! per_element {
    ($($name:ident: $element:expr,)*) => {$(
        #[test]
        fn $name() {
            exercise($element, &shapes(), 0x9e37_79b9 ^ $element.itemsize() as u64 ^ (stringify!($name).len() as u64) << 20);
        }
    )*};
}

per_element! {
    every_op_over_bool: Element::Bool,
    every_op_over_int8: Element::I8,
    every_op_over_uint8: Element::U8,
    every_op_over_int16: Element::I16,
    every_op_over_uint16: Element::U16,
    every_op_over_int32: Element::I32,
    every_op_over_uint32: Element::U32,
    every_op_over_int64: Element::I64,
    every_op_over_uint64: Element::U64,
    every_op_over_float16: Element::F16,
    every_op_over_float32: Element::F32,
    every_op_over_float64: Element::F64,
    every_op_over_complex64: Element::C64,
    every_op_over_complex128: Element::C128,
    every_op_over_datetime64: Element::Datetime,
    every_op_over_timedelta64: Element::Timedelta,
}

/// `values` (native byte order) seen as `element`s of `shape` and `strides`.
fn native_input<'a>(element: Element, values: &'a [u8], shape: &'a [usize], strides: &'a [isize]) -> Strided<'a> {
    // SAFETY: the test's buffer outlives the input and nothing writes it.
    unsafe {
        Strided::new(
            values.as_ptr(),
            values.len(),
            0,
            shape,
            strides,
            element,
            cfg!(target_endian = "little"),
        )
    }
    .unwrap()
}

fn f32_input<'a>(values: &'a [u8], shape: &'a [usize], strides: &'a [isize]) -> Strided<'a> {
    native_input(Element::F32, values, shape, strides)
}

fn f32_bytes(values: impl IntoIterator<Item = f32>) -> Vec<u8> {
    values.into_iter().flat_map(|v| v.to_ne_bytes()).collect()
}

#[test]
fn float32_sums_accumulate_in_float64() {
    // Issue 11 item 10: 2^24 and 999 ones. A float32 running sum stays at
    // 2^24; numpy's pairwise float32 sum gives 16778202; the float64 sum is
    // 16778215, which rounds to 16778216 as float32.
    let bytes = f32_bytes((0..1000).map(|i| if i == 0 { 16_777_216.0 } else { 1.0 }));
    let input = f32_input(&bytes, &[1000], &[4]);
    let control = Control::default();
    assert_eq!(
        reduce_scalar(&input, &Request::new(Op::Sum), &control).unwrap(),
        Scalar::Float(16_778_216.0)
    );
    assert_eq!(
        reduce_scalar(&input, &Request::new(Op::Mean), &control).unwrap(),
        Scalar::Float((16_778_215.0f64 / 1000.0) as f32 as f64)
    );
    // The same through every split: tiny units, several threads.
    for threads in 1..5 {
        assert_eq!(
            reduce_scalar(&input, &Request::new(Op::Sum), &tiny(threads)).unwrap(),
            Scalar::Float(16_778_216.0)
        );
    }
}

#[test]
fn a_zero_sum_has_numpys_sign() {
    // numpy adds the elements to `initial` (+0.0 when not given): -0.0 comes
    // out only from initial=-0.0 and elements that are all -0.0 (or none).
    for n in [0usize, 1, 3, 16, 200, 5000] {
        for (signs, all_negative) in [
            (vec![-0.0f32; n], true),
            ((0..n).map(|i| if i == 1 { 0.0 } else { -0.0 }).collect(), n < 2),
        ] {
            let bytes = f32_bytes(signs);
            let shape = [n];
            let input = f32_input(&bytes, &shape, &[4]);
            for threads in [0, 1, 3] {
                let control = if threads == 0 {
                    Control::default()
                } else {
                    tiny(threads)
                };
                for (initial, negative) in [(None, false), (Some(0.0), false), (Some(-0.0), all_negative)] {
                    let request = Request {
                        initial: initial.map(Scalar::Float),
                        ..Request::new(Op::Sum)
                    };
                    let Scalar::Float(sum) = reduce_scalar(&input, &request, &control).unwrap() else {
                        panic!("not a float");
                    };
                    assert_eq!(sum, 0.0);
                    assert_eq!(
                        sum.is_sign_negative(),
                        negative,
                        "n {n}, initial {initial:?}, threads {threads}"
                    );
                }
                let Scalar::Float(mean) = reduce_scalar(&input, &Request::new(Op::Mean), &control).unwrap() else {
                    panic!("not a float");
                };
                assert!(
                    n == 0 || (mean == 0.0 && mean.is_sign_positive()),
                    "mean of n {n}: {mean}"
                );
            }
        }
    }
}

/// `values` stored as `element` (float16, float32 or float64), native order.
fn float_bytes(element: Element, values: &[f64]) -> Vec<u8> {
    values
        .iter()
        .flat_map(|&v| match element {
            Element::F16 => f64_to_f16(v).to_ne_bytes().to_vec(),
            Element::F32 => (v as f32).to_ne_bytes().to_vec(),
            _ => v.to_ne_bytes().to_vec(),
        })
        .collect()
}

#[test]
fn prod_starts_from_initial_as_numpy_does() {
    // numpy's product is `initial * a0 * a1 * ...`, one running product
    // from `initial`. Multiplying `initial` in at the end instead gave
    // [1e200, 1e200] with initial 0 NaN (0 * inf; numpy 0), with initial
    // 1e-300 inf (numpy 1e100), and [1e-200, 1e-200] with initial 1e300 0
    // (numpy 1e-100). An initial of 0 or inf absorbs every finite factor in
    // numpy's running product, however far the elements' own product
    // overflows or underflows: a float16 product of 100 times 1e4 (1e400,
    // past float64) from 0 is 0.
    let ones =
        |head: &[f64], n: usize| -> Vec<f64> { head.iter().copied().chain(std::iter::repeat_n(1.0, n)).collect() };
    let mut middle = vec![1.0, 2.0];
    middle.extend(std::iter::repeat_n(60000.0, 80));
    middle.extend([0.5, 3.0, -1.0]);
    let f64_cases: Vec<(Vec<f64>, f64)> = vec![
        (vec![1e200, 1e200], 0.0),
        (vec![1e200, 1e200], 1e-300),
        (vec![1e-200, 1e-200], 1e300),
        (ones(&[1e200, 1e200], 100), 1e-300),
        (ones(&[1e-200, 1e-200], 100), 1e300),
        (ones(&[1e200, 1e200], 100), -0.0),
    ];
    let all_cases: Vec<(Vec<f64>, f64)> = vec![
        (vec![1e4; 100], 0.0),
        (vec![1e4; 100], -0.0),
        (vec![-1e4; 101], 0.0),
        (vec![1e-4; 100], f64::INFINITY),
        (vec![1e-4; 100], f64::NEG_INFINITY),
        (middle, 0.0),
    ];
    let mut runs = 0;
    for element in [Element::F64, Element::F32, Element::F16] {
        let cases = all_cases
            .iter()
            .chain(if element == Element::F64 { &f64_cases[..] } else { &[] });
        for (values, initial) in cases {
            let size = element.itemsize();
            // numpy's order, in float64 (float32/float16 products here
            // accumulate in float64), over the values as stored.
            let stored = |v: f64| round_to(element, v);
            let want = round_to(element, values.iter().fold(stored(*initial), |p, &x| p * stored(x)));
            let same = |got: f64| got.to_bits() == want.to_bits();
            let n = values.len();
            for threads in [0, 1, 3] {
                let control = if threads == 0 {
                    Control::default()
                } else {
                    tiny(threads)
                };
                let label = |how: &str| {
                    format!(
                        "{element:?} {how} of {n} from {:?}... initial {initial} threads {threads}",
                        &values[..2]
                    )
                };
                let request = Request {
                    initial: Some(Scalar::Float(*initial)),
                    ..Request::new(Op::Prod)
                };
                // The whole array.
                let bytes = float_bytes(element, values);
                let (shape, strides) = ([n], [size as isize]);
                let input = native_input(element, &bytes, &shape, &strides);
                let Scalar::Float(got) = reduce_scalar(&input, &request, &control).unwrap() else {
                    panic!("not a float");
                };
                assert!(same(got), "{}: {got} against {want}", label("prod()"));
                // Along an axis: every column (row) the values, through
                // each column layout: one, dividing the lanes, narrow, wide.
                for columns in [1usize, 2, 3, 16, 21] {
                    let grid: Vec<f64> = values.iter().flat_map(|&v| std::iter::repeat_n(v, columns)).collect();
                    let bytes = float_bytes(element, &grid);
                    for (shape, strides, axis) in [
                        ([n, columns], [(columns * size) as isize, size as isize], 0usize),
                        ([columns, n], [size as isize, (columns * size) as isize], 1),
                    ] {
                        let input = native_input(element, &bytes, &shape, &strides);
                        let mut out = vec![0u8; columns * size];
                        let axes = [axis];
                        let request = Request {
                            axes: Some(&axes),
                            ..request
                        };
                        reduce(&input, &request, &control, &mut out).unwrap();
                        for (c, raw) in out.chunks(size).enumerate() {
                            let Scalar::Float(got) = Scalar::read(element, raw) else {
                                panic!("not a float");
                            };
                            assert!(
                                same(got),
                                "{} column {c}: {got} against {want}",
                                label(&format!("prod(axis={axis}) of {shape:?}"))
                            );
                            runs += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(runs > 0);
    // Complex products likewise: initial first, 0 absorbing.
    for (values, initial, want) in [
        (vec![1e200, 1e200], (0.0, 0.0), (0.0, 0.0)),
        (vec![1e200, 1e200], (1e-300, 0.0), (1e100, 0.0)),
        (vec![1e-200, 1e-200], (1e300, 0.0), (1e-100, 0.0)),
        (vec![1e200; 100], (0.0, 0.0), (0.0, 0.0)),
    ] {
        let bytes: Vec<u8> = values
            .iter()
            .flat_map(|&v: &f64| [v.to_ne_bytes(), 0f64.to_ne_bytes()].concat())
            .collect();
        let shape = [values.len()];
        let input = native_input(Element::C128, &bytes, &shape, &[16]);
        for threads in [0, 1, 3] {
            let control = if threads == 0 {
                Control::default()
            } else {
                tiny(threads)
            };
            let request = Request {
                initial: Some(Scalar::Complex(initial.0, initial.1)),
                ..Request::new(Op::Prod)
            };
            let got = reduce_scalar(&input, &request, &control).unwrap();
            assert_eq!(
                got,
                Scalar::Complex(want.0, want.1),
                "complex prod of {} from {:?}... initial {initial:?}",
                values.len(),
                &values[..2]
            );
        }
    }
}

#[test]
fn float64_sums_are_compensated() {
    // 1 followed by a million values of 1e-16: a running f64 sum never moves
    // from 1; the exact sum is 1.0000000001.
    let n = 1_000_001;
    let bytes: Vec<u8> = (0..n)
        .flat_map(|i| if i == 0 { 1.0f64 } else { 1e-16 }.to_ne_bytes())
        .collect();
    let shape = [n];
    // SAFETY: as in f32_input.
    let input = unsafe {
        Strided::new(
            bytes.as_ptr(),
            bytes.len(),
            0,
            &shape,
            &[8],
            Element::F64,
            cfg!(target_endian = "little"),
        )
    }
    .unwrap();
    let Scalar::Float(sum) = reduce_scalar(&input, &Request::new(Op::Sum), &Control::default()).unwrap() else {
        panic!("not a float");
    };
    assert!((sum - 1.0000000001).abs() < 1e-15, "{sum}");
}

#[test]
fn a_timedelta_mean_whose_sum_wraps_to_nat_is_nat() {
    // numpy: m8 [2^62, 2^62, 1, -1] sums (wrapping) to NaT's bit pattern, and
    // its mean is NaT; it was that pattern over the count (-2^61).
    let values: Vec<u8> = [1i64 << 62, 1 << 62, 1, -1]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    let shape = [4];
    let input = native_input(Element::Timedelta, &values, &shape, &[8]);
    for control in [Control::default(), tiny(1), tiny(3)] {
        for (op, want) in [(Op::Mean, i64::MIN), (Op::Sum, i64::MIN)] {
            let got = reduce_scalar(&input, &Request::new(op), &control).unwrap();
            assert_eq!(got, Scalar::Int(want), "{op:?}");
        }
    }
    // A sum that wraps elsewhere keeps numpy's value over the count.
    let values: Vec<u8> = [1i64 << 62, 1 << 62, 2, -1]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    let input = native_input(Element::Timedelta, &values, &shape, &[8]);
    let got = reduce_scalar(&input, &Request::new(Op::Mean), &Control::default()).unwrap();
    assert_eq!(got, Scalar::Int(((i64::MIN + 1) as i128 / 4) as i64));
}

#[test]
fn small_values_beside_cancelling_large_ones_survive_the_lanes() {
    // Found by review: lanes were summed as a tree before the compensated
    // merge, so 1e8 + 0.1 and -1e8 + 0.2 met in one plain add and the sum of
    // [1e8, -1e8, 0.1, 0.2] came out 0.29999999701976776 (numpy
    // 0.30000000000000004). The lanes now merge by TwoSum: within an ulp
    // of the exact sum, whatever the length, split or thread count; complex
    // parts likewise.
    let pattern = [1e8, -1e8, 0.1, 0.2, 1e16, -1e16, 3.0, 1e-3];
    for n in [4usize, 8, 64, 1000, 100_003] {
        let values: Vec<f64> = (0..n)
            .map(|i| pattern[i % pattern.len()] * (1 + i / 64) as f64)
            .collect();
        let exact = accurate_sum(values.iter().copied()).0;
        let ulp = |v: f64| f64::from_bits(v.abs().to_bits() + 1) - v.abs();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
        let shape = [n];
        let input = native_input(Element::F64, &bytes, &shape, &[8]);
        let complex: Vec<u8> = values
            .iter()
            .flat_map(|v| [v.to_ne_bytes(), (-v).to_ne_bytes()])
            .flatten()
            .collect();
        let complex = native_input(Element::C128, &complex, &shape, &[16]);
        for control in [Control::default(), tiny(1), tiny(3)] {
            let Scalar::Float(sum) = reduce_scalar(&input, &Request::new(Op::Sum), &control).unwrap() else {
                panic!("not a float");
            };
            assert!((sum - exact).abs() <= ulp(exact), "n {n}: {sum} vs exact {exact}");
            let Scalar::Complex(re, im) = reduce_scalar(&complex, &Request::new(Op::Sum), &control).unwrap() else {
                panic!("not a complex");
            };
            assert!(
                (re - exact).abs() <= ulp(exact) && (im + exact).abs() <= ulp(exact),
                "n {n}: {re} {im}"
            );
        }
    }
}

#[test]
fn variance_stays_accurate_when_blocks_skip_their_mean_pass() {
    // Later blocks take the running mean as their shift instead of their own
    // mean. Three hostile shapes of data, against an exact two-pass reference
    // (compensated sums): a large offset with a small spread, a steep trend
    // (every block's mean far from the running one), and a first block far
    // from all the rest. Whole-array and per column, several thread counts,
    // default and tiny units.
    let n = 300_000usize;
    let offset = |i: usize| 1e9 + ((i * 7919) % 1000) as f64 * 1e-3;
    let trend = |i: usize| i as f64 * 1e3 + (i % 3) as f64;
    let jump = |i: usize| if i < 5000 { 1e12 } else { (i % 10) as f64 };
    // Found by review: squares or their sum taken from the running mean
    // overflow where those from the block's own mean do not (the block
    // must then take both passes). Scaled by 1e150 so that the reference's
    // own squares fit.
    let far = |i: usize| {
        if i < 32768 {
            0.0
        } else {
            1.0 + ((i * 7919) % 1000) as f64 * 1e-3 - 0.5
        }
    };
    // numpy's M2 fits (0.6 of f64::MAX) while a block's squares from the
    // other half's mean do not.
    let b = 32768usize;
    let half = (0.6 * f64::MAX / (2 * b) as f64).sqrt() / 1e152;
    let halves = move |i: usize| if i < b { -half } else { half };
    let datasets = [
        ("offset", (0..n).map(offset).collect::<Vec<f64>>(), 1.0),
        ("trend", (0..n).map(trend).collect(), 1.0),
        ("jump", (0..n).map(jump).collect(), 1.0),
        ("far blocks past 1e150", (0..n).map(far).collect(), 1e151),
        ("halves of +-4e151", (0..2 * b).map(halves).collect(), 1e152),
    ];
    for (name, scaled, scale) in &datasets {
        let values: Vec<f64> = scaled.iter().map(|x| x * scale).collect();
        let values = &values;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_ne_bytes()).collect();
        let exact = |xs: &[f64]| {
            let mean = accurate_sum(xs.iter().copied()).0 / xs.len() as f64;
            accurate_sum(xs.iter().map(|x| (x - mean) * (x - mean))).0 / xs.len() as f64
        };
        let whole = exact(scaled) * scale * scale;
        let columns: Vec<f64> = (0..2)
            .map(|c| exact(&scaled.iter().skip(c).step_by(2).copied().collect::<Vec<_>>()) * scale * scale)
            .collect();
        let (flat, grid) = ([values.len()], [values.len() / 2, 2]);
        let controls = [Control::default(), tiny(1), tiny(3)];
        for control in &controls {
            // SAFETY: `bytes` outlives the inputs and nothing writes it.
            let input = unsafe {
                Strided::new(
                    bytes.as_ptr(),
                    bytes.len(),
                    0,
                    &flat,
                    &[8],
                    Element::F64,
                    cfg!(target_endian = "little"),
                )
            }
            .unwrap();
            let Scalar::Float(v) = reduce_scalar(&input, &Request::new(Op::Var), control).unwrap() else {
                panic!("not a float");
            };
            assert!((v - whole).abs() <= 1e-12 * whole, "{name}: {v} against {whole}");
            // SAFETY: as above.
            let input = unsafe {
                Strided::new(
                    bytes.as_ptr(),
                    bytes.len(),
                    0,
                    &grid,
                    &[16, 8],
                    Element::F64,
                    cfg!(target_endian = "little"),
                )
            }
            .unwrap();
            let mut out = [0u8; 16];
            let request = Request {
                axes: Some(&[0]),
                ..Request::new(Op::Var)
            };
            reduce(&input, &request, control, &mut out).unwrap();
            for (c, want) in columns.iter().enumerate() {
                let got = f64::from_ne_bytes(out[c * 8..c * 8 + 8].try_into().unwrap());
                assert!(
                    (got - want).abs() <= 1e-12 * want,
                    "{name} column {c}: {got} against {want}"
                );
            }
        }
    }
}

#[test]
fn variance_of_finite_values_whose_total_overflows_is_infinite_as_numpy_says() {
    // numpy's mean is the sum over n: past f64's range it is infinite, so
    // every deviation is, and the variance (numpy 2.4: inf for each case
    // below). A block whose own sum overflows took inf - inf = NaN here
    // before. An infinity or NaN among the values is numpy's NaN.
    let n = 1 << 20;
    type Values = Box<dyn Fn(usize) -> f64>;
    let cases: [(&str, Values); 8] = [
        // Found by review: the deviations from the middle of the range still
        // overflow, with opposite signs in a lane's sum (inf - inf).
        (
            "1.79e308 and 1.7e308",
            Box::new(|i| if i % 2 == 1 { 1.7e308 } else { 1.79e308 }),
        ),
        (
            "runs of 8 of +-1e308",
            Box::new(|i| if (i / 8) % 2 == 0 { 1e308 } else { -1e308 }),
        ),
        ("1e304 everywhere", Box::new(|_| 1e304)),
        (
            "1e305 and -1e304",
            Box::new(|i| if i % 2 == 1 { 1e305 } else { -1e304 }),
        ),
        ("f64::MAX everywhere", Box::new(|_| f64::MAX)),
        (
            "-1.5e308 and 1e300",
            Box::new(|i| if i % 3 == 0 { 1e300 } else { -1.5e308 }),
        ),
        (
            "one inf among 1e304",
            Box::new(move |i| if i == n / 3 { f64::INFINITY } else { 1e304 }),
        ),
        (
            "one NaN among 1e304",
            Box::new(move |i| if i == n - 1 { f64::NAN } else { 1e304 }),
        ),
    ];
    for (name, value) in &cases {
        let bytes: Vec<u8> = (0..n).flat_map(|i| value(i).to_ne_bytes()).collect();
        for control in [Control::default(), tiny(1), tiny(3)] {
            for (shape, strides, axes) in [
                (&[n][..], &[8isize][..], None),
                (&[n / 2, 2][..], &[16, 8][..], Some(&[0usize][..])),
            ] {
                // SAFETY: `bytes` outlives the input and nothing writes it.
                let input = unsafe {
                    Strided::new(
                        bytes.as_ptr(),
                        bytes.len(),
                        0,
                        shape,
                        strides,
                        Element::F64,
                        cfg!(target_endian = "little"),
                    )
                }
                .unwrap();
                let mut out = [0u8; 16];
                let request = Request {
                    axes,
                    ..Request::new(Op::Var)
                };
                reduce(&input, &request, &control, &mut out[..8 * shape.len()]).unwrap();
                let outputs = if axes.is_none() { 1 } else { 2 };
                for c in 0..outputs {
                    let got = f64::from_ne_bytes(out[c * 8..c * 8 + 8].try_into().unwrap());
                    let nonfinite = (0..n).any(|i| (outputs == 1 || i % 2 == c) && !value(i).is_finite());
                    if nonfinite {
                        assert!(got.is_nan(), "{name} {shape:?} output {c}: {got}");
                    } else {
                        assert_eq!(got, f64::INFINITY, "{name} {shape:?} output {c}");
                    }
                }
            }
        }
    }
}

#[test]
fn complex_variance_whose_total_overflows_is_nan_as_numpy_says() {
    // numpy's complex mean divides (inf + bj) by (n + 0j): the other part
    // is inf * 0 = NaN, and so is the variance (numpy 2.4: nan).
    for n in [3usize, 1 << 16] {
        let bytes: Vec<u8> = (0..n)
            .flat_map(|_| [1.5e308f64.to_ne_bytes(), 1.0f64.to_ne_bytes()].concat())
            .collect();
        let shape = [n];
        let input = native_input(Element::C128, &bytes, &shape, &[16]);
        let Scalar::Float(v) = reduce_scalar(&input, &Request::new(Op::Var), &Control::default()).unwrap() else {
            panic!("not a float");
        };
        assert!(v.is_nan(), "{n}: {v}");
    }
}

#[test]
fn float_results_are_the_same_run_after_run_with_busy_cores() {
    // Threads take pieces of the work as they come free; the pieces are
    // fixed, so which thread did which piece must not show in the last bits.
    let mut rng = Rng(11);
    let n = 6 << 20;
    let bytes = f32_bytes((0..n).map(|_| (rng.unit() * 1e3) as f32));
    let shape = [n / 4, 4];
    let input = f32_input(&bytes, &shape, &[16, 4]);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Busy threads so that the reduction's threads are preempted unevenly.
        for _ in 0..2 {
            scope.spawn(|| {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(1));
                }
            });
        }
        for (op, axes) in [(Op::Sum, None), (Op::Std, None), (Op::Mean, Some(&[0usize][..]))] {
            let request = Request {
                axes,
                ..Request::new(op)
            };
            let run = || {
                let mut out = [0u8; 32];
                let len = if axes.is_some() { 16 } else { 8 };
                match axes {
                    None => match reduce_scalar(&input, &request, &Control::default()).unwrap() {
                        Scalar::Float(v) => out[..8].copy_from_slice(&v.to_ne_bytes()),
                        other => panic!("{other:?}"),
                    },
                    Some(_) => reduce(&input, &request, &Control::default(), &mut out[..len]).unwrap(),
                }
                out
            };
            let first = run();
            for _ in 0..20 {
                assert_eq!(run(), first, "{}", op.name());
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
}

/// A float32 array with ties and NaNs to test the split: (rows, cols), C order.
fn tie_data(rows: usize, cols: usize, nan_every: usize) -> Vec<u8> {
    let mut rng = Rng(7);
    f32_bytes((0..rows * cols).map(|i| {
        if nan_every > 0 && i % nan_every == nan_every - 1 {
            f32::NAN
        } else {
            rng.below(5) as f32
        }
    }))
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let (rows, cols) = (301, 67);
    for nan_every in [0, 997] {
        let bytes = tie_data(rows, cols, nan_every);
        let shape = [rows, cols];
        let layouts: [(&str, [isize; 2]); 1] = [("C", [4 * cols as isize, 4])];
        for (_, strides) in layouts {
            let input = f32_input(&bytes, &shape, &strides);
            for op in Op::ALL {
                for axes in [None, Some(&[0usize][..]), Some(&[1usize][..])] {
                    let result = Element::F32.result(op).unwrap();
                    let outputs = match axes {
                        None => 1,
                        Some([0]) => cols,
                        _ => rows,
                    };
                    let request = Request {
                        axes,
                        ..Request::new(op)
                    };
                    let run = |control: &Control| {
                        let mut out = vec![0u8; outputs * result.itemsize()];
                        reduce(&input, &request, control, &mut out).unwrap();
                        out
                    };
                    let one = run(&Control {
                        threads: 1,
                        ..Control::default()
                    });
                    for threads in [2, 3, 5, 8] {
                        for unit_bytes in [64, 1000, 4096] {
                            let control = Control {
                                threads,
                                tuning: Tuning {
                                    unit_bytes,
                                    acc_bytes: 200,
                                },
                                ..Control::default()
                            };
                            let many = run(&control);
                            let exact = !matches!(op, Op::Sum | Op::Mean | Op::Var | Op::Std | Op::Prod);
                            if exact {
                                assert_eq!(one, many, "{} {axes:?} threads {threads}", op.name());
                            } else {
                                for (a, b) in one.chunks(4).zip(many.chunks(4)) {
                                    let (a, b) = (
                                        f32::from_ne_bytes(a.try_into().unwrap()),
                                        f32::from_ne_bytes(b.try_into().unwrap()),
                                    );
                                    assert!(
                                        a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-6 * a.abs(),
                                        "{} {a} {b}",
                                        op.name()
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    // Integers: wrapping sums and products are exact, so identical bytes.
    let ints: Vec<u8> = (0..100_000u64)
        .flat_map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) as i64).to_ne_bytes())
        .collect();
    // SAFETY: as in f32_input.
    let input = unsafe {
        Strided::new(
            ints.as_ptr(),
            ints.len(),
            0,
            &[1000, 100],
            &[800, 8],
            Element::I64,
            cfg!(target_endian = "little"),
        )
    }
    .unwrap();
    for op in [Op::Sum, Op::Prod, Op::Min, Op::ArgMax] {
        let one = reduce_scalar(&input, &Request::new(op), &tiny(1)).unwrap();
        for threads in 2..6 {
            assert_eq!(reduce_scalar(&input, &Request::new(op), &tiny(threads)).unwrap(), one);
        }
    }
}

#[test]
fn an_abort_stops_the_work_within_a_block() {
    // 64 MiB of float32. The control block's validity check (run by the
    // reducing threads once per check) sets the abort flag once half the
    // work is reported: the next check must stop, whatever the machine's speed.
    let n = 16 << 20;
    let bytes = f32_bytes((0..n).map(|i| i as f32));
    let shape = [n];
    let input = f32_input(&bytes, &shape, &[4]);
    for threads in [1, 2, 4] {
        for op in [Op::Sum, Op::Max, Op::ArgMax, Op::Std] {
            let abort = AtomicBool::new(false);
            let progress = AtomicU64::new(0);
            let seen = AtomicU64::new(u64::MAX);
            let alive = || {
                let done = progress.load(Ordering::Relaxed);
                if done >= n as u64 / 2 && !abort.swap(true, Ordering::Relaxed) {
                    seen.store(done, Ordering::Relaxed);
                }
                true
            };
            let control = Control {
                abort: Some(&abort),
                progress: Some(&progress),
                alive: Some(&alive),
                threads,
                ..Control::default()
            };
            let err = reduce_scalar(&input, &Request::new(op), &control).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Aborted);
            assert_eq!(err.code(), "ERR_MEMMAP_ABORTED");
            // After the flag: at most one more check's worth (plus the unit
            // under way) per thread, reported or not.
            let slack = threads as u64 * 2 * (CHECK_BYTES as u64 + (64 << 10)) / 4;
            let done = progress.load(Ordering::Relaxed);
            assert!(
                done <= seen.load(Ordering::Relaxed) + slack,
                "{} ran on to {done} of {n}",
                op.name()
            );
            assert!(done < n as u64);
        }
    }
    // An abort before the start does nothing at all.
    let abort = AtomicBool::new(true);
    let progress = AtomicU64::new(0);
    let control = Control {
        abort: Some(&abort),
        progress: Some(&progress),
        ..Control::default()
    };
    assert_eq!(
        reduce_scalar(&input, &Request::new(Op::Sum), &control)
            .unwrap_err()
            .kind(),
        ErrorKind::Aborted
    );
    assert_eq!(progress.load(Ordering::Relaxed), 0);
}

#[test]
fn closed_memory_gives_no_value() {
    let n = 4 << 20;
    let bytes = f32_bytes((0..n).map(|i| i as f32));
    let shape = [n];
    let input = f32_input(&bytes, &shape, &[4]);
    let progress = AtomicU64::new(0);
    // Closed part-way.
    let alive = || progress.load(Ordering::Relaxed) < n as u64 / 3;
    let control = Control {
        progress: Some(&progress),
        alive: Some(&alive),
        threads: 2,
        ..Control::default()
    };
    let err = reduce_scalar(&input, &Request::new(Op::Sum), &control).unwrap_err();
    assert_eq!((err.kind(), err.code()), (ErrorKind::Closed, "ERR_MEMMAP_CLOSED"));
    // Closed after the last check of the reading threads: the final check catches it.
    let calls = AtomicU64::new(0);
    let alive = || calls.fetch_add(1, Ordering::Relaxed) < 1;
    let small = f32_input(&bytes[..400], &[100], &[4]);
    let control = Control {
        alive: Some(&alive),
        ..Control::default()
    };
    assert_eq!(
        reduce_scalar(&small, &Request::new(Op::Max), &control)
            .unwrap_err()
            .kind(),
        ErrorKind::Closed
    );
}

#[test]
fn empty_reductions_follow_numpy() {
    let bytes = [0u8; 4];
    let control = Control::default();
    let empty = f32_input(&bytes, &[0], &[4]);
    for op in [Op::Min, Op::Max, Op::ArgMin, Op::ArgMax] {
        let err = reduce_scalar(&empty, &Request::new(op), &control).unwrap_err();
        assert_eq!(
            (err.kind(), err.code()),
            (ErrorKind::EmptyReduction, "ERR_MEMMAP_EMPTY_REDUCTION")
        );
    }
    let with = |op, initial| Request {
        initial: Some(initial),
        ..Request::new(op)
    };
    assert_eq!(
        reduce_scalar(&empty, &with(Op::Min, Scalar::Float(5.0)), &control).unwrap(),
        Scalar::Float(5.0)
    );
    assert_eq!(
        reduce_scalar(&empty, &Request::new(Op::Sum), &control).unwrap(),
        Scalar::Float(0.0)
    );
    assert_eq!(
        reduce_scalar(&empty, &Request::new(Op::Prod), &control).unwrap(),
        Scalar::Float(1.0)
    );
    assert_eq!(
        reduce_scalar(&empty, &Request::new(Op::Any), &control).unwrap(),
        Scalar::Bool(false)
    );
    assert_eq!(
        reduce_scalar(&empty, &Request::new(Op::All), &control).unwrap(),
        Scalar::Bool(true)
    );
    assert_eq!(
        reduce_scalar(&empty, &Request::new(Op::CountNonzero), &control).unwrap(),
        Scalar::Int(0)
    );
    for op in [Op::Mean, Op::Var, Op::Std] {
        let Scalar::Float(v) = reduce_scalar(&empty, &Request::new(op), &control).unwrap() else {
            panic!()
        };
        assert!(v.is_nan(), "{}", op.name());
    }
    // (0, 3): axis 0 reduces nothing into 3 outputs (an error without an
    // identity); axis 1 has no outputs (nothing to do).
    let grid = f32_input(&bytes, &[0, 3], &[12, 4]);
    let mut out = [0u8; 24];
    let err = reduce(
        &grid,
        &Request {
            axes: Some(&[0]),
            ..Request::new(Op::ArgMax)
        },
        &control,
        &mut out,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::EmptyReduction);
    reduce(
        &grid,
        &Request {
            axes: Some(&[1]),
            ..Request::new(Op::ArgMax)
        },
        &control,
        &mut [],
    )
    .unwrap();
    reduce(
        &grid,
        &Request {
            axes: Some(&[0]),
            ..Request::new(Op::Var)
        },
        &control,
        &mut out[..12],
    )
    .unwrap();
    assert!(out[..12]
        .chunks(4)
        .all(|b| f32::from_ne_bytes(b.try_into().unwrap()).is_nan()));
    // (0, 0): either axis reduces nothing into no outputs, still numpy's
    // error for an operation without an identity; with `initial`, nothing.
    let square = f32_input(&bytes, &[0, 0], &[0, 4]);
    for op in [Op::Min, Op::Max, Op::ArgMin, Op::ArgMax] {
        for axis in [0, 1] {
            let request = Request {
                axes: Some(&[axis]),
                ..Request::new(op)
            };
            let err = reduce(&square, &request, &control, &mut []).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::EmptyReduction, "{} axis {axis}", op.name());
        }
    }
    let request = Request {
        axes: Some(&[0]),
        initial: Some(Scalar::Float(1.0)),
        ..Request::new(Op::Max)
    };
    reduce(&square, &request, &control, &mut []).unwrap();
    reduce(
        &square,
        &Request {
            axes: Some(&[0]),
            ..Request::new(Op::Sum)
        },
        &control,
        &mut [],
    )
    .unwrap();
}

#[test]
fn bad_requests_are_coded_errors() {
    let bytes = f32_bytes([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    let input = f32_input(&bytes, &[2, 3], &[12, 4]);
    let control = Control::default();
    let mask_bytes = [1u8; 6];
    // SAFETY: the mask bytes outlive the requests.
    let mask = unsafe { Mask::new(mask_bytes.as_ptr(), 6, 0, &[3, 1]) };
    let code = |request: Request, out: &mut [u8]| reduce(&input, &request, &control, out).unwrap_err().code();
    let mut out = [0u8; 64];
    assert_eq!(
        code(
            Request {
                axes: Some(&[2]),
                ..Request::new(Op::Sum)
            },
            &mut out[..4]
        ),
        "ERR_MEMMAP_INVALID_ARG"
    );
    assert_eq!(
        code(
            Request {
                axes: Some(&[1, 0]),
                ..Request::new(Op::Sum)
            },
            &mut out[..4]
        ),
        "ERR_MEMMAP_INVALID_ARG"
    );
    assert_eq!(
        code(
            Request {
                axes: Some(&[0, 0]),
                ..Request::new(Op::Sum)
            },
            &mut out[..12]
        ),
        "ERR_MEMMAP_INVALID_ARG"
    );
    assert_eq!(code(Request::new(Op::Sum), &mut out[..8]), "ERR_MEMMAP_INVALID_ARG");
    assert_eq!(
        code(
            Request {
                mask: Some(mask),
                ..Request::new(Op::ArgMax)
            },
            &mut out[..8]
        ),
        "ERR_MEMMAP_INVALID_ARG"
    );
    assert_eq!(
        code(
            Request {
                mask: Some(mask),
                ..Request::new(Op::Min)
            },
            &mut out[..4]
        ),
        "ERR_MEMMAP_INVALID_ARG"
    );
    assert_eq!(
        code(
            Request {
                ddof: 1.0,
                ..Request::new(Op::Sum)
            },
            &mut out[..4]
        ),
        "ERR_MEMMAP_INVALID_ARG"
    );
    assert_eq!(
        code(
            Request {
                ddof: f64::NAN,
                ..Request::new(Op::Var)
            },
            &mut out[..4]
        ),
        "ERR_MEMMAP_INVALID_ARG"
    );
    assert_eq!(
        code(
            Request {
                initial: Some(Scalar::Float(1.0)),
                ..Request::new(Op::Mean)
            },
            &mut out[..4]
        ),
        "ERR_MEMMAP_INVALID_ARG"
    );
    // SAFETY: the mask bytes outlive the request.
    let short = unsafe { Mask::new(mask_bytes.as_ptr(), 5, 0, &[3, 1]) };
    assert_eq!(
        code(
            Request {
                mask: Some(short),
                initial: Some(Scalar::Float(0.0)),
                ..Request::new(Op::Min)
            },
            &mut out[..4]
        ),
        "ERR_MEMMAP_INVALID_ARG"
    );
    // An int8 min with an initial int8 cannot hold; a datetime sum.
    let small = [1u8, 2, 3];
    // SAFETY: `small` outlives the inputs.
    let int8 = unsafe { Strided::new(small.as_ptr(), 3, 0, &[3], &[1], Element::I8, true) }.unwrap();
    let err = reduce_scalar(
        &int8,
        &Request {
            initial: Some(Scalar::Int(1000)),
            ..Request::new(Op::Min)
        },
        &control,
    )
    .unwrap_err();
    assert_eq!(err.code(), "ERR_MEMMAP_VALUE_OUT_OF_RANGE");
    let times = [0u8; 24];
    // SAFETY: as above.
    let dates = unsafe { Strided::new(times.as_ptr(), 24, 0, &[3], &[8], Element::Datetime, true) }.unwrap();
    assert_eq!(
        reduce_scalar(&dates, &Request::new(Op::Sum), &control)
            .unwrap_err()
            .code(),
        "ERR_MEMMAP_INVALID_DTYPE"
    );
    // A view outside its memory.
    // SAFETY: nothing is read: the constructor refuses.
    let outside = unsafe { Strided::new(bytes.as_ptr(), bytes.len(), 4, &[2, 3], &[12, 4], Element::F32, true) };
    assert_eq!(outside.unwrap_err().code(), "ERR_MEMMAP_INVALID_ARG");
    // SAFETY: as above.
    let backwards = unsafe { Strided::new(bytes.as_ptr(), bytes.len(), 0, &[2], &[-4], Element::F32, true) };
    assert_eq!(backwards.unwrap_err().code(), "ERR_MEMMAP_INVALID_ARG");
}

#[test]
fn views_past_four_gibibytes() {
    // A sparse 7 GiB file: a few values written past 4 GiB, reduced through
    // views with strides over 2^31 (only the pages they touch are read).
    let dir = std::env::temp_dir().join(format!("memmap-core-{}-reduce-big", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big");
    let size = 7u64 << 30;
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(size).unwrap();
    use std::os::unix::fs::FileExt;
    let at = |row: u64, col: u64| row * ((2 << 30) + 64) + col * ((1 << 30) + 8);
    let mut expected = [[0i64; 3]; 3];
    for row in 0..3u64 {
        for col in 0..3u64 {
            let v = (row * 10 + col) as i32 - 7;
            file.write_all_at(&v.to_ne_bytes(), at(row, col)).unwrap();
            expected[row as usize][col as usize] = v as i64;
        }
    }
    drop(file);
    let map = crate::Mapping::open(
        crate::Source::Path(path),
        crate::Mode::ReadOnly,
        0,
        crate::Length::Exact(size),
    )
    .unwrap();
    let (shape, strides) = ([3usize, 3], [(2isize << 30) + 64, (1 << 30) + 8]);
    // SAFETY: the map outlives the input.
    let input = unsafe {
        Strided::new(
            map.as_ptr(),
            map.len(),
            0,
            &shape,
            &strides,
            Element::I32,
            cfg!(target_endian = "little"),
        )
    }
    .unwrap();
    let mut out = [0u8; 24];
    reduce(
        &input,
        &Request {
            axes: Some(&[0]),
            ..Request::new(Op::Sum)
        },
        &Control::default(),
        &mut out,
    )
    .unwrap();
    for col in 0..3 {
        let got = i64::from_ne_bytes(out[col * 8..col * 8 + 8].try_into().unwrap());
        assert_eq!(got, (0..3).map(|r| expected[r][col]).sum::<i64>());
    }
    reduce(
        &input,
        &Request {
            axes: Some(&[1]),
            ..Request::new(Op::ArgMin)
        },
        &Control::default(),
        &mut out,
    )
    .unwrap();
    assert_eq!(i64::from_ne_bytes(out[..8].try_into().unwrap()), 0);
    // Reversed, so that the first element is the last of the file.
    let (offset, back) = (at(2, 2) as usize, [-strides[0], -strides[1]]);
    // SAFETY: as above.
    let reversed = unsafe {
        Strided::new(
            map.as_ptr(),
            map.len(),
            offset,
            &shape,
            &back,
            Element::I32,
            cfg!(target_endian = "little"),
        )
    }
    .unwrap();
    assert_eq!(
        reduce_scalar(&reversed, &Request::new(Op::ArgMax), &Control::default()).unwrap(),
        Scalar::Int(0)
    );
    assert_eq!(
        reduce_scalar(&reversed, &Request::new(Op::Max), &Control::default()).unwrap(),
        Scalar::Int(15)
    );
    drop(map);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn default_sizes_take_the_vector_paths() {
    // With the engine's own unit and state sizes: rows of 2, 3, 4, 8, 16
    // (the unrolled and hand-written paths), long rows, columns, masks.
    let mut rng = Rng(0x5eed);
    let shapes = [
        vec![1001, 4],
        vec![333, 16],
        vec![250, 3],
        vec![129, 2],
        vec![3, 2000],
        vec![40, 8, 9],
    ];
    for element in [Element::F32, Element::F64, Element::I16, Element::F16] {
        for shape in &shapes {
            for little in [true, false] {
                for (label, case, len) in views(shape, element.itemsize()).into_iter().take(3) {
                    let special = rng.below(3) == 0;
                    let mem = memory(&mut rng, element, little, len, special);
                    let trial = Trial {
                        element,
                        little,
                        memory: &mem,
                        case: &case,
                        mask: None,
                    };
                    {
                        let control = Control {
                            threads: 2,
                            ..Control::default()
                        };
                        for axes in axis_sets(shape.len()) {
                            for op in Op::ALL {
                                trial.run(op, axes.as_deref(), 0.0, None, &control, label);
                            }
                        }
                    }
                }
            }
        }
    }
}
