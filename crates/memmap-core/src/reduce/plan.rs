//! Axis planning: from a view's shape and byte strides and the set of
//! reduced axes to a loop nest in memory order, cut into tiles (groups of
//! outputs whose running states fit in cache) and units (2-D blocks of tens
//! of kilobytes, the kernels' and the threads' unit of work).
//!
//! - Length-1 axes go; negative strides are reversed (not those of reduced
//!   axes when indices are wanted: argmin/argmax count positions forward);
//!   axes are sorted by decreasing stride and neighbours that are one
//!   contiguous axis merge. The last axis is the inner one, the one before
//!   it the row axis of the 2-D blocks.
//! - Tiles: outputs whose states must live at once are those of the kept
//!   axes inside the outermost reduced axis. Kept axes outside it are tile
//!   axes (each tile one index of them, memory order unchanged); when the
//!   states inside would still pass [`ACC_BYTES`], kept axes are moved out
//!   to tile axes, outermost first, the last one cut into blocks (the inner
//!   axis too: `sum(axis=1)` of a Fortran-order array then reads blocks of
//!   columns as many short streams). The innermost tile axis is cut into
//!   blocks as long as the states allow, so short reductions are batched.
//!   The state budget and the unit size are the caller's (see `Tuning`).

use crate::{Error, ErrorKind, Result};

/// One axis of the loop nest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Axis {
    pub len: usize,
    /// Input byte stride.
    pub stride: isize,
    /// Mask byte stride (0 without a mask, or where the mask is broadcast).
    pub mask: isize,
    /// Output element stride (C order over the kept axes); 0 for reduced axes.
    pub out: isize,
    /// Index step within the reduced axes (C order over them); 0 for kept axes.
    pub idx: i64,
    pub reduced: bool,
}

impl Axis {
    /// A length-1 stand-in (for a missing row axis).
    pub const ONE: Axis = Axis {
        len: 1,
        stride: 0,
        mask: 0,
        out: 0,
        idx: 0,
        reduced: true,
    };
}

/// The nest and where its first element lies.
#[derive(Debug, Clone)]
pub(crate) struct Geometry {
    /// Byte offset of the first visited element from element 0 of the input.
    pub first: isize,
    /// The same for the mask.
    pub mask_first: isize,
    /// Output element of the first visited element.
    pub out_first: isize,
    /// Reduced-axes index of the first visited element.
    pub idx_first: i64,
    /// Outer to inner; never empty.
    pub nest: Vec<Axis>,
    /// Elements in the view, outputs, elements per output.
    pub size: usize,
    pub outputs: usize,
    pub per_output: usize,
}

/// Builds the nest. `reduced[a]` says whether axis `a` is reduced; `flip_reduced`
/// whether reduced axes may be reversed (not when indices are wanted).
pub(crate) fn geometry(
    shape: &[usize],
    strides: &[isize],
    mask: Option<&[isize]>,
    reduced: &[bool],
    flip_reduced: bool,
) -> Result<Geometry> {
    let ndim = shape.len();
    let size = checked_product(shape.iter().copied())?;
    let outputs = checked_product((0..ndim).filter(|&a| !reduced[a]).map(|a| shape[a]))?;
    let per_output = checked_product((0..ndim).filter(|&a| reduced[a]).map(|a| shape[a]))?;
    // C-order output and index strides.
    let mut out = vec![0isize; ndim];
    let mut idx = vec![0i64; ndim];
    let (mut o, mut i) = (1isize, 1i64);
    for a in (0..ndim).rev() {
        if reduced[a] {
            idx[a] = i;
            i = i.wrapping_mul(shape[a] as i64);
        } else {
            out[a] = o;
            o = o.wrapping_mul(shape[a] as isize);
        }
    }
    let mut g = Geometry {
        first: 0,
        mask_first: 0,
        out_first: 0,
        idx_first: 0,
        nest: Vec::with_capacity(ndim),
        size,
        outputs,
        per_output,
    };
    for a in 0..ndim {
        if shape[a] == 1 {
            continue;
        }
        let mut axis = Axis {
            len: shape[a],
            stride: strides[a],
            mask: mask.map_or(0, |m| m[a]),
            out: out[a],
            idx: idx[a],
            reduced: reduced[a],
        };
        if axis.stride < 0 && (flip_reduced || !axis.reduced) {
            let last = axis.len as isize - 1;
            g.first += last * axis.stride;
            g.mask_first += last * axis.mask;
            g.out_first += last * axis.out;
            g.idx_first += last as i64 * axis.idx;
            axis.stride = -axis.stride;
            axis.mask = -axis.mask;
            axis.out = -axis.out;
            axis.idx = -axis.idx;
        }
        g.nest.push(axis);
    }
    g.nest.sort_by_key(|axis| std::cmp::Reverse(axis.stride.unsigned_abs()));
    let mut merged: Vec<Axis> = Vec::with_capacity(g.nest.len());
    for axis in g.nest.drain(..) {
        if let Some(outer) = merged.last_mut() {
            let n = axis.len as isize;
            if outer.reduced == axis.reduced
                && outer.stride == axis.stride * n
                && outer.mask == axis.mask * n
                && outer.out == axis.out * n
                && outer.idx == axis.idx * axis.len as i64
            {
                outer.len *= axis.len;
                outer.stride = axis.stride;
                outer.mask = axis.mask;
                outer.out = axis.out;
                outer.idx = axis.idx;
                continue;
            }
        }
        merged.push(axis);
    }
    if merged.is_empty() {
        merged.push(Axis::ONE);
    }
    g.nest = merged;
    Ok(g)
}

fn checked_product(mut lens: impl Iterator<Item = usize>) -> Result<usize> {
    lens.try_fold(1usize, |acc, n| acc.checked_mul(n)).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidArgument,
            "reduce: the shape's element count overflows the address space",
        )
    })
}

/// The work of one reduction: tiles of outputs, each cut into units.
#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    pub g: Geometry,
    /// Tile axes, outer to inner, as positions in `g.nest`; the last one is
    /// cut into blocks of `block` (the others into single indices).
    pub tile_axes: Vec<usize>,
    pub block: usize,
    /// Blocks along the last tile axis (1 without tile axes).
    pub blocks: usize,
    /// Tiles with a whole block and, if the last block is short, the last ones.
    pub full: TileShape,
    pub last: TileShape,
    pub itemsize: usize,
}

/// The loop nest inside a tile and its cut into units.
#[derive(Debug, Clone)]
pub(crate) struct TileShape {
    /// Axes outside the 2-D block, outer to inner.
    pub outer: Vec<Axis>,
    pub row: Axis,
    pub inner: Axis,
    /// Output-state strides: of `outer` axes, of the row axis, of the inner axis.
    pub acc_outer: Vec<isize>,
    pub acc_row: isize,
    pub acc_inner: isize,
    /// Output states the tile holds.
    pub accs: usize,
    /// Rows and inner elements per unit.
    pub unit_rows: usize,
    pub unit_inner: usize,
    /// Units in the tile.
    pub units: usize,
    /// Whether each row's result is complete in one unit (the inner axis is
    /// the only reduced one and units span it): rows then write results
    /// straight out, without states.
    pub direct: bool,
}

impl Schedule {
    /// The schedule for states of `acc_size` bytes, units of about
    /// `unit_bytes` of input and at most `acc_bytes` of states per tile.
    pub fn new(g: Geometry, itemsize: usize, acc_size: usize, unit_bytes: usize, acc_bytes: usize) -> Schedule {
        let limit = (acc_bytes / acc_size.max(1)).max(1);
        let d = g.nest.len();
        let first_reduced = g.nest.iter().position(|a| a.reduced).unwrap_or(d);
        let mut tile_axes: Vec<usize> = (0..first_reduced).collect();
        let kept_states = |tiles: &[usize]| -> usize {
            g.nest
                .iter()
                .enumerate()
                .filter(|(i, a)| !a.reduced && !tiles.contains(i))
                .map(|(_, a)| a.len)
                .fold(1usize, |acc, n| acc.saturating_mul(n))
        };
        let mut states = kept_states(&tile_axes);
        let mut block = 1;
        if states > limit {
            // Move kept axes out, outermost first, until the states fit; the
            // last one moved is cut into blocks as large as still fit.
            for (i, axis) in g.nest.iter().enumerate() {
                if axis.reduced || tile_axes.contains(&i) {
                    continue;
                }
                tile_axes.push(i);
                states /= axis.len;
                if states <= limit {
                    block = (limit / states).clamp(1, axis.len);
                    break;
                }
            }
        } else if let Some(&last) = tile_axes.last() {
            block = (limit / states).clamp(1, g.nest[last].len);
        }
        // Tile axes in nest order (moved axes were taken in nest order, after the prefix).
        tile_axes.sort_unstable();
        let blocks = match tile_axes.last() {
            Some(&last) => g.nest[last].len.div_ceil(block),
            None => 1,
        };
        let shape_of = |len: usize| -> TileShape {
            let mut axes: Vec<Axis> = Vec::with_capacity(d);
            for (i, axis) in g.nest.iter().enumerate() {
                let len = if tile_axes.last() == Some(&i) {
                    len
                } else if tile_axes.contains(&i) {
                    1
                } else {
                    axis.len
                };
                if len > 1 {
                    axes.push(Axis { len, ..*axis });
                }
            }
            if axes.is_empty() {
                axes.push(Axis::ONE);
            }
            tile_shape(axes, itemsize, unit_bytes)
        };
        let full = shape_of(block);
        let last_len = match tile_axes.last() {
            Some(&last) => g.nest[last].len - (blocks - 1) * block,
            None => block,
        };
        let last = shape_of(last_len);
        Schedule {
            g,
            tile_axes,
            block,
            blocks,
            full,
            last,
            itemsize,
        }
    }

    /// Index combinations of the tile axes before the last.
    fn prefix_count(&self) -> usize {
        match self.tile_axes.split_last() {
            Some((_, before)) => before.iter().map(|&i| self.g.nest[i].len).product(),
            None => 1,
        }
    }

    /// Units per index combination of the tile axes before the last.
    fn units_per_prefix(&self) -> usize {
        (self.blocks - 1) * self.full.units + self.last.units
    }

    pub fn total_units(&self) -> usize {
        self.prefix_count() * self.units_per_prefix()
    }

    /// The tile holding unit `u` and the unit range of that tile.
    pub fn tile_of(&self, u: usize) -> (usize, std::ops::Range<usize>) {
        let per = self.units_per_prefix();
        let prefix = u / per;
        let rem = u - prefix * per;
        let block = (rem / self.full.units.max(1)).min(self.blocks - 1);
        let start = prefix * per + block * self.full.units;
        let units = self.shape(block).units;
        (prefix * self.blocks + block, start..start + units)
    }

    pub fn shape(&self, block: usize) -> &TileShape {
        if block + 1 == self.blocks {
            &self.last
        } else {
            &self.full
        }
    }

    /// Where tile `t` starts: (input byte offset, mask byte offset, output
    /// element offset) from the first visited element, and its shape.
    pub fn tile(&self, t: usize) -> (isize, isize, isize, &TileShape) {
        let block = t % self.blocks;
        let mut rest = t / self.blocks;
        let (mut input, mut mask, mut out) = (0isize, 0isize, 0isize);
        if let Some((&last, before)) = self.tile_axes.split_last() {
            let axis = &self.g.nest[last];
            let at = (block * self.block) as isize;
            input += at * axis.stride;
            mask += at * axis.mask;
            out += at * axis.out;
            for &i in before.iter().rev() {
                let axis = &self.g.nest[i];
                let k = (rest % axis.len) as isize;
                rest /= axis.len;
                input += k * axis.stride;
                mask += k * axis.mask;
                out += k * axis.out;
            }
        }
        (input, mask, out, self.shape(block))
    }
}

fn tile_shape(mut axes: Vec<Axis>, itemsize: usize, unit_bytes: usize) -> TileShape {
    let inner = axes.pop().expect("a tile has an axis");
    let row = axes.pop().unwrap_or(Axis::ONE);
    let outer = axes;
    // Dense state strides over the kept axes, the inner one fastest.
    let mut next = 1isize;
    let mut stride_of = |axis: &Axis| -> isize {
        if axis.reduced {
            0
        } else {
            let s = next;
            next *= axis.len as isize;
            s
        }
    };
    let acc_inner = stride_of(&inner);
    let acc_row = stride_of(&row);
    let acc_outer: Vec<isize> = outer
        .iter()
        .rev()
        .map(&mut stride_of)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let accs = next as usize;
    let unit_elems = (unit_bytes / itemsize).max(1);
    let unit_inner = inner.len.min(unit_elems);
    let unit_rows = (unit_elems / unit_inner).clamp(1, row.len);
    let units =
        outer.iter().map(|a| a.len).product::<usize>() * row.len.div_ceil(unit_rows) * inner.len.div_ceil(unit_inner);
    let direct = inner.reduced && unit_inner == inner.len && !row.reduced && outer.iter().all(|a| !a.reduced);
    TileShape {
        outer,
        row,
        inner,
        acc_outer,
        acc_row,
        acc_inner,
        accs,
        unit_rows,
        unit_inner,
        units,
        direct,
    }
}

/// One unit: a 2-D block (before staging) and where its outputs and indices are.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Unit {
    /// Input and mask byte offsets of the block's first element from the tile's.
    pub input: isize,
    pub mask: isize,
    pub rows: usize,
    pub n: usize,
    /// First output state of the block.
    pub acc: isize,
    /// Output element of the block's first row, from the tile's.
    pub out: isize,
    pub idx: i64,
}

impl TileShape {
    /// Unit `u` of the tile (0-based within the tile).
    pub fn unit(&self, u: usize) -> Unit {
        let segments = self.inner.len.div_ceil(self.unit_inner);
        let row_blocks = self.row.len.div_ceil(self.unit_rows);
        let segment = u % segments;
        let row_block = (u / segments) % row_blocks;
        let mut rest = u / (segments * row_blocks);
        let r0 = row_block * self.unit_rows;
        let j0 = segment * self.unit_inner;
        let mut unit = Unit {
            input: r0 as isize * self.row.stride + j0 as isize * self.inner.stride,
            mask: r0 as isize * self.row.mask + j0 as isize * self.inner.mask,
            rows: self.unit_rows.min(self.row.len - r0),
            n: self.unit_inner.min(self.inner.len - j0),
            acc: r0 as isize * self.acc_row + j0 as isize * self.acc_inner,
            out: r0 as isize * self.row.out + j0 as isize * self.inner.out,
            idx: r0 as i64 * self.row.idx + j0 as i64 * self.inner.idx,
        };
        for (axis, &acc) in self.outer.iter().zip(&self.acc_outer).rev() {
            let k = rest % axis.len;
            rest /= axis.len;
            unit.input += k as isize * axis.stride;
            unit.mask += k as isize * axis.mask;
            unit.acc += k as isize * acc;
            unit.out += k as isize * axis.out;
            unit.idx += k as i64 * axis.idx;
        }
        unit
    }

    /// Calls `each(state, output offset)` for every output state of the tile,
    /// in state order.
    pub fn outputs(&self, mut each: impl FnMut(usize, isize)) {
        let kept: Vec<&Axis> = self
            .outer
            .iter()
            .chain([&self.row, &self.inner])
            .filter(|a| !a.reduced && a.len > 1)
            .collect();
        let mut counters = vec![0usize; kept.len()];
        let mut offset = 0isize;
        for state in 0..self.accs {
            each(state, offset);
            for (c, axis) in counters.iter_mut().zip(&kept).rev() {
                *c += 1;
                offset += axis.out;
                if *c < axis.len {
                    break;
                }
                offset -= axis.out * axis.len as isize;
                *c = 0;
            }
        }
    }
}
