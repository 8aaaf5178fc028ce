//! The reduction engine against numpy: cases written by numpy_oracle.py (an
//! input view's bytes, the request, numpy's result or error) replayed through
//! the engine. Integer, bool, time and index results must equal numpy's bit
//! for bit, result dtypes must be numpy's, errors numpy's; float results must
//! be at least as close as numpy's to the same reduction in long double.
//!
//! Runs the committed fixture (tests/fixtures/numpy_reductions.txt) always,
//! and a larger set made live by python3 + numpy when they are installed
//! (MEMMAP_REQUIRE_NUMPY=1 makes their absence a failure, as in CI).

use std::path::{Path, PathBuf};

use memmap_core::reduce::{self, Control, Element, Mask, Op, Request, Scalar, Strided};
use memmap_core::ErrorKind;

fn hex(text: &str) -> Vec<u8> {
    if text == "-" {
        return Vec::new();
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[derive(Debug)]
enum Outcome {
    Result {
        element: Element,
        numpy: Vec<u8>,
        precise: Vec<u8>,
        scale: Vec<u8>,
    },
    Error(ErrorKind),
}

#[derive(Debug)]
struct Case {
    title: String,
    element: Element,
    little: bool,
    op: Op,
    base: Vec<u8>,
    offset: usize,
    shape: Vec<usize>,
    strides: Vec<isize>,
    axes: Option<Vec<usize>>,
    ddof: f64,
    initial: Option<Scalar>,
    mask: Option<(Vec<u8>, usize, Vec<isize>)>,
    outcome: Outcome,
}

fn parse(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    while let Some(head) = lines.next() {
        let words: Vec<&str> = head.split(' ').collect();
        assert_eq!(words[0], "case", "{head}");
        let field = |line: Option<&str>, key: &str| -> Vec<String> {
            let line = line.unwrap_or_else(|| panic!("{head}: no {key}"));
            let mut parts = line.split(' ').map(str::to_string);
            assert_eq!(parts.next().as_deref(), Some(key), "{head}: {line}");
            parts.collect()
        };
        let base = hex(&field(lines.next(), "base")[0]);
        let view = field(lines.next(), "view");
        let offset: usize = view[0].parse().unwrap();
        let ndim: usize = view[1].parse().unwrap();
        let shape = view[2..2 + ndim].iter().map(|x| x.parse().unwrap()).collect();
        let strides = view[2 + ndim..2 + 2 * ndim]
            .iter()
            .map(|x| x.parse().unwrap())
            .collect();
        let axes = field(lines.next(), "axes");
        let axes = match axes[0].as_str() {
            "-" => None,
            "none" => Some(Vec::new()),
            _ => Some(axes.iter().map(|x| x.parse().unwrap()).collect()),
        };
        let ddof: f64 = field(lines.next(), "ddof")[0].parse().unwrap();
        let initial = field(lines.next(), "initial");
        let initial = match initial[0].as_str() {
            "-" => None,
            "i" => Some(Scalar::Int(initial[1].parse().unwrap())),
            "b" => Some(Scalar::Bool(initial[1] == "1")),
            _ => Some(Scalar::Float(initial[1].parse().unwrap())),
        };
        let mask = field(lines.next(), "mask");
        let mask = (mask[0] != "-").then(|| {
            (
                hex(&mask[0]),
                mask[1].parse().unwrap(),
                mask[2..].iter().map(|x| x.parse().unwrap()).collect(),
            )
        });
        let result = lines.next().unwrap();
        let outcome = if let Some(kind) = result.strip_prefix("error ") {
            Outcome::Error(match kind {
                "EmptyReduction" => ErrorKind::EmptyReduction,
                _ => ErrorKind::InvalidDtype,
            })
        } else {
            let r = field(Some(result), "result");
            Outcome::Result {
                element: Element::parse(&r[0]).unwrap_or_else(|| panic!("result dtype {}", r[0])),
                numpy: hex(&r[1]),
                precise: hex(&r[2]),
                scale: hex(&r[3]),
            }
        };
        assert_eq!(lines.next(), Some("end"));
        cases.push(Case {
            title: head.to_string(),
            element: Element::parse(words[1]).unwrap(),
            little: words[2] == "<",
            op: Op::parse(words[4]).unwrap(),
            base,
            offset,
            shape,
            strides,
            axes,
            ddof,
            initial,
            mask,
            outcome,
        });
    }
    cases
}

fn unit(result: Element) -> f64 {
    match result {
        Element::F16 => 2f64.powi(-10),
        Element::F32 | Element::C64 => 2f64.powi(-23),
        _ => 2f64.powi(-52),
    }
}

fn parts(s: Scalar) -> (f64, f64) {
    match s {
        Scalar::Float(v) => (v, 0.0),
        Scalar::Complex(re, im) => (re, im),
        other => panic!("not a float: {other:?}"),
    }
}

/// Whether `ours` is as close to `precise` as numpy's `theirs` is (with a
/// margin of rounding to the result dtype and of f64 accumulation, whose
/// error scales with `scale`).
fn close(op: Op, result: Element, ours: Scalar, theirs: Scalar, precise: Option<Scalar>, scale: f64) -> bool {
    let (o, t) = (parts(ours), parts(theirs));
    let finite = |(re, im): (f64, f64)| re.is_finite() && im.is_finite();
    if op == Op::Prod {
        // numpy multiplies float16/float32 in their own dtype, where a
        // product overflows to inf (and inf * 0 is NaN) long before f64's
        // does; the engine multiplies in f64 and rounds once, so it gives the
        // long-double product where numpy gives inf or NaN. Complex products
        // with infinities are NaN or infinite by the order of multiplication.
        if let Some(p) = precise.map(parts) {
            if finite(p) && !finite(t) {
                return finite(o)
                    && (o.0 - p.0).abs() <= 1e-9 * p.0.abs() + 1e-300
                    && (o.1 - p.1).abs() <= 1e-9 * p.1.abs() + 1e-300;
            }
        }
        if result.is_complex() && !finite(t) {
            return !finite(o);
        }
    }
    let nan = |(re, im): (f64, f64)| re.is_nan() || im.is_nan();
    if nan(t) || nan(o) {
        return nan(t) && nan(o);
    }
    let p = precise.map_or(t, parts);
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    if !p.0.is_finite() || !p.1.is_finite() || !t.0.is_finite() || !t.1.is_finite() {
        return (same(o.0, p.0) && same(o.1, p.1)) || (same(o.0, t.0) && same(o.1, t.1));
    }
    let square = |x: f64| if op == Op::Std { x * x } else { x };
    let u = unit(result);
    [(o.0, t.0, p.0), (o.1, t.1, p.1)].iter().all(|&(o, t, p)| {
        let (o, t, p) = (square(o), square(t), square(p));
        let margin = match op {
            Op::Prod => 1e-12 * p.abs(),
            Op::Var | Op::Std => 64.0 * f64::EPSILON * scale,
            _ => 16.0 * f64::EPSILON * scale,
        };
        (o - p).abs() <= (t - p).abs() * 1.01 + 4.0 * u * p.abs() + margin + 1e-300
    })
}

fn replay(cases: &[Case]) -> usize {
    let mut failures = Vec::new();
    for case in cases {
        // SAFETY: the case's bytes outlive the input and nothing writes them.
        let input = unsafe {
            Strided::new(
                case.base.as_ptr(),
                case.base.len(),
                case.offset,
                &case.shape,
                &case.strides,
                case.element,
                case.little,
            )
        }
        .unwrap_or_else(|e| panic!("{}: {e}", case.title));
        let mask = case.mask.as_ref().map(|(bytes, offset, strides)| {
            // SAFETY: as above.
            unsafe { Mask::new(bytes.as_ptr(), bytes.len(), *offset, strides) }
        });
        let request = Request {
            op: case.op,
            axes: case.axes.as_deref(),
            ddof: case.ddof,
            initial: case.initial,
            mask,
        };
        let outputs: usize = reduce::output_shape(&case.shape, request.axes).iter().product();
        let what = || {
            format!(
                "{} shape {:?} strides {:?} axes {:?} ddof {} initial {:?} mask {}",
                case.title,
                case.shape,
                case.strides,
                case.axes,
                case.ddof,
                case.initial,
                case.mask.is_some()
            )
        };
        let result = case.element.result(case.op);
        match (&case.outcome, result) {
            (Outcome::Error(kind), Err(e)) => {
                if e.kind() != *kind {
                    failures.push(format!("{}: numpy {kind:?}, ours {e}", what()));
                }
            }
            (Outcome::Error(kind), Ok(element)) => {
                let mut out = vec![0u8; outputs * element.itemsize()];
                match reduce::reduce(&input, &request, &Control::default(), &mut out) {
                    Err(e) if e.kind() == *kind => {}
                    other => failures.push(format!("{}: numpy {kind:?}, ours {other:?}", what())),
                }
            }
            (Outcome::Result { .. }, Err(e)) => failures.push(format!("{}: numpy gives a result, ours {e}", what())),
            (
                Outcome::Result {
                    element,
                    numpy,
                    precise,
                    scale,
                },
                Ok(ours),
            ) => {
                if ours != *element {
                    failures.push(format!("{}: result dtype numpy {element:?}, ours {ours:?}", what()));
                    continue;
                }
                let size = element.itemsize();
                let mut out = vec![0u8; outputs * size];
                if let Err(e) = reduce::reduce(&input, &request, &Control::default(), &mut out) {
                    failures.push(format!("{}: {e}", what()));
                    continue;
                }
                assert_eq!(numpy.len(), out.len(), "{}", what());
                let float = element.is_float() || element.is_complex();
                for k in 0..outputs {
                    let at = k * size..(k + 1) * size;
                    let (o, t) = (
                        Scalar::read(*element, &out[at.clone()]),
                        Scalar::read(*element, &numpy[at.clone()]),
                    );
                    let ok = if float {
                        let p = (!precise.is_empty()).then(|| Scalar::read(*element, &precise[at.clone()]));
                        let s = if scale.is_empty() {
                            0.0
                        } else {
                            f64::from_ne_bytes(scale[k * 8..k * 8 + 8].try_into().unwrap())
                        };
                        close(case.op, *element, o, t, p, s)
                    } else {
                        out[at.clone()] == numpy[at]
                    };
                    if !ok {
                        failures.push(format!("{} output {k}: numpy {t:?}, ours {o:?}", what()));
                    }
                }
            }
        }
    }
    for f in failures.iter().take(200) {
        eprintln!("{f}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from numpy",
        failures.len(),
        cases.len()
    );
    cases.len()
}

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_numpy_fixture() {
    let path = manifest().join("tests/fixtures/numpy_reductions.txt");
    let cases = parse(&std::fs::read_to_string(&path).unwrap());
    assert!(replay(&cases) > 500);
}

#[test]
fn live_numpy() {
    let dir = std::env::temp_dir().join(format!("memmap-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("cases.txt");
    let script = manifest().join("tests/numpy_oracle.py");
    let ran = std::process::Command::new("python3")
        .arg(&script)
        .arg(&out)
        .args(["--cases", "4000", "--seed", "2024"])
        .status();
    let required = std::env::var("MEMMAP_REQUIRE_NUMPY").is_ok_and(|v| v == "1");
    match ran {
        Ok(status) if status.success() => {}
        other => {
            assert!(
                !required,
                "python3 with numpy is required (MEMMAP_REQUIRE_NUMPY=1): {other:?}"
            );
            eprintln!("skipped: python3 with numpy is not available ({other:?})");
            return;
        }
    }
    let cases = parse(&std::fs::read_to_string(&out).unwrap());
    let _ = std::fs::remove_dir_all(Path::new(&dir));
    assert!(replay(&cases) > 4000);
}
