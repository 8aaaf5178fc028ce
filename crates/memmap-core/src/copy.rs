//! Block copies of a view's elements, in C order, between the map and a
//! caller's buffer: what a runtime that refuses external ArrayBuffers
//! (Electron) uses instead of a zero-copy view, and what `read`/`write` use
//! everywhere. One call moves any number of elements of any strided view; the
//! longest contiguous runs are copied with one `memcpy` each.

use crate::{Error, ErrorKind, Mapping, Result};

/// Bytes of the repeated pattern a fill copies from.
const FILL_BLOCK: usize = 64 << 10;

/// The bytes [`copy_in_steps`] copies per step: a huge page.
const COPY_STEP: usize = 2 << 20;

/// Below this many bytes, [`copy_in_steps`] is one `memcpy`.
const STEP_FROM: usize = 1 << 20;

/// `copy_nonoverlapping` for a copy into fresh memory (a new array's), the
/// way that measured fastest here: one huge page at a time, each from its
/// last word to its first. One `memcpy` of hundreds of MiB is past glibc's
/// non-temporal threshold and streams its stores; `memcpy` in huge-page
/// steps is faster, but still depends on how the source sits against the
/// target within a page (a `.npy`'s data at byte 128 of its page copied a
/// quarter slower than a raw file's at byte 0); copying each step backward
/// measured as fast as the best case for both. Figures: bench/ and README.
///
/// # Safety
///
/// As `copy_nonoverlapping`: `from` readable and `to` writable for `len`
/// bytes, not overlapping.
pub(crate) unsafe fn copy_in_steps(from: *const u8, to: *mut u8, len: usize) {
    if len < STEP_FROM {
        // SAFETY: the caller's promise.
        unsafe { std::ptr::copy_nonoverlapping(from, to, len) };
        return;
    }
    for step in (0..len).step_by(COPY_STEP) {
        // SAFETY: `step < len`, so both ranges are inside the caller's.
        unsafe { copy_backward(from.add(step), to.add(step), COPY_STEP.min(len - step)) }
    }
}

/// Copies `len` bytes from the last to the first: bytes up to a word
/// boundary of the target, then four words at a time, then the head.
///
/// # Safety
///
/// As [`copy_in_steps`].
#[inline(always)]
unsafe fn copy_backward(from: *const u8, to: *mut u8, len: usize) {
    // Every offset touched is below `len` (`i` only decreases, and each read
    // and write ends at the old `i`), inside the caller's ranges.
    let mut i = len;
    while i > 0 && !(to as usize + i).is_multiple_of(8) {
        i -= 1;
        // SAFETY: `i < len`, as above.
        unsafe { *to.add(i) = *from.add(i) };
    }
    while i >= 32 {
        i -= 32;
        // SAFETY: bytes `i..i + 32`, below `len` as above; unaligned reads
        // and writes need no alignment.
        unsafe {
            let words = [24, 16, 8, 0].map(|at| std::ptr::read_unaligned(from.add(i + at) as *const u64));
            for (word, at) in words.into_iter().zip([24, 16, 8, 0]) {
                std::ptr::write_unaligned(to.add(i + at) as *mut u64, word);
            }
        }
    }
    while i > 0 {
        i -= 1;
        // SAFETY: `i < len`, as above.
        unsafe { *to.add(i) = *from.add(i) };
    }
}

/// The elements of a view: element 0 at `byte_offset` from the start of the
/// map, `shape` and byte `strides` per axis (negative allowed), each element
/// `item_size` bytes copied whole.
#[derive(Debug, Clone, Copy)]
pub struct Elements<'a> {
    pub byte_offset: usize,
    pub shape: &'a [usize],
    pub strides: &'a [isize],
    pub item_size: usize,
}

impl Mapping {
    /// Copies elements `first..first + out.len() / item_size` of `view`, in C
    /// order, into `out`.
    ///
    /// # Errors
    ///
    /// A view that reaches outside the map, a range past its last element, or
    /// an `out` that is not a whole number of elements.
    ///
    /// # Examples
    ///
    /// ```
    /// use memmap_core::{Elements, Length, Mapping, Mode, Source};
    /// let path = std::env::temp_dir().join(format!("memmap-core-copy-{}", std::process::id()));
    /// let map = Mapping::open(Source::Path(path.clone()), Mode::Create, 0, Length::Exact(8)).unwrap();
    /// map.write_elements(&Elements { byte_offset: 0, shape: &[8], strides: &[1], item_size: 1 }, 0, &[0, 1, 2, 3, 4, 5, 6, 7]).unwrap();
    /// // Every other byte, from the second: a strided view of four elements.
    /// let view = Elements { byte_offset: 1, shape: &[4], strides: &[2], item_size: 1 };
    /// let mut out = [0u8; 3];
    /// map.read_elements(&view, 1, &mut out).unwrap();
    /// assert_eq!(out, [3, 5, 7]);
    /// # std::fs::remove_file(path).unwrap();
    /// ```
    pub fn read_elements(&self, view: &Elements<'_>, first: usize, out: &mut [u8]) -> Result<()> {
        let base = self.as_ptr();
        let target = out.as_mut_ptr();
        self.each_run(view, first, out.len(), |at, done, bytes| {
            // SAFETY: each_run checked that the view's whole byte extent lies in
            // the map and that `done + bytes <= out.len()`; `out` is the caller's
            // memory, never the map's, so the ranges do not overlap. No Rust
            // reference into the map is formed.
            unsafe { copy_in_steps(base.add(at), target.add(done), bytes) }
        })
    }

    /// Copies `bytes` (a whole number of elements) into elements
    /// `first..` of `view`, in C order.
    ///
    /// # Errors
    ///
    /// As [`Mapping::read_elements`].
    pub fn write_elements(&self, view: &Elements<'_>, first: usize, bytes: &[u8]) -> Result<()> {
        let base = self.as_ptr();
        let source = bytes.as_ptr();
        self.each_run(view, first, bytes.len(), |at, done, len| {
            // SAFETY: as in read_elements, with the roles swapped; every map is
            // writable memory (mode `r` is a private writable map).
            unsafe { std::ptr::copy_nonoverlapping(source.add(done), base.add(at), len) }
        })
    }

    /// Writes `pattern` (one element's bytes) into every element of `view`.
    ///
    /// # Errors
    ///
    /// A view that reaches outside the map, or a pattern that is not one
    /// element long.
    pub fn fill_elements(&self, view: &Elements<'_>, pattern: &[u8]) -> Result<()> {
        if pattern.len() != view.item_size {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "a fill pattern of {} bytes for {}-byte elements",
                    pattern.len(),
                    view.item_size
                ),
            ));
        }
        // The pattern repeated to a block of whole elements, copied run by run
        // (every run starts on an element).
        let repeats = (FILL_BLOCK / pattern.len()).max(1);
        let block: Vec<u8> = pattern.repeat(repeats);
        let size: usize = view.shape.iter().product();
        let base = self.as_ptr();
        self.each_run(view, 0, size * view.item_size, |at, _, bytes| {
            let mut done = 0;
            while done < bytes {
                let n = (bytes - done).min(block.len());
                // SAFETY: each_run checked the view's extent lies in the map, so
                // `at + done .. at + done + n` (within this run) does too;
                // `block` is this function's own memory.
                unsafe { std::ptr::copy_nonoverlapping(block.as_ptr(), base.add(at + done), n) };
                done += n;
            }
        })
    }

    /// Calls `copy(map_byte, buffer_byte, bytes)` for each run of `len` bytes'
    /// worth of elements from element `first` of `view`, in C order, after
    /// checking every byte the view can touch lies inside the map.
    fn each_run(
        &self,
        view: &Elements<'_>,
        first: usize,
        len: usize,
        copy: impl FnMut(usize, usize, usize),
    ) -> Result<()> {
        each_run(self.len(), view, first, len, copy)
    }
}

/// Calls `copy(memory_byte, buffer_byte, bytes)` for each run of `len` bytes'
/// worth of elements from element `first` of `view`, in C order, after
/// checking every byte the view can touch lies in `0..memory_len` (a map, or
/// an in-memory buffer: convert.rs).
pub(crate) fn each_run(
    memory_len: usize,
    view: &Elements<'_>,
    first: usize,
    len: usize,
    mut copy: impl FnMut(usize, usize, usize),
) -> Result<()> {
    {
        let Elements {
            byte_offset,
            shape,
            strides,
            item_size,
        } = *view;
        let invalid = |message: String| Err(Error::new(ErrorKind::Io, message));
        if shape.len() != strides.len() || item_size == 0 || !len.is_multiple_of(item_size) {
            return invalid(format!(
                "a copy of {len} bytes of {item_size}-byte elements over a view of shape {shape:?}, strides {strides:?}"
            ));
        }
        let count = len / item_size;
        let size = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        match (size, first.checked_add(count)) {
            (Some(size), Some(end)) if end <= size => {}
            _ => {
                return invalid(format!(
                    "elements {first}..{} are outside a view of shape {shape:?}",
                    first as u128 + count as u128
                ))
            }
        }
        if count == 0 {
            return Ok(());
        }
        // The lowest and highest byte any element touches.
        let (low, high) = crate::byte_span(byte_offset, item_size, shape, strides);
        if low < 0 || high > memory_len as i128 {
            return invalid(format!(
                "a view reaching bytes {low}..{high} is outside the {memory_len}-byte map"
            ));
        }
        // Trailing axes laid out back to back are one contiguous run.
        let mut run_axes = 0;
        let mut run = 1usize;
        for (&d, &s) in shape.iter().zip(strides).rev() {
            if s != (run * item_size) as isize && d != 1 {
                break;
            }
            run *= d;
            run_axes += 1;
        }
        let outer = shape.len() - run_axes;
        // The odometer over the outer axes, and where in the run `first` falls.
        let mut index = vec![0usize; outer];
        let mut within = first % run;
        let mut rest = first / run;
        for axis in (0..outer).rev() {
            index[axis] = rest % shape[axis];
            rest /= shape[axis];
        }
        let mut at = byte_offset as isize + index.iter().zip(strides).map(|(&i, &s)| i as isize * s).sum::<isize>();
        let mut done = 0;
        while done < len {
            let take = ((run - within) * item_size).min(len - done);
            copy((at + (within * item_size) as isize) as usize, done, take);
            done += take;
            within = 0;
            // The next run: the odometer over the outer axes.
            for axis in (0..outer).rev() {
                at += strides[axis];
                index[axis] += 1;
                if index[axis] < shape[axis] {
                    break;
                }
                at -= strides[axis] * shape[axis] as isize;
                index[axis] = 0;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Elements;
    use crate::{Length, Mapping, Mode, Source};

    #[test]
    fn copies_in_steps_every_byte_at_every_alignment_and_length() {
        let source: Vec<u8> = (0..(5usize << 20) + 77).map(|i| (i * 7 + i / 251) as u8).collect();
        for (from, to, len) in [
            (0, 0, source.len() - 77),
            (128, 16, (4 << 20) + 3),
            (3, 5, (2 << 20) + 31),
            (1, 0, 1 << 20),
            (0, 7, (1 << 20) - 1),
            (5, 3, 40),
        ] {
            let mut target = vec![0xeeu8; len + 16];
            // SAFETY: both ranges lie inside their vectors, which do not overlap.
            unsafe { super::copy_in_steps(source.as_ptr().add(from), target.as_mut_ptr().add(to), len) };
            assert_eq!(&target[to..to + len], &source[from..from + len], "{from} {to} {len}");
            assert!(target[..to].iter().chain(&target[to + len..]).all(|&b| b == 0xee));
        }
    }

    fn map(len: usize) -> (Mapping, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!(
            "memmap-copy-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let map = Mapping::open(Source::Path(path.clone()), Mode::Create, 0, Length::Exact(len as u64)).unwrap();
        let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
        let all = Elements {
            byte_offset: 0,
            shape: &[len],
            strides: &[1],
            item_size: 1,
        };
        map.write_elements(&all, 0, &bytes).unwrap();
        (map, path)
    }

    /// The same copy, one element at a time by index arithmetic.
    fn naive(bytes: &[u8], view: &Elements<'_>, first: usize, count: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for flat in first..first + count {
            let mut rest = flat;
            let mut at = view.byte_offset as isize;
            for axis in (0..view.shape.len()).rev() {
                at += (rest % view.shape[axis]) as isize * view.strides[axis];
                rest /= view.shape[axis];
            }
            out.extend_from_slice(&bytes[at as usize..at as usize + view.item_size]);
        }
        out
    }

    #[test]
    fn every_range_of_strided_reversed_and_contiguous_views_matches_index_arithmetic() {
        let (map, path) = map(240);
        let bytes: Vec<u8> = (0..240).map(|i| i as u8).collect();
        let views: Vec<(usize, Vec<usize>, Vec<isize>, usize)> = vec![
            (0, vec![60], vec![4], 4),
            (0, vec![5, 12], vec![48, 4], 4),
            (4, vec![5, 6], vec![48, 8], 4),
            (236, vec![60], vec![-4], 4),
            (192, vec![5, 3, 4], vec![-48, 16, 4], 4),
            (3, vec![4, 1, 7], vec![50, 9, 3], 3),
            (0, vec![2, 0, 3], vec![12, 4, 4], 4),
            (10, vec![], vec![], 8),
        ];
        for (byte_offset, shape, strides, item_size) in &views {
            let view = Elements {
                byte_offset: *byte_offset,
                shape,
                strides,
                item_size: *item_size,
            };
            let size: usize = shape.iter().product();
            for first in 0..=size {
                for count in 0..=size - first {
                    let mut out = vec![0u8; count * item_size];
                    map.read_elements(&view, first, &mut out).unwrap();
                    assert_eq!(out, naive(&bytes, &view, first, count), "{view:?} {first} {count}");
                }
            }
        }
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn writes_land_where_reads_find_them_and_nowhere_else() {
        let (map, path) = map(96);
        let view = Elements {
            byte_offset: 2,
            shape: &[3, 4],
            strides: &[32, 6],
            item_size: 2,
        };
        let mut before = vec![0u8; 96];
        let whole = Elements {
            byte_offset: 0,
            shape: &[96],
            strides: &[1],
            item_size: 1,
        };
        map.read_elements(&whole, 0, &mut before).unwrap();
        map.write_elements(&view, 5, &[200, 201, 202, 203, 204, 205]).unwrap();
        let mut after = vec![0u8; 96];
        map.read_elements(&whole, 0, &mut after).unwrap();
        let mut expected = before.clone();
        for (k, flat) in (5..8).enumerate() {
            let at = 2 + (flat / 4) * 32 + (flat % 4) * 6;
            expected[at] = 200 + 2 * k as u8;
            expected[at + 1] = 201 + 2 * k as u8;
        }
        assert_eq!(after, expected);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn fills_write_the_pattern_into_every_element_of_the_view_only() {
        let (map, path) = map(200);
        let view = Elements {
            byte_offset: 150,
            shape: &[4, 3],
            strides: &[-50, 4],
            item_size: 3,
        };
        map.fill_elements(&view, &[0xaa, 0xbb, 0xcc]).unwrap();
        let mut after = vec![0u8; 200];
        let whole = Elements {
            byte_offset: 0,
            shape: &[200],
            strides: &[1],
            item_size: 1,
        };
        map.read_elements(&whole, 0, &mut after).unwrap();
        let mut expected: Vec<u8> = (0..200).map(|i| i as u8).collect();
        for row in 0..4 {
            for col in 0..3 {
                let at = 150 - 50 * row + 4 * col;
                expected[at..at + 3].copy_from_slice(&[0xaa, 0xbb, 0xcc]);
            }
        }
        assert_eq!(after, expected);
        assert!(map.fill_elements(&view, &[1, 2]).is_err());
        std::fs::remove_file(path).unwrap();
        // A contiguous run longer than the pattern block, from an odd byte.
        let (map, path) = super::tests::map(200_000);
        let long = Elements {
            byte_offset: 3,
            shape: &[49_000],
            strides: &[4],
            item_size: 4,
        };
        map.fill_elements(&long, &[1, 2, 3, 4]).unwrap();
        let mut out = vec![0u8; 200_000];
        let whole = Elements {
            byte_offset: 0,
            shape: &[200_000],
            strides: &[1],
            item_size: 1,
        };
        map.read_elements(&whole, 0, &mut out).unwrap();
        assert_eq!(&out[..3], &[0, 1, 2]);
        assert!(out[3..3 + 196_000].chunks(4).all(|c| c == [1, 2, 3, 4]));
        assert_eq!(out[196_003], (196_003 % 256) as u8);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn views_and_ranges_outside_are_errors_and_copy_nothing() {
        let (map, path) = map(64);
        let mut out = [0u8; 8];
        let past = Elements {
            byte_offset: 8,
            shape: &[15],
            strides: &[4],
            item_size: 4,
        };
        assert!(map.read_elements(&past, 0, &mut out).is_err());
        let before = Elements {
            byte_offset: 4,
            shape: &[3],
            strides: &[-4],
            item_size: 4,
        };
        assert!(map.write_elements(&before, 0, &[9; 8]).is_err());
        let fine = Elements {
            byte_offset: 0,
            shape: &[16],
            strides: &[4],
            item_size: 4,
        };
        assert!(map.read_elements(&fine, 15, &mut out).is_err()); // two elements from the last
        assert!(map.read_elements(&fine, usize::MAX, &mut out).is_err());
        assert!(map.read_elements(&fine, 0, &mut out[..3]).is_err()); // not whole elements
        let mut check = [0u8; 4];
        map.read_elements(&fine, 0, &mut check).unwrap();
        assert_eq!(check, [0, 1, 2, 3]);
        std::fs::remove_file(path).unwrap();
    }
}
