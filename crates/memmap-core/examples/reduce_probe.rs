//! Development probe: times reductions of an in-memory array, ours (and
//! with --numpy numpy's) by the fastest of many trials: compute cost with
//! the data in cache, free of the memory noise of a busy machine.
//!
//! cargo run --release -p memmap-core --example reduce_probe -- OP ROWS COLS AXIS|- THREADS [CODE] [>]
//! cargo run --release -p memmap-core --example reduce_probe -- table [ELEMENTS] [--numpy]
use memmap_core::reduce::{self, Control, Element, Op, Request, Strided};
use std::time::Instant;

fn data(element: Element, n: usize, little: bool) -> Vec<u8> {
    let size = element.itemsize();
    let mut data = vec![0u8; n * size];
    let mut s = 1u64;
    for c in data.chunks_mut(size) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        match element {
            Element::F16 => {
                c.copy_from_slice(&reduce::f64_to_f16(((s >> 11) % 2000) as f64 / 10.0 - 100.0).to_ne_bytes())
            }
            Element::F32 => c.copy_from_slice(&(((s >> 11) % 100000) as f32 / 100.0).to_ne_bytes()),
            Element::F64 => c.copy_from_slice(&(((s >> 11) % 100000) as f64 / 100.0).to_ne_bytes()),
            _ => c.copy_from_slice(&s.to_ne_bytes()[..size]),
        }
        if little != cfg!(target_endian = "little") {
            c.reverse();
        }
    }
    data
}

/// Fastest of `trials` runs of `reps` reductions, in ns per element.
#[allow(clippy::too_many_arguments)]
fn time(
    element: Element,
    little: bool,
    shape: &[usize],
    op: Op,
    axis: Option<usize>,
    threads: usize,
    reps: usize,
    trials: usize,
) -> f64 {
    let n: usize = shape.iter().product();
    let size = element.itemsize();
    let bytes = data(element, n, little);
    let mut strides: Vec<isize> = if shape.len() == 2 {
        vec![(shape[1] * size) as isize, size as isize]
    } else {
        vec![size as isize]
    };
    // STEP=k: a 1-D view of every k-th element (`::k`) instead.
    let step: usize = std::env::var("STEP").map_or(0, |s| s.parse().unwrap());
    let stepped = [n / step.max(1)];
    let shape = if step > 0 {
        strides = vec![(step * size) as isize];
        &stepped[..]
    } else {
        shape
    };
    // SAFETY: `bytes` outlives the input.
    let input = unsafe { Strided::new(bytes.as_ptr(), bytes.len(), 0, shape, &strides, element, little) }.unwrap();
    let axes = axis.map(|a| [a]);
    let request = Request {
        axes: axes.as_ref().map(|a| &a[..]),
        ..Request::new(op)
    };
    let result = element.result(op).unwrap();
    let outputs: usize = reduce::output_shape(shape, request.axes).iter().product();
    let control = Control {
        threads,
        ..Control::default()
    };
    let mut out = vec![0u8; outputs * result.itemsize()];
    let mut best = f64::INFINITY;
    for _ in 0..trials {
        let t = Instant::now();
        for _ in 0..reps {
            reduce::reduce(&input, &request, &control, &mut out).unwrap();
        }
        best = best.min(t.elapsed().as_secs_f64() / reps as f64);
        std::hint::black_box(&out);
    }
    best * 1e9 / n as f64
}

fn numpy_table(codes: &[String]) -> String {
    let script = r#"
import sys, timeit, numpy as np, warnings
warnings.simplefilter('ignore'); np.seterr(all='ignore')
ops = ['sum','prod','mean','min','max','argmin','argmax','var','std','any','all','count_nonzero']
for code in sys.argv[1:]:
    dt = np.dtype(code)
    n = (256 << 10) // dt.itemsize
    rng = np.random.default_rng(1)
    a = (rng.integers(0, 100000, n) / 100).astype(dt) if dt.kind == 'f' else rng.integers(0, 255, n).astype(dt)
    row = []
    for op in ops:
        f = (lambda: np.count_nonzero(a)) if op == 'count_nonzero' else getattr(a, op)
        t = min(timeit.repeat(f, number=20, repeat=15)) / 20
        row.append('%.3f' % (t * 1e9 / n))
    print(code, ' '.join(row))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(codes)
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args[1] == "table" {
        let wanted: Vec<String> = args[2..].iter().filter(|a| !a.starts_with("--")).cloned().collect();
        let codes: Vec<String> = if wanted.is_empty() {
            [
                "<i1", "<u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8", "<f2", "<f4", "<f8", ">i2", ">i4", ">i8",
                ">f4", ">f8",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect()
        } else {
            wanted
        };
        println!("ns/element, in cache, one thread: ours (numpy)");
        let theirs = if args.iter().any(|a| a == "--numpy") {
            numpy_table(&codes)
        } else {
            String::new()
        };
        for code in &codes {
            let little = !code.starts_with('>');
            let element = Element::parse(&code[1..]).unwrap();
            let n = (256 << 10) / element.itemsize();
            let np: Vec<&str> = theirs
                .lines()
                .find(|l| l.starts_with(code.as_str()))
                .map_or(vec![], |l| l.split(' ').skip(1).collect());
            print!("{code}");
            for (k, op) in Op::ALL.into_iter().enumerate() {
                let ours = time(element, little, &[n], op, None, 1, 20, 15);
                match np.get(k) {
                    Some(t) => print!(" {}:{ours:.3}({t})", op.name()),
                    None => print!(" {}:{ours:.3}", op.name()),
                }
            }
            println!();
        }
        return;
    }
    let op = Op::parse(&args[1]).unwrap();
    let rows: usize = args[2].parse().unwrap();
    let cols: usize = args[3].parse().unwrap();
    let axis: Option<usize> = args.get(4).and_then(|a| a.parse().ok());
    let threads: usize = args.get(5).map_or(0, |a| a.parse().unwrap());
    let element = Element::parse(args.get(6).map_or("f4", |s| s.as_str())).unwrap();
    let little = args.get(7).is_none_or(|s| s != ">");
    let reps: usize = std::env::var("REPS").map_or(1, |r| r.parse().unwrap());
    let trials: usize = std::env::var("TRIALS").map_or(21, |r| r.parse().unwrap());
    let ns = time(element, little, &[rows, cols], op, axis, threads, reps, trials);
    let bytes = (rows * cols * element.itemsize()) as f64;
    println!(
        "{} {:?} {rows}x{cols} {}: min {:.3} ns/element, {:.1} GB/s",
        op.name(),
        axis,
        element.code(),
        ns,
        bytes / (ns * (rows * cols) as f64)
    );
}
