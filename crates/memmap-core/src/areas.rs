//! How many kernel memory areas (VMAs) this process's maps hold, counted the
//! way the kernel counts them, against `vm.max_map_count`.
//!
//! A mapping starts as one area. `madvise` with advice that changes the area's
//! flags (`normal`, `random`, `sequential`) over part of it splits it, and
//! advice that makes neighbours equal again merges them back (Linux,
//! mm/madvise.c and mm/vma.c; `willneed` and `dontneed` change no flags). When
//! the process reaches `vm.max_map_count` areas, the next mmap anywhere fails,
//! and Node aborts on an allocation it cannot make. So each mapping keeps the
//! advice of its pages as runs ([`Runs`]), and the sum of runs over all live
//! mappings is what the limit is checked against, before the open or the
//! madvise that would pass it.
//!
//! Shared maps are counted exactly. A private (copy-on-write) area that has
//! had a page written carries anonymous memory (an `anon_vma`), and the kernel
//! does not always merge such areas back with their neighbours; so a private
//! map is counted by every boundary its advice ever cut (a split needs a
//! boundary, and only madvise makes them): an upper bound, exact until some
//! split areas would have merged again.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use crate::{sys, Advice, Error, ErrorKind, Result};

/// Areas held by every live mapping of this process.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// The most areas maps may hold: half the kernel's limit, leaving the rest to
/// V8's heap, malloc, thread stacks and the libraries.
pub fn limit() -> usize {
    static LIMIT: OnceLock<usize> = OnceLock::new();
    *LIMIT.get_or_init(|| sys::max_map_count().map_or(32_768, |max| max / 2))
}

pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Takes `more` areas if that stays within the limit; `what` says what needed them.
pub fn take(more: usize, what: impl FnOnce() -> String) -> Result<()> {
    let limit = limit();
    LIVE.fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
        now.checked_add(more).filter(|&total| total <= limit)
    })
    .map(|_| ())
    .map_err(|now| {
        Error::new(
            ErrorKind::TooManyMaps,
            format!(
                "{}: maps in this process hold {now} memory areas, and the most allowed is {limit} (half of \
                 vm.max_map_count; madvise over part of a map splits it into more areas). Call close() on maps \
                 you no longer need (a map dropped without close() is only released when the garbage collector \
                 runs on the event loop), or give advice over whole maps",
                what()
            ),
        )
    })
}

/// Gives back `fewer` areas.
pub fn give_back(fewer: usize) {
    LIVE.fetch_sub(fewer, Ordering::AcqRel);
}

/// The flags madvise can give a range, each a kind of area of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Normal,
    Random,
    Sequential,
}

/// The advice runs of one mapping, by page: a new run starts at each key.
/// Empty means one `Normal` run over all pages (no allocation at open).
#[derive(Debug, Default)]
pub struct Runs {
    starts: BTreeMap<usize, Flag>,
    /// For a private map: every page boundary advice ever split at.
    cuts: Option<BTreeSet<usize>>,
}

/// What setting a range of pages to a flag changes: keys to remove and to
/// insert, boundaries cut, and the change in the number of areas.
struct Change {
    remove: Vec<usize>,
    insert: Vec<(usize, Flag)>,
    cut: Vec<usize>,
    delta: isize,
}

impl Runs {
    /// Runs of a shared map (`private` false: counted exactly) or a private one.
    pub fn new(private: bool) -> Runs {
        Runs {
            starts: BTreeMap::new(),
            cuts: private.then(BTreeSet::new),
        }
    }

    /// The number of areas the kernel holds for this mapping (at most, for a
    /// private one).
    pub fn count(&self) -> usize {
        match &self.cuts {
            Some(cuts) => 1 + cuts.len(),
            None => self.starts.len().max(1),
        }
    }

    fn flag_at(&self, page: usize) -> Flag {
        self.starts
            .range(..=page)
            .next_back()
            .map_or(Flag::Normal, |(_, &flag)| flag)
    }

    /// The runs after pages `[from, to)` of `pages` take `flag`.
    fn plan(&self, pages: usize, from: usize, to: usize, flag: Flag) -> Change {
        let remove: Vec<usize> = self.starts.range(from..=to).map(|(&key, _)| key).collect();
        let mut insert = Vec::new();
        // A run starts at `from` unless the one before it has the same flag.
        if from == 0 || self.flag_at(from - 1) != flag {
            insert.push((from, flag));
        }
        // What follows `to` keeps its flag; it starts a run unless equal.
        if to < pages {
            let after = self.flag_at(to);
            if after != flag {
                insert.push((to, after));
            }
        }
        // The kernel splits an area at `from` (and `to`) only if the advice
        // changes the flags of the area that holds that page.
        let mut cut = Vec::new();
        if let Some(cuts) = &self.cuts {
            if from > 0 && self.flag_at(from) != flag && !cuts.contains(&from) {
                cut.push(from);
            }
            if to < pages && self.flag_at(to - 1) != flag && !cuts.contains(&to) {
                cut.push(to);
            }
        }
        // Runs are counted as if the implicit first run were a key.
        if self.starts.is_empty() && from > 0 {
            // The implicit key 0 stays; make it explicit in the new state.
            insert.push((0, Flag::Normal));
        }
        let delta = if self.cuts.is_some() {
            cut.len() as isize
        } else {
            let keys_after = self.starts.len() - remove.len() + insert.len();
            keys_after.max(1) as isize - self.count() as isize
        };
        Change {
            remove,
            insert,
            cut,
            delta,
        }
    }

    fn apply(&mut self, change: Change) {
        for key in change.remove {
            self.starts.remove(&key);
        }
        self.starts.extend(change.insert);
        if let Some(cuts) = &mut self.cuts {
            cuts.extend(change.cut);
        }
        // One Normal run is the empty state: give the memory back.
        if self.starts.len() == 1 && self.starts.get(&0) == Some(&Flag::Normal) {
            self.starts.clear();
        }
    }

    /// Runs `advise` (the madvise call) for pages `[from, to)` of a mapping of
    /// `pages` pages, if the areas it would add fit under the limit, and keeps
    /// the count. Advice that changes no flags just runs.
    pub fn advise(
        &mut self,
        pages: usize,
        from: usize,
        to: usize,
        advice: Advice,
        advise: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let flag = match advice {
            Advice::Normal => Flag::Normal,
            Advice::Random => Flag::Random,
            Advice::Sequential => Flag::Sequential,
            Advice::WillNeed | Advice::DontNeed => return advise(),
        };
        if from >= to {
            return advise();
        }
        let change = self.plan(pages, from, to, flag);
        let more = change.delta.max(0) as usize;
        if more > 0 {
            take(more, || format!("madvise over pages {from}..{to} would split the map"))?;
        }
        if let Err(err) = advise() {
            give_back(more);
            return Err(err);
        }
        if change.delta < 0 {
            give_back(change.delta.unsigned_abs());
        }
        self.apply(change);
        Ok(())
    }

    /// The mapping became one area again (its pages were replaced by one
    /// anonymous mapping); returns how many areas that gave back.
    pub fn reset(&mut self) -> usize {
        let fewer = self.count() - 1;
        self.starts.clear();
        if let Some(cuts) = &mut self.cuts {
            cuts.clear();
        }
        fewer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference model: the flag of every page, runs counted by scanning.
    fn count(pages: &[Flag]) -> usize {
        1 + pages.windows(2).filter(|w| w[0] != w[1]).count()
    }

    #[test]
    fn runs_match_a_page_by_page_model() {
        let n = 64;
        let mut model = vec![Flag::Normal; n];
        let mut runs = Runs::new(false);
        let mut seed = 12345u64;
        let mut next = |m: usize| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize % m
        };
        for _ in 0..20_000 {
            let a = next(n);
            let b = a + 1 + next(n - a);
            let flag = [Flag::Normal, Flag::Random, Flag::Sequential][next(3)];
            let before = runs.count();
            let change = runs.plan(n, a, b, flag);
            let delta = change.delta;
            runs.apply(change);
            model[a..b].fill(flag);
            assert_eq!(runs.count(), count(&model), "after {a}..{b} = {flag:?}");
            assert_eq!(before as isize + delta, runs.count() as isize);
            for (page, &flag) in model.iter().enumerate() {
                assert_eq!(runs.flag_at(page), flag);
            }
        }
    }

    #[test]
    fn private_maps_count_every_cut_they_made() {
        let mut runs = Runs::new(true);
        let change = runs.plan(100, 10, 20, Flag::Random);
        assert_eq!(change.delta, 2);
        runs.apply(change);
        // Back to normal: the kernel may keep the two areas apart.
        let change = runs.plan(100, 10, 20, Flag::Normal);
        assert_eq!(change.delta, 0);
        runs.apply(change);
        assert_eq!(runs.count(), 3);
        // Advice that changes no area's flags cuts nothing.
        let change = runs.plan(100, 30, 40, Flag::Normal);
        assert_eq!(change.delta, 0);
        runs.apply(change);
        assert_eq!(runs.count(), 3);
        assert_eq!(runs.reset(), 2);
    }
}
