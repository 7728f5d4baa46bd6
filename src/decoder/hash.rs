//! A fixed-capacity open-addressing index from hypothesis keys to slots, cleared in O(1) per
//! frame by a generation stamp. Allocates only at construction.

/// Maps 64-bit key hashes to `u32` slots; the caller resolves collisions by comparing keys.
pub(crate) struct SlotIndex {
    stamps: Vec<u32>,
    slots: Vec<u32>,
    mask: usize,
    generation: u32,
}

impl SlotIndex {
    /// An index for up to `capacity` live entries (the table is at least twice as large).
    pub fn new(capacity: usize) -> Self {
        let size = (capacity.max(8) * 2).next_power_of_two();
        SlotIndex {
            stamps: vec![0; size],
            slots: vec![0; size],
            mask: size - 1,
            generation: 1,
        }
    }

    /// Forgets every entry.
    pub fn clear(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.fill(0);
            self.generation = 1;
        }
    }

    /// Finds the slot for `hash` for which `same(slot)` holds, or reserves a place: returns
    /// `Ok(slot)` if found, `Err(position)` to pass to [`SlotIndex::insert_at`] otherwise.
    #[inline]
    pub fn find(&self, hash: u64, mut same: impl FnMut(u32) -> bool) -> Result<u32, usize> {
        let mut pos = (hash as usize) & self.mask;
        loop {
            if self.stamps[pos] != self.generation {
                return Err(pos);
            }
            let slot = self.slots[pos];
            if same(slot) {
                return Ok(slot);
            }
            pos = (pos + 1) & self.mask;
        }
    }

    /// Records `slot` at a position returned by [`SlotIndex::find`].
    #[inline]
    pub fn insert_at(&mut self, pos: usize, slot: u32) {
        self.stamps[pos] = self.generation;
        self.slots[pos] = slot;
    }
}

/// A hash of one frame's scores, bit for bit: rows with equal hashes are taken as
/// unchanged from one live partial to the next (the kept search state, the rescoring's
/// kept searches).
pub(crate) fn row_hash(row: &[f32]) -> u64 {
    use std::hash::Hasher;
    let mut h = FxHasher::default();
    for &x in row {
        h.write_u32(x.to_bits());
    }
    h.finish()
}

/// FxHash-style hasher: fast, good enough for small integer keys.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // Mix the high bits down: the table uses the low bits.
        self.0 ^ (self.0 >> 29)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_inserted_and_forgets_on_clear() {
        let mut ix = SlotIndex::new(4);
        let keys = [10u64, 18, 26, 3];
        for (slot, &k) in keys.iter().enumerate() {
            let pos = ix.find(k, |s| keys[s as usize] == k).unwrap_err();
            ix.insert_at(pos, slot as u32);
        }
        for (slot, &k) in keys.iter().enumerate() {
            assert_eq!(ix.find(k, |s| keys[s as usize] == k), Ok(slot as u32));
        }
        ix.clear();
        assert!(ix.find(10, |_| true).is_err());
    }
}
