//! The reduction engine against numpy, side by side on the same files: the
//! targets of issue 13 (a (2^24, 16) and a (2^26, 4) float32 file, 1 GiB
//! each) and every whole-array reduction over 1 GiB of each numeric dtype in
//! both byte orders. Each round runs ours, then numpy's same call in a
//! python3 process that keeps the file mapped (order alternating by round);
//! medians and min-max over the rounds; page cache warm (a round of each
//! before timing).
//!
//! ```text
//! cargo run --release -p memmap-core --example reduce_bench            # everything (~15 min)
//! cargo run --release -p memmap-core --example reduce_bench -- --quick # 256 MiB files, 3 rounds
//!     --rounds N   rounds per case (default 5)
//!     --only TEXT  only cases whose name contains TEXT
//!     --targets    the axis targets only; --dtypes: the dtype table only
//! ```
//!
//! Files go to `$MEMMAP_BENCH_DIR` (default the system temp dir) and are removed.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use memmap_core::reduce::{self, Control, Element, Op, Request, Strided};
use memmap_core::{Length, Mapping, Mode, Source};

const SERVER: &str = r#"
import json, sys, time, warnings
import numpy as np
warnings.simplefilter('ignore')
np.seterr(all='ignore')
maps = {}
for line in sys.stdin:
    c = json.loads(line)
    key = (c['path'], c['dtype'], tuple(c['shape']))
    if key not in maps:
        maps.clear()
        maps[key] = np.memmap(c['path'], dtype=c['dtype'], mode='r', shape=tuple(c['shape']))
    a = maps[key]
    axis = c['axis']
    if c['op'] == 'count_nonzero':
        f = lambda: np.count_nonzero(a, axis=axis)
    else:
        m = getattr(a, c['op'])
        f = lambda: m(axis=axis)
    t = time.perf_counter()
    r = f()
    t = time.perf_counter() - t
    r = np.asarray(r)
    check = float(np.sum(r.astype(np.float64))) if r.dtype.kind != 'c' else float(np.sum(np.abs(r)))
    print(json.dumps({'t': t, 'check': check if check == check else 'nan'}), flush=True)
"#;

struct Numpy {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Numpy {
    fn start() -> Numpy {
        let mut child = Command::new("python3")
            .args(["-c", SERVER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 with numpy");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Numpy { child, input, output }
    }

    /// numpy's call on the file; returns (seconds, a checksum of the result).
    fn run(&mut self, file: &BenchFile, op: Op, axis: Option<usize>) -> (f64, f64) {
        let name = if op == Op::CountNonzero {
            "count_nonzero"
        } else {
            op.name()
        };
        let axis = axis.map_or("null".to_string(), |a| a.to_string());
        writeln!(
            self.input,
            r#"{{"path": "{}", "dtype": "{}", "shape": {:?}, "op": "{name}", "axis": {axis}}}"#,
            file.path.display(),
            file.numpy_dtype(),
            file.shape
        )
        .unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).expect("numpy answered");
        let field = |key: &str| -> f64 {
            let at = line
                .find(&format!("\"{key}\": "))
                .unwrap_or_else(|| panic!("numpy: {line}"))
                + key.len()
                + 4;
            let rest = &line[at..];
            let end = rest.find([',', '}']).unwrap();
            rest[..end].trim().trim_matches('"').parse().unwrap_or(f64::NAN)
        };
        (field("t"), field("check"))
    }
}

impl Drop for Numpy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct BenchFile {
    path: PathBuf,
    element: Element,
    little: bool,
    shape: Vec<usize>,
    map: Mapping,
}

impl BenchFile {
    /// Writes `shape` elements of `element` (deterministic pseudo-random
    /// values in a range that keeps sums finite) and maps the file.
    fn create(dir: &Path, name: &str, element: Element, little: bool, shape: Vec<usize>) -> BenchFile {
        let path = dir.join(name);
        let count: usize = shape.iter().product();
        let size = element.itemsize();
        let mut file = std::io::BufWriter::with_capacity(1 << 22, std::fs::File::create(&path).unwrap());
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut chunk = Vec::with_capacity(1 << 22);
        for _ in 0..count {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let r = state >> 11;
            let mut bytes = [0u8; 8];
            match element {
                Element::F16 => {
                    bytes[..2].copy_from_slice(&reduce::f64_to_f16((r % 2000) as f64 / 10.0 - 100.0).to_ne_bytes())
                }
                Element::F32 => bytes[..4].copy_from_slice(&((r % 100_000) as f32 / 100.0).to_ne_bytes()),
                Element::F64 => bytes.copy_from_slice(&((r % 100_000) as f64 / 100.0).to_ne_bytes()),
                _ => bytes = r.to_ne_bytes(),
            }
            let value = &mut bytes[..size];
            if little != cfg!(target_endian = "little") {
                value.reverse();
            }
            chunk.extend_from_slice(value);
            if chunk.len() >= 1 << 22 {
                file.write_all(&chunk).unwrap();
                chunk.clear();
            }
        }
        file.write_all(&chunk).unwrap();
        file.flush().unwrap();
        drop(file);
        let map = Mapping::open(
            Source::Path(path.clone()),
            Mode::ReadOnly,
            0,
            Length::Exact((count * size) as u64),
        )
        .unwrap();
        BenchFile {
            path,
            element,
            little,
            shape,
            map,
        }
    }

    fn numpy_dtype(&self) -> String {
        let order = if self.element.itemsize() == 1 {
            "|"
        } else if self.little {
            "<"
        } else {
            ">"
        };
        format!("{order}{}", self.element.code())
    }

    fn bytes(&self) -> usize {
        self.map.len()
    }

    /// Our call; returns (seconds, the same checksum numpy's side computes).
    fn run(&self, op: Op, axis: Option<usize>) -> (f64, f64) {
        let strides = c_strides(&self.shape, self.element.itemsize());
        // SAFETY: the map outlives the input; nothing writes the file.
        let input = unsafe {
            Strided::new(
                self.map.as_ptr(),
                self.map.len(),
                0,
                &self.shape,
                &strides,
                self.element,
                self.little,
            )
        }
        .unwrap();
        let axes = axis.map(|a| [a]);
        let request = Request {
            axes: axes.as_ref().map(|a| &a[..]),
            ..Request::new(op)
        };
        let result = self.element.result(op).unwrap();
        let outputs: usize = reduce::output_shape(&self.shape, request.axes).iter().product();
        let start = Instant::now();
        let mut out = Output::new(outputs * result.itemsize());
        reduce::reduce(&input, &request, &Control::default(), out.bytes()).unwrap();
        let seconds = start.elapsed().as_secs_f64();
        let out = out.bytes();
        let check = out
            .chunks(result.itemsize())
            .map(|b| match reduce::Scalar::read(result, b) {
                reduce::Scalar::Bool(v) => v as u8 as f64,
                reduce::Scalar::Int(v) => v as f64,
                reduce::Scalar::UInt(v) => v as f64,
                reduce::Scalar::Float(v) => v,
                reduce::Scalar::Complex(re, im) => re.hypot(im),
            })
            .sum();
        (seconds, check)
    }
}

/// A result buffer as a caller should make one: large ones are fresh
/// anonymous memory in 2 MiB pages (`MADV_HUGEPAGE`), so that writing a
/// 256 MiB result costs 128 page faults, not 65,536 (those alone cost about
/// what reducing the 1 GiB input does). numpy's side allocates as numpy does.
struct Output {
    ptr: *mut u8,
    len: usize,
    heap: Vec<u8>,
}

impl Output {
    fn new(len: usize) -> Output {
        if len < 4 << 20 {
            return Output {
                ptr: std::ptr::null_mut(),
                len,
                heap: vec![0u8; len],
            };
        }
        // SAFETY: a fresh private anonymous mapping of `len` bytes, unmapped in Drop.
        let ptr = unsafe {
            let p = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            assert_ne!(p, libc::MAP_FAILED);
            libc::madvise(p, len, libc::MADV_HUGEPAGE);
            p as *mut u8
        };
        Output {
            ptr,
            len,
            heap: Vec::new(),
        }
    }

    fn bytes(&mut self) -> &mut [u8] {
        if self.ptr.is_null() {
            &mut self.heap
        } else {
            // SAFETY: the mapping is `len` bytes, readable and writable, ours alone.
            unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: the mapping made in `new`.
            unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
        }
    }
}

impl Drop for BenchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn c_strides(shape: &[usize], itemsize: usize) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut step = itemsize as isize;
    for a in (0..shape.len()).rev() {
        strides[a] = step;
        step *= shape[a] as isize;
    }
    strides
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn spread(xs: &[f64]) -> (f64, f64) {
    let min = xs.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    (min, max)
}

struct Timing {
    ours: Vec<f64>,
    numpy: Vec<f64>,
    agree: bool,
}

/// Rounds of ours and numpy's call, order alternating, after a warm-up of each.
fn paired(numpy: &mut Numpy, file: &BenchFile, op: Op, axis: Option<usize>, rounds: usize) -> Timing {
    let (_, ours_check) = file.run(op, axis);
    let (_, numpy_check) = numpy.run(file, op, axis);
    let scale = ours_check.abs().max(numpy_check.abs()).max(1.0);
    let agree = (ours_check.is_nan() && numpy_check.is_nan())
        || (ours_check - numpy_check).abs() <= 1e-3 * scale
        // float16/float32 sums: numpy accumulates in the dtype, we in float64.
        || matches!(file.element, Element::F16 | Element::F32) && (ours_check - numpy_check).abs() <= 2e-2 * scale;
    let mut t = Timing {
        ours: Vec::new(),
        numpy: Vec::new(),
        agree,
    };
    for round in 0..rounds {
        if round % 2 == 0 {
            t.ours.push(file.run(op, axis).0);
            t.numpy.push(numpy.run(file, op, axis).0);
        } else {
            t.numpy.push(numpy.run(file, op, axis).0);
            t.ours.push(file.run(op, axis).0);
        }
    }
    t
}

fn ms(s: f64) -> String {
    format!("{:.1}", s * 1e3)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| args.iter().any(|a| a == name);
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let quick = flag("--quick");
    let rounds: usize = value("--rounds").map_or(if quick { 3 } else { 5 }, |v| v.parse().unwrap());
    let only = value("--only");
    let (targets, dtypes) = match (flag("--targets"), flag("--dtypes")) {
        (false, false) => (true, true),
        pair => pair,
    };
    let scale = if quick { 4 } else { 1 };
    let dir = std::env::var_os("MEMMAP_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let dir = dir.join(format!("memmap-reduce-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wanted = |name: &str| only.as_ref().is_none_or(|o| name.contains(o.as_str()));
    let mut numpy = Numpy::start();
    let mut failures = 0;
    println!(
        "Reduction engine vs numpy, {} rounds per case (medians, min-max), {} threads, files of {} MiB",
        rounds,
        std::thread::available_parallelism().map_or(1, |n| n.get()).min(8),
        1024 / scale
    );

    if targets {
        println!("\n## Targets (issue 13): >= 3x numpy and >= 0.5x the bandwidth of sum() in the same run\n");
        println!("| call | shape | numpy ms (min-max) | ours ms (min-max) | numpy/ours | GB/s | x sum() GB/s | |");
        println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
        let shapes = [vec![(1 << 24) / scale, 16], vec![(1 << 26) / scale, 4]];
        let calls: [(Op, Option<usize>); 10] = [
            (Op::Sum, None),
            (Op::Sum, Some(0)),
            (Op::Mean, Some(0)),
            (Op::Max, Some(0)),
            (Op::Sum, Some(1)),
            (Op::Min, Some(1)),
            (Op::ArgMax, None),
            (Op::ArgMax, Some(0)),
            (Op::Std, None),
            (Op::Std, Some(0)),
        ];
        for shape in shapes {
            let label = format!("({}, {})", shape[0], shape[1]);
            if !calls.iter().any(|(op, axis)| wanted(&call_name(*op, *axis))) {
                continue;
            }
            let file = BenchFile::create(&dir, "target.f4", Element::F32, true, shape);
            let sum = paired(&mut numpy, &file, Op::Sum, None, rounds);
            let ceiling = file.bytes() as f64 / median(&sum.ours) / 1e9;
            for (op, axis) in calls {
                let name = call_name(op, axis);
                if !wanted(&name) {
                    continue;
                }
                let t = if (op, axis) == (Op::Sum, None) {
                    Timing { ..sum_copy(&sum) }
                } else {
                    paired(&mut numpy, &file, op, axis, rounds)
                };
                let (o, n) = (median(&t.ours), median(&t.numpy));
                let gbs = file.bytes() as f64 / o / 1e9;
                let speedup = n / o;
                let is_sum = (op, axis) == (Op::Sum, None);
                let pass = is_sum || (speedup >= 3.0 && gbs >= 0.5 * ceiling);
                failures += !pass as usize;
                let (omin, omax) = spread(&t.ours);
                let (nmin, nmax) = spread(&t.numpy);
                println!(
                    "| `{name}` | {label} | {} ({}-{}) | {} ({}-{}) | {:.2} | {:.1} | {:.2} | {}{} |",
                    ms(n),
                    ms(nmin),
                    ms(nmax),
                    ms(o),
                    ms(omin),
                    ms(omax),
                    speedup,
                    gbs,
                    gbs / ceiling,
                    if is_sum {
                        "ceiling"
                    } else if pass {
                        "PASS"
                    } else {
                        "FAIL"
                    },
                    if t.agree { "" } else { " (results differ!)" }
                );
            }
        }
    }

    if targets && wanted("abort") {
        failures += abort_latency(&dir, rounds) as usize;
    }

    if dtypes {
        println!("\n## Every whole-array reduction, 1 GiB of each dtype: time / numpy's (<= 1 passes)\n");
        let ops = Op::ALL;
        print!("| dtype |");
        for op in ops {
            print!(" {} |", op.name());
        }
        println!();
        println!("|{}", " --- |".repeat(ops.len() + 1));
        let kinds = [
            Element::I8,
            Element::U8,
            Element::I16,
            Element::U16,
            Element::I32,
            Element::U32,
            Element::I64,
            Element::U64,
            Element::F16,
            Element::F32,
            Element::F64,
        ];
        let mut worst: Vec<(f64, String)> = Vec::new();
        for element in kinds {
            for little in [true, false] {
                if element.itemsize() == 1 && !little {
                    continue;
                }
                let dtype = format!(
                    "{}{}",
                    if element.itemsize() == 1 {
                        "|"
                    } else if little {
                        "<"
                    } else {
                        ">"
                    },
                    element.code()
                );
                if !ops.iter().any(|op| wanted(&format!("{dtype} {}", op.name()))) {
                    continue;
                }
                let count = (1usize << 30) / scale / element.itemsize();
                let file = BenchFile::create(&dir, "dtype.bin", element, little, vec![count]);
                print!("| `{dtype}` |");
                std::io::stdout().flush().unwrap();
                for op in ops {
                    let name = format!("{dtype} {}", op.name());
                    if !wanted(&name) {
                        print!(" |");
                        continue;
                    }
                    // numpy's var/std of integers makes a float64 copy of the array.
                    if matches!(op, Op::Var | Op::Std) && !element.is_float() && !memory_for(count * 8 * 2) {
                        print!(" skipped (numpy needs {} GiB) |", (count * 8) >> 30);
                        continue;
                    }
                    let t = paired(&mut numpy, &file, op, None, rounds);
                    let ratio = median(&t.ours) / median(&t.numpy);
                    let pass = ratio <= 1.0;
                    failures += !pass as usize;
                    worst.push((ratio, name));
                    print!(
                        " {:.2} ({} / {} ms){}{} |",
                        ratio,
                        ms(median(&t.ours)),
                        ms(median(&t.numpy)),
                        if pass { "" } else { " FAIL" },
                        if t.agree { "" } else { " (results differ!)" }
                    );
                    std::io::stdout().flush().unwrap();
                }
                println!();
            }
        }
        worst.sort_by(|a, b| b.0.total_cmp(&a.0));
        if let Some((ratio, name)) = worst.first() {
            println!("\nSlowest relative to numpy: {name} at {ratio:.2}x numpy's time");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "\n{}",
        if failures == 0 {
            "All targets PASS".to_string()
        } else {
            format!("{failures} FAIL")
        }
    );
}

/// Issue 13: aborting a reduction of 16 GiB settles in under 50 ms. A
/// sparse 16 GiB float32 file is summed on another thread; 100 ms in, the
/// abort flag is set; timed from the flag to the call's return. Returns
/// whether the target failed.
fn abort_latency(dir: &Path, rounds: usize) -> bool {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let path = dir.join("abort.f4");
    let size = 16u64 << 30;
    std::fs::File::create(&path).unwrap().set_len(size).unwrap();
    let map = Mapping::open(Source::Path(path.clone()), Mode::ReadOnly, 0, Length::Exact(size)).unwrap();
    let shape = [(size / 4) as usize];
    let strides = [4isize];
    let mut settle = Vec::new();
    let mut done_fraction = Vec::new();
    for _ in 0..rounds {
        let abort = AtomicBool::new(false);
        let progress = AtomicU64::new(0);
        let control = Control {
            abort: Some(&abort),
            progress: Some(&progress),
            ..Control::default()
        };
        let (flagged, returned) = std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                // SAFETY: the map outlives the input.
                let input =
                    unsafe { Strided::new(map.as_ptr(), map.len(), 0, &shape, &strides, Element::F32, true) }.unwrap();
                let result = reduce::reduce_scalar(&input, &Request::new(Op::Sum), &control);
                (Instant::now(), result)
            });
            std::thread::sleep(std::time::Duration::from_millis(100));
            let flagged = Instant::now();
            abort.store(true, Ordering::Relaxed);
            let (returned, result) = worker.join().unwrap();
            assert!(result.is_err(), "the sum finished within 100 ms");
            (flagged, returned)
        });
        settle.push(returned.duration_since(flagged).as_secs_f64());
        done_fraction.push(progress.load(Ordering::Relaxed) as f64 / shape[0] as f64);
    }
    drop(map);
    let _ = std::fs::remove_file(&path);
    let (low, high) = spread(&settle);
    let pass = median(&settle) < 0.05;
    println!(
        "\n## Abort\n\nSum of a 16 GiB (sparse) float32 file aborted after 100 ms: settled in {} ms (min-max {}-{}), {:.1}% done; target < 50 ms: {}",
        ms(median(&settle)),
        ms(low),
        ms(high),
        100.0 * median(&done_fraction),
        if pass { "PASS" } else { "FAIL" }
    );
    !pass
}

fn sum_copy(t: &Timing) -> Timing {
    Timing {
        ours: t.ours.clone(),
        numpy: t.numpy.clone(),
        agree: t.agree,
    }
}

fn call_name(op: Op, axis: Option<usize>) -> String {
    match axis {
        None => format!("{}()", op.name()),
        Some(a) => format!("{}(axis={a})", op.name()),
    }
}

/// Whether the system has `bytes` of memory available (numpy's temporaries).
fn memory_for(bytes: usize) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/meminfo") else {
        return true;
    };
    info.lines()
        .find(|l| l.starts_with("MemAvailable:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<usize>().ok())
        .is_none_or(|kb| kb * 1024 > bytes)
}
