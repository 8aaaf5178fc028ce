//! Fail points for the system calls of the `sys` layer, so that tests can make
//! each call on the open, grow, flush and close paths fail in turn and check
//! that nothing changed. Compiled into unit tests only: a release build has no
//! fail points (every `check` is an empty inline function), and the Node
//! tests inject the same failures into the release addon with
//! `strace -e inject=` instead (see ARCHITECTURE.md, "Fault injection").
//!
//! A plan is per thread: the test thread that calls `Mapping::open` is the one
//! whose calls are counted, so tests run in parallel without seeing each
//! other's plans.

use std::io;

/// The system calls that go through a fail point, by name (as strace names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Open,
    Fstat,
    Ftruncate,
    Fallocate,
    /// The `fallocate` that reserves blocks ahead of an append: best effort,
    /// so its failure is the one a caller never sees.
    Reserve,
    /// Taking a write lease before a reservation or its give-back: best
    /// effort too (without it, nothing is reserved or given back).
    Lease,
    Fiemap,
    Lseek,
    Pread,
    Pwrite,
    Mmap,
    Mremap,
    Madvise,
    Msync,
    Fdatasync,
    Close,
    /// Reading this process's mappings (`/proc/self/maps`) before a cut.
    Maps,
    /// Taking a file's gate (`sys::gate`): best effort, without it an open
    /// or a resize goes on unfenced, as before there was one.
    Lock,
}

/// Runs `f` behind the fail point of `call`, again while it is interrupted
/// (EINTR: a signal arrived before the call did anything, so trying again is
/// what POSIX asks; `close` is the exception and does not come here).
pub fn retry<T>(call: Call, mut f: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match check(call).and_then(|()| f()) {
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            result => return result,
        }
    }
}

#[cfg(test)]
pub use plan::*;

#[cfg(test)]
mod plan {
    use super::Call;
    use std::cell::RefCell;
    use std::io;

    #[derive(Default)]
    struct Plan {
        /// Whether calls are counted at all (only between `arm` and `disarm`).
        armed: bool,
        /// Fail the call with this index (0-based, counting every checked call).
        fail_at: Option<usize>,
        errno: i32,
        /// The calls seen so far, in order.
        seen: Vec<Call>,
        /// How many calls had been seen when an open passed its point of no return.
        no_return: Option<usize>,
    }

    thread_local! {
        static PLAN: RefCell<Plan> = RefCell::new(Plan::default());
        /// Calls this thread's file system "lacks" (EOPNOTSUPP), plan or not.
        static MISSING: RefCell<Vec<Call>> = const { RefCell::new(Vec::new()) };
    }

    /// Makes every call of these kinds fail with EOPNOTSUPP on this thread,
    /// as on a file system without them (macOS has no `fallocate`).
    pub fn lack(calls: &[Call]) {
        MISSING.with_borrow_mut(|missing| *missing = calls.to_vec());
    }

    /// Counts `call` and fails it if it is the one the plan names.
    pub fn check(call: Call) -> io::Result<()> {
        if MISSING.with_borrow(|missing| missing.contains(&call)) {
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        }
        PLAN.with_borrow_mut(|plan| {
            if !plan.armed {
                return Ok(());
            }
            let index = plan.seen.len();
            plan.seen.push(call);
            if plan.fail_at == Some(index) {
                Err(io::Error::from_raw_os_error(plan.errno))
            } else {
                Ok(())
            }
        })
    }

    /// Starts a plan on this thread: fail call number `fail_at` (if any) with `errno`.
    pub fn arm(fail_at: Option<usize>, errno: i32) {
        PLAN.with_borrow_mut(|plan| {
            *plan = Plan {
                armed: true,
                fail_at,
                errno,
                ..Plan::default()
            }
        });
    }

    /// Records that an open gave up the old contents: a failure from here on
    /// cannot be undone (see open.rs).
    pub fn no_return() {
        PLAN.with_borrow_mut(|plan| {
            if plan.armed && plan.no_return.is_none() {
                plan.no_return = Some(plan.seen.len());
            }
        });
    }

    /// Ends the plan: the calls it saw, and how many came before the point of
    /// no return if one was passed.
    pub fn disarm() -> (Vec<Call>, Option<usize>) {
        PLAN.with_borrow_mut(|plan| {
            let plan = std::mem::take(plan);
            (plan.seen, plan.no_return)
        })
    }
}

/// Release builds: no fail points.
#[cfg(not(test))]
#[inline(always)]
pub fn check(_call: Call) -> io::Result<()> {
    Ok(())
}

#[cfg(not(test))]
#[inline(always)]
pub fn no_return() {}
