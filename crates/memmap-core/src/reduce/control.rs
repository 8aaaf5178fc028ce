//! The caller's hold on a running reduction: an abort flag, a progress
//! counter and a check that the memory is still the caller's (a closed map
//! reads as zero pages: a reduction must stop and fail, never return a value
//! read from them). Each thread looks at them once per [`CHECK_BYTES`] of
//! input, so an aborted reduction of any size stops within about a
//! millisecond.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::{Error, ErrorKind, Result};

/// How much input a thread reduces between looks at the control block.
pub const CHECK_BYTES: usize = 1 << 20;

/// What the caller passes to watch and stop a reduction. All optional; the
/// default runs to the end on the default number of threads.
#[derive(Clone, Copy, Default)]
pub struct Control<'a> {
    /// Set (by any thread) to stop: the reduction returns
    /// [`ErrorKind::Aborted`] within one check.
    pub abort: Option<&'a AtomicBool>,
    /// Elements reduced so far, added to as the work goes (per check, per
    /// thread): `progress / size` is the fraction done.
    pub progress: Option<&'a AtomicU64>,
    /// Whether the memory is still valid (for a map: not closed). Asked per
    /// check and once after all reading; `false` makes the reduction return
    /// [`ErrorKind::Closed`].
    pub alive: Option<&'a (dyn Fn() -> bool + Sync)>,
    /// Threads to use at most; 0 for the default: one per core (at most 8)
    /// for inputs over 8 MiB, else one. A number given is used for any input
    /// of more than one unit. Integer, min/max and arg results do not depend
    /// on it.
    pub threads: usize,
    pub tuning: Tuning,
}

/// Sizes the engine works in. The defaults suit the hardware; tests make them
/// small to drive every split and tiling path with small arrays.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tuning {
    /// Input bytes per unit of work (one kernel call); 0 for 64 KiB.
    pub unit_bytes: usize,
    /// Bytes of per-output running state a tile may hold; 0 for 256 KiB
    /// (in cache while the input streams past).
    pub acc_bytes: usize,
}

impl Tuning {
    pub(crate) fn unit_bytes(&self) -> usize {
        if self.unit_bytes == 0 {
            64 << 10
        } else {
            self.unit_bytes
        }
    }

    pub(crate) fn acc_bytes(&self) -> usize {
        if self.acc_bytes == 0 {
            256 << 10
        } else {
            self.acc_bytes
        }
    }
}

impl std::fmt::Debug for Control<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("abort", &self.abort)
            .field("progress", &self.progress)
            .field("alive", &self.alive.map(|_| "fn"))
            .field("threads", &self.threads)
            .field("tuning", &self.tuning)
            .finish()
    }
}

impl Control<'_> {
    /// Looks at the abort flag and the memory's validity now.
    pub(crate) fn check(&self) -> Result<()> {
        if self.abort.is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(Error::new(ErrorKind::Aborted, "the reduction was aborted"));
        }
        if self.alive.is_some_and(|alive| !alive()) {
            return Err(Error::new(
                ErrorKind::Closed,
                "the memory was closed during the reduction: no result is given",
            ));
        }
        Ok(())
    }
}

/// One thread's view of the control block: counts bytes and looks at the
/// block once per [`CHECK_BYTES`].
pub(crate) struct Watch<'a, 'b> {
    control: &'a Control<'b>,
    itemsize: usize,
    elements: usize,
    bytes: usize,
}

impl<'a, 'b> Watch<'a, 'b> {
    pub fn new(control: &'a Control<'b>, itemsize: usize) -> Self {
        Watch {
            control,
            itemsize,
            elements: 0,
            bytes: 0,
        }
    }

    #[inline]
    pub fn done(&mut self, elements: usize) -> Result<()> {
        self.elements += elements;
        self.bytes += elements * self.itemsize;
        if self.bytes >= CHECK_BYTES {
            self.report();
            self.control.check()?;
        }
        Ok(())
    }

    fn report(&mut self) {
        if let Some(progress) = self.control.progress {
            progress.fetch_add(self.elements as u64, Ordering::Relaxed);
        }
        self.elements = 0;
        self.bytes = 0;
    }

    /// Reports what is left and checks once more.
    pub fn finish(&mut self) -> Result<()> {
        self.report();
        self.control.check()
    }
}
