//! Little-endian bit-packed integer fields, as laid out by sphinxbase's `bitarr`.
//!
//! A field of `bits` bits (at most 57) starting at absolute bit offset `bit` of a
//! byte buffer is read by loading the 8 bytes starting at byte `bit / 8` as a
//! little-endian `u64`, shifting right by `bit % 8` and masking. Every bit-packed
//! array therefore carries 8 bytes of padding after its last entry; the loaders
//! check that padding once, so the readers here never leave the buffer.

/// Number of bits needed to store every value in `0..=max` (0 for `max == 0`).
#[inline]
pub(crate) fn required_bits(max: u32) -> u8 {
    (32 - max.leading_zeros()) as u8
}

/// Mask of the low `bits` bits (`bits` <= 64).
#[inline]
pub(crate) fn mask(bits: u8) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// Reads the field at absolute bit offset `bit` (masked with `mask`).
///
/// Panics only if `bit / 8 + 8 > data.len()`, which the loaders rule out.
#[inline(always)]
pub(crate) fn read(data: &[u8], bit: u64, mask: u64) -> u64 {
    let byte = (bit >> 3) as usize;
    let word: [u8; 8] = data[byte..byte + 8].try_into().expect("8-byte window");
    (u64::from_le_bytes(word) >> (bit & 7)) & mask
}

/// ORs `value` (which must fit its field) into the buffer at absolute bit offset `bit`.
#[inline]
pub(crate) fn write(data: &mut [u8], bit: u64, value: u64) {
    let byte = (bit >> 3) as usize;
    let window: &mut [u8; 8] = (&mut data[byte..byte + 8])
        .try_into()
        .expect("8-byte window");
    let old = u64::from_le_bytes(*window);
    *window = (old | (value << (bit & 7))).to_le_bytes();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_bits_matches_sphinx() {
        assert_eq!(required_bits(0), 0);
        assert_eq!(required_bits(1), 1);
        assert_eq!(required_bits(2), 2);
        assert_eq!(required_bits(3), 2);
        assert_eq!(required_bits(4), 3);
        assert_eq!(required_bits(72547), 17);
        assert_eq!(required_bits(1669625), 21);
        assert_eq!(required_bits(u32::MAX), 32);
    }

    #[test]
    fn write_then_read_round_trips_at_every_alignment() {
        let widths = [1u8, 7, 16, 17, 21, 25, 32];
        let mut buf = vec![0u8; 64];
        let mut bit = 0u64;
        let mut expect = Vec::new();
        for (i, &w) in widths.iter().cycle().take(12).enumerate() {
            let v = (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1)) & mask(w);
            write(&mut buf, bit, v);
            expect.push((bit, w, v));
            bit += w as u64;
        }
        for (bit, w, v) in expect {
            assert_eq!(read(&buf, bit, mask(w)), v);
        }
    }
}
