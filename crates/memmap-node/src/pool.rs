//! The library's own threads for async work (reductions, flushes, closes).
//!
//! napi-rs's `AsyncTask` runs on libuv's thread pool, which Node shares with
//! `fs`, `dns.lookup`, `crypto` and `zlib`: four threads by default, so four
//! long reductions in flight made every `fs.promises.readFile` wait for one
//! of them to end. Work here runs on a few threads of the library's own, at
//! low scheduling priority (threads a reduction starts inherit it), and
//! settles its Promise on the JavaScript thread through a threadsafe function
//! (napi-rs's `JsDeferred`, which also copes with a worker's env torn down
//! before the work ends). libuv's pool stays Node's.
//!
//! Two lanes. Flushes and closes (`Lane::Urgent`: short, and a close holds
//! the file until it ends, so a `w+` or a shrink of it is refused
//! meanwhile) are taken before any queued reduction (`Lane::Work`), and one
//! thread serves them only, so they never wait behind reductions that are
//! already running either: one `closeAsync()` of a small map behind eight
//! long `sumAsync()` calls used to take as long as the eight. Within a lane,
//! jobs start in the order they came.
//!
//! A worker thread's env that goes away (`worker.terminate()`) takes its
//! reductions with it: an env cleanup hook drops those still queued and sets
//! the abort flag of those running, so a dead worker's work does not keep
//! the threads busy for everyone else. Its flushes and closes run to their
//! end (they write the file), their settlement discarded as napi-rs discards
//! any settlement for a torn-down env.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};

use napi::bindgen_prelude::{Env, Object, Task, ToNapiValue};
use napi::sys;

use crate::errors::{coded, Code, Result};

type Job = Box<dyn FnOnce() + Send>;

/// Which queue a task waits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Flushes and closes: before any reduction, with a thread of their own.
    Urgent,
    /// Reductions.
    Work,
}

/// What the pool runs: a `Task` that says which lane it waits in and how a
/// running one is stopped when its env goes away.
pub trait Pooled: Task {
    const LANE: Lane;

    /// The flag that makes the running task stop early (a reduction's abort
    /// flag); `None` for work that runs to its end.
    fn abort_flag(&self) -> Option<Arc<AtomicBool>> {
        None
    }
}

/// A job and whose it is.
struct Queued {
    job: Job,
    /// The env (by the number `env_number` gave it) whose Promise it settles.
    env: u64,
    abort: Option<Arc<AtomicBool>>,
}

#[derive(Default)]
struct Queues {
    urgent: VecDeque<Queued>,
    work: VecDeque<Queued>,
    /// The jobs running now: (env, abort flag), for an env's teardown.
    running: Vec<(u64, u64, Arc<AtomicBool>)>,
}

struct Pool {
    queues: Mutex<Queues>,
    /// Wakes the threads that take any job.
    ready: Condvar,
    /// Wakes the thread that takes urgent jobs only (a wake-up of the others
    /// must never be spent on it).
    urgent_ready: Condvar,
    /// Threads that started: with none, work runs on the calling thread.
    /// Without the urgent lane's own, urgent jobs still go first on the others.
    started: AtomicUsize,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, Queues> {
        self.queues.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// How many threads run reductions: one per core, at least two (a flush
/// waiting on the disk on one must not hold up a reduction) and at most four
/// (a reduction shares a large view among the cores itself). The urgent
/// lane's own thread comes on top.
fn thread_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 4)
}

static POOL: OnceLock<&'static Pool> = OnceLock::new();

fn pool() -> &'static Pool {
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool {
            queues: Mutex::new(Queues::default()),
            ready: Condvar::new(),
            urgent_ready: Condvar::new(),
            started: AtomicUsize::new(0),
        }));
        for n in 0..=thread_count() {
            let urgent_only = n == 0;
            let started = std::thread::Builder::new()
                .name(if urgent_only {
                    "memmap-flush".to_string()
                } else {
                    format!("memmap-{n}")
                })
                .spawn(move || memmap_core::with_low_priority(|| serve(pool, urgent_only)));
            // A thread that cannot start leaves the others.
            if started.is_ok() {
                pool.started.fetch_add(1, Ordering::Relaxed);
            }
        }
        pool
    })
}

/// A pool thread's life: take the next job (an urgent one first; only those
/// on the urgent lane's own thread), run it, forever (the threads end with
/// the process).
fn serve(pool: &'static Pool, urgent_only: bool) {
    static TICKETS: AtomicU64 = AtomicU64::new(0);
    loop {
        let (queued, ticket) = {
            let mut queues = pool.lock();
            loop {
                let next = match queues.urgent.pop_front() {
                    Some(job) => Some(job),
                    None if urgent_only => None,
                    None => queues.work.pop_front(),
                };
                if let Some(queued) = next {
                    let ticket = TICKETS.fetch_add(1, Ordering::Relaxed);
                    if let Some(abort) = &queued.abort {
                        queues.running.push((ticket, queued.env, abort.clone()));
                    }
                    break (queued, ticket);
                }
                let wake = if urgent_only { &pool.urgent_ready } else { &pool.ready };
                queues = wake.wait(queues).unwrap_or_else(|poisoned| poisoned.into_inner());
            }
        };
        let tracked = queued.abort.is_some();
        (queued.job)();
        if tracked {
            pool.lock().running.retain(|&(t, ..)| t != ticket);
        }
    }
}

/// Whether `hold` has the threads waiting, and the signal that lets them go.
static HELD: Mutex<bool> = Mutex::new(false);
static RELEASED: Condvar = Condvar::new();

/// Parks every thread of the pool until `release`, so that a test can queue
/// work and know that none of it starts before what it does next (a close,
/// say) whatever the machine's speed. Every thread takes an urgent job
/// first, one at a time, so the parking jobs queued there are the next job
/// of every thread.
pub fn hold() {
    *HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
    let pool = pool();
    let mut queues = pool.lock();
    for _ in 0..pool.started.load(Ordering::Relaxed) {
        queues.urgent.push_back(Queued {
            job: Box::new(|| {
                let mut held = HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                while *held {
                    held = RELEASED.wait(held).unwrap_or_else(|poisoned| poisoned.into_inner());
                }
            }),
            env: 0,
            abort: None,
        });
    }
    drop(queues);
    pool.ready.notify_all();
    pool.urgent_ready.notify_all();
}

/// Lets the threads `hold` parked go.
pub fn release() {
    *HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = false;
    RELEASED.notify_all();
}

thread_local! {
    /// The envs of this thread that have the teardown hook, by address, with
    /// the number their jobs carry (an address may be reused by a later env;
    /// a number is not). Usually one: a worker thread's, or the main thread's.
    static ENVS: RefCell<Vec<(usize, u64)>> = const { RefCell::new(Vec::new()) };
}

/// The number of `env`'s jobs, registering its teardown hook the first time.
fn env_number(env: &Env) -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let raw = env.raw();
    let known = ENVS.with_borrow(|envs| envs.iter().find(|e| e.0 == raw as usize).map(|e| e.1));
    if let Some(number) = known {
        return number;
    }
    let number = NEXT.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `raw` is the calling function's live env, on its thread; the
    // hook's data is the env's number (nothing to free), and the hook runs
    // on this thread at the env's teardown.
    let status = unsafe { sys::napi_add_env_cleanup_hook(raw, Some(env_teardown), number as *mut c_void) };
    if status == sys::Status::napi_ok {
        ENVS.with_borrow_mut(|envs| envs.push((raw as usize, number)));
    }
    // Without the hook, the jobs run to their end as before.
    number
}

/// An env's teardown: its queued reductions are dropped (never run; the
/// Promise is gone with the env), its running ones told to stop.
unsafe extern "C" fn env_teardown(data: *mut c_void) {
    let number = data as u64;
    let _ = ENVS.try_with(|envs| {
        if let Ok(mut envs) = envs.try_borrow_mut() {
            envs.retain(|e| e.1 != number);
        }
    });
    let Some(pool) = POOL.get() else { return };
    let dropped: VecDeque<Queued> = {
        let mut queues = pool.lock();
        for (_, env, abort) in &queues.running {
            if *env == number {
                abort.store(true, Ordering::Relaxed);
            }
        }
        let (gone, kept) = std::mem::take(&mut queues.work)
            .into_iter()
            .partition(|q| q.env == number);
        queues.work = kept;
        gone
    };
    // Outside the lock: dropping a task may drop the last share of a map.
    drop(dropped);
}

/// Runs `task` on the library's threads and returns the Promise it settles:
/// `compute` there, `resolve` (or `reject`) and `finally` on the JavaScript
/// thread, as napi-rs's `AsyncTask` does on libuv's pool. A panic in
/// `compute` rejects the Promise instead of ending a pool thread.
pub fn spawn<T>(env: &Env, task: T) -> Result<Object<'_>>
where
    T: Pooled + 'static,
    T::JsValue: ToNapiValue + 'static,
{
    let (deferred, promise) = env.create_deferred().map_err(|error| {
        coded(
            Code::Core(memmap_core::ErrorKind::Io),
            format!("async work could not start: {}", error.reason),
        )
    })?;
    let abort = task.abort_flag();
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
    let queued = Queued {
        job,
        env: env_number(env),
        abort,
    };
    let mut queues = pool.lock();
    match T::LANE {
        Lane::Urgent => queues.urgent.push_back(queued),
        Lane::Work => queues.work.push_back(queued),
    }
    drop(queues);
    pool.ready.notify_one();
    if T::LANE == Lane::Urgent {
        pool.urgent_ready.notify_one();
    }
    Ok(promise)
}
