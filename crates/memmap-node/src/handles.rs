//! The handle table: what JavaScript holds for a map is a plain number that it
//! passes back to every call. A JavaScript object per map (a napi class) cost
//! more than the mmap itself (napi_new_instance, napi_wrap, a type tag,
//! napi-rs's reference map), and open + close is a measured target.
//!
//! A handle is `generation * 2^20 + slot`: a slot index of 20 bits and a
//! 32-bit generation that moves on each time the slot is freed, so the number
//! stays below 2^52 and is exact as a JavaScript number. A slot whose
//! generation is spent is retired, never reused: no handle is ever given out
//! twice in a thread, so a handle kept past `close()` (or a forged number)
//! names no map, never the next map in its slot.

use napi_derive::napi;

/// Bits of the slot index: at most 2^20 maps open at once in one thread, far
/// above the kernel's map limit that the core enforces first.
const SLOT_BITS: u32 = 20;
const MAX_SLOTS: usize = 1 << SLOT_BITS;

/// A map's handle as JavaScript holds it: an integer below 2^52 (exact as a
/// number) that names one map in this thread, and never another.
#[napi]
pub type Handle = f64;

pub struct Handles<T> {
    slots: Vec<Slot<T>>,
    /// Slots free for reuse; retired slots are never in it.
    free: Vec<u32>,
    /// `MAX_SLOTS`, smaller in tests of a full table.
    max_slots: usize,
}

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

impl<T> Default for Handles<T> {
    fn default() -> Self {
        Handles::with_max_slots(MAX_SLOTS)
    }
}

impl<T> Handles<T> {
    fn with_max_slots(max_slots: usize) -> Self {
        Handles {
            slots: Vec::new(),
            free: Vec::new(),
            max_slots: max_slots.min(MAX_SLOTS),
        }
    }

    /// Stores `value` and returns its handle, or gives `value` back if every
    /// slot is taken (or retired).
    pub fn insert(&mut self, value: T) -> Result<Handle, T> {
        let index = match self.free.pop() {
            Some(index) => index as usize,
            None if self.slots.len() < self.max_slots => {
                self.slots.push(Slot {
                    generation: 0,
                    value: None,
                });
                self.slots.len() - 1
            }
            None => return Err(value),
        };
        let slot = &mut self.slots[index];
        slot.value = Some(value);
        Ok(make_handle(index, slot.generation))
    }

    /// The value `handle` names, if it names a live one.
    pub fn get_mut(&mut self, handle: Handle) -> Option<&mut T> {
        self.slot(handle)?.value.as_mut()
    }

    /// Takes the value `handle` names out of the table. The handle, and every
    /// earlier one of its slot, then names nothing, forever.
    pub fn remove(&mut self, handle: Handle) -> Option<T> {
        let (index, _) = split_handle(handle)?;
        let slot = self.slot(handle)?;
        let value = slot.value.take()?;
        if let Some(next) = slot.generation.checked_add(1) {
            slot.generation = next;
            self.free.push(index as u32);
        }
        Some(value)
    }

    /// How many values the table holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.iter().filter(|slot| slot.value.is_some()).count()
    }

    fn slot(&mut self, handle: Handle) -> Option<&mut Slot<T>> {
        let (index, generation) = split_handle(handle)?;
        let slot = self.slots.get_mut(index)?;
        (slot.generation == generation).then_some(slot)
    }
}

fn make_handle(index: usize, generation: u32) -> Handle {
    (u64::from(generation) << SLOT_BITS | index as u64) as f64
}

/// The slot index and generation of `handle`, if it is a number this table
/// could have given out (an integer in `[0, 2^52)`).
fn split_handle(handle: Handle) -> Option<(usize, u32)> {
    if !(handle >= 0.0 && handle < (1u64 << (SLOT_BITS + 32)) as f64 && handle.fract() == 0.0) {
        return None;
    }
    let bits = handle as u64;
    Some(((bits & (MAX_SLOTS as u64 - 1)) as usize, (bits >> SLOT_BITS) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_names_its_value_until_removed() {
        let mut table = Handles::default();
        let a = table.insert("a").unwrap();
        let b = table.insert("b").unwrap();
        assert_ne!(a, b);
        assert_eq!(table.get_mut(a), Some(&mut "a"));
        assert_eq!(table.get_mut(b), Some(&mut "b"));
        assert_eq!(table.remove(a), Some("a"));
        assert_eq!(table.get_mut(a), None);
        assert_eq!(table.remove(a), None, "removing twice is a no-op");
        assert_eq!(table.get_mut(b), Some(&mut "b"));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn a_reused_slot_never_answers_to_an_old_handle() {
        let mut table = Handles::default();
        let mut old = std::collections::HashSet::new();
        let mut handle = table.insert(0).unwrap();
        for i in 1..100_000 {
            assert_eq!(table.remove(handle), Some(i - 1));
            old.insert(handle.to_bits());
            handle = table.insert(i).unwrap();
            assert!(!old.contains(&handle.to_bits()), "handle {handle} given out twice");
        }
        assert_eq!(table.slots.len(), 1, "one slot, reused");
        for stale in old {
            assert_eq!(table.get_mut(f64::from_bits(stale)), None);
            assert_eq!(table.remove(f64::from_bits(stale)), None);
        }
        assert_eq!(table.get_mut(handle), Some(&mut 99_999));
    }

    #[test]
    fn handles_are_exact_javascript_integers() {
        let handle = make_handle(MAX_SLOTS - 1, u32::MAX);
        assert!(handle < 2f64.powi(52));
        assert_eq!(handle as u64 as f64, handle);
        assert_eq!(split_handle(handle), Some((MAX_SLOTS - 1, u32::MAX)));
        assert_eq!(split_handle(0.0), Some((0, 0)));
    }

    #[test]
    fn forged_numbers_name_nothing() {
        let mut table = Handles::default();
        let live = table.insert("live").unwrap();
        for forged in [
            -1.0,
            -0.5,
            0.5,
            live + 0.5,
            live + 1.0,
            live + MAX_SLOTS as f64,
            2f64.powi(52),
            2f64.powi(53) + 1.0,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ] {
            assert_eq!(table.get_mut(forged), None, "{forged}");
            assert_eq!(table.remove(forged), None, "{forged}");
        }
        assert_eq!(table.get_mut(live), Some(&mut "live"));
    }

    #[test]
    fn a_spent_slot_is_retired_not_wrapped() {
        let mut table = Handles::default();
        let first = table.insert(1).unwrap();
        table.slots[0].generation = u32::MAX - 1;
        let handle = make_handle(0, u32::MAX - 1);
        assert_eq!(table.get_mut(first), None);
        assert_eq!(table.remove(handle), Some(1));
        let last = table.insert(2).unwrap();
        assert_eq!(split_handle(last), Some((0, u32::MAX)));
        assert_eq!(table.remove(last), Some(2));
        // Generation u32::MAX has no successor: the slot is never reused, so
        // generation 0 (the first handle) cannot come back.
        let next = table.insert(3).unwrap();
        assert_eq!(split_handle(next), Some((1, 0)));
        assert_eq!(table.get_mut(first), None);
        assert_eq!(table.get_mut(last), None);
    }

    #[test]
    fn a_full_table_refuses_and_recovers() {
        let mut table = Handles::with_max_slots(4);
        let handles: Vec<_> = (0..4).map(|i| table.insert(i).unwrap()).collect();
        assert_eq!(table.insert(4), Err(4));
        assert_eq!(table.remove(handles[2]), Some(2));
        let again = table.insert(5).unwrap();
        assert_ne!(again, handles[2]);
        assert_eq!(table.get_mut(again), Some(&mut 5));
        assert_eq!(table.insert(6), Err(6));
        assert_eq!(table.len(), 4);
    }
}
