//! The library's own threads for async work (reductions, flushes, closes).
//!
//! napi-rs's `AsyncTask` runs on libuv's thread pool, which Node shares with
//! `fs`, `dns.lookup`, `crypto` and `zlib`: four threads by default, so four
//! long reductions in flight made every `fs.promises.readFile` wait for one
//! of them to end. Work here runs on a few threads of the library's own, at
//! low scheduling priority (threads a reduction starts inherit it), and
//! settles its Promise on the JavaScript thread through a threadsafe function
//! (napi-rs's `JsDeferred`, which also copes with a worker's env torn down
//! before the work ends). libuv's pool stays free for Node.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

use napi::bindgen_prelude::{Env, Object, Task, ToNapiValue};

use crate::errors::{coded, Code, Result};

type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
    /// Threads that started: with none, work runs on the calling thread.
    started: AtomicUsize,
}

/// How many threads: one per core, at least two (a flush waiting on the disk
/// must not hold up a reduction) and at most four (a reduction shares a large
/// view among the cores itself).
fn thread_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4)
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            jobs: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            started: AtomicUsize::new(0),
        }));
        for n in 0..thread_count() {
            let started = std::thread::Builder::new()
                .name(format!("memmap-{n}"))
                .spawn(move || memmap_core::with_low_priority(|| serve(pool)));
            // A thread that cannot start leaves the others.
            if started.is_ok() {
                pool.started.fetch_add(1, Ordering::Relaxed);
            }
        }
        pool
    })
}

/// A pool thread's life: take the next job, run it, forever (the threads end
/// with the process).
fn serve(pool: &'static Pool) {
    loop {
        let job = {
            let mut jobs = pool.jobs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            loop {
                match jobs.pop_front() {
                    Some(job) => break job,
                    None => jobs = pool.ready.wait(jobs).unwrap_or_else(|poisoned| poisoned.into_inner()),
                }
            }
        };
        job();
    }
}

/// Runs `task` on the library's threads and returns the Promise it settles:
/// `compute` there, `resolve` (or `reject`) and `finally` on the JavaScript
/// thread, as napi-rs's `AsyncTask` does on libuv's pool. A panic in
/// `compute` rejects the Promise instead of ending a pool thread.
pub fn spawn<T>(env: &Env, task: T) -> Result<Object<'_>>
where
    T: Task + 'static,
    T::JsValue: ToNapiValue + 'static,
{
    let (deferred, promise) = env.create_deferred().map_err(|error| {
        coded(
            Code::Core(memmap_core::ErrorKind::Io),
            format!("async work could not start: {}", error.reason),
        )
    })?;
    let job: Job = Box::new(move || {
        let mut task = task;
        let output = catch_unwind(AssertUnwindSafe(|| task.compute())).unwrap_or_else(|_| {
            Err(napi::Error::from_reason(
                "memmap: an async task panicked on the library's thread",
            ))
        });
        deferred.resolve(move |env| {
            let value = match output {
                Ok(output) => task.resolve(env, output),
                Err(error) => task.reject(env, error),
            };
            task.finally(env)?;
            value
        });
    });
    let pool = pool();
    if pool.started.load(Ordering::Relaxed) == 0 {
        job();
        return Ok(promise);
    }
    pool.jobs
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push_back(job);
    pool.ready.notify_one();
    Ok(promise)
}
