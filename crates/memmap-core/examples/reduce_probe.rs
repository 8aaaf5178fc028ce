// Temporary probe: times one reduction over an in-memory array.
use memmap_core::reduce::{self, Control, Element, Op, Request, Strided};
use std::time::Instant;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let op = Op::parse(&args[1]).unwrap();
    let rows: usize = args[2].parse().unwrap();
    let cols: usize = args[3].parse().unwrap();
    let axis: Option<usize> = args.get(4).and_then(|a| a.parse().ok());
    let threads: usize = args.get(5).map_or(0, |a| a.parse().unwrap());
    let element = Element::parse(args.get(6).map_or("f4", |s| s.as_str())).unwrap();
    let n = rows * cols;
    let size = element.itemsize();
    let mut data = vec![0u8; n * size];
    let mut s = 1u64;
    for c in data.chunks_mut(size) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        match element {
            Element::F32 => c.copy_from_slice(&(((s >> 11) % 100000) as f32 / 100.0).to_ne_bytes()),
            Element::F64 => c.copy_from_slice(&(((s >> 11) % 100000) as f64 / 100.0).to_ne_bytes()),
            _ => c.copy_from_slice(&s.to_ne_bytes()[..size]),
        }
    }
    let shape = [rows, cols];
    let strides = [(cols * size) as isize, size as isize];
    // SAFETY: `data` outlives the input.
    let input = unsafe { Strided::new(data.as_ptr(), data.len(), 0, &shape, &strides, element, true) }.unwrap();
    let axes = axis.map(|a| [a]);
    let request = Request {
        axes: axes.as_ref().map(|a| &a[..]),
        ..Request::new(op)
    };
    let result = element.result(op).unwrap();
    let outputs: usize = reduce::output_shape(&shape, request.axes).iter().product();
    let control = Control {
        threads,
        ..Control::default()
    };
    let reps: usize = std::env::var("REPS").map_or(1, |r| r.parse().unwrap());
    let mut times = vec![];
    let mut out = vec![0u8; outputs * result.itemsize()];
    let trials: usize = std::env::var("TRIALS").map_or(21, |r| r.parse().unwrap());
    for _ in 0..trials {
        let t = Instant::now();
        for _ in 0..reps {
            reduce::reduce(&input, &request, &control, &mut out).unwrap();
        }
        times.push(t.elapsed().as_secs_f64() / reps as f64);
        std::hint::black_box(&out);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{} {:?} {}x{} {}: median {:.3} ms, min {:.3} ms, {:.1} GB/s, min {:.3} ns/element",
        op.name(),
        axis,
        rows,
        cols,
        element.code(),
        times[trials / 2] * 1e3,
        times[0] * 1e3,
        data.len() as f64 / times[0] / 1e9,
        times[0] * 1e9 / n as f64
    );
}
