//! The key hash: where a key sits in the memtable's buckets, in the
//! anti-entropy hash trees, and in an anti-entropy exchange's order. One
//! function for all three, so the keys under a tree node are the keys of a
//! few buckets (see `storage/table.rs`).

use super::Key;

/// A key's hash, the same on every platform (the browser's nodes and the
/// native ones must agree). Its top bits choose the key's bucket and its
/// tree leaf.
pub fn key_hash(key: &Key) -> u64 {
    let (tag, bytes) = tagged_bytes(key);
    let mut h = Hasher(0x243f_6a88_85a3_08d3 ^ u64::from(tag));
    h.bytes(bytes);
    h.finish()
}

/// The top `bits` bits of a key hash (0 for none, at most 64): a key's
/// bucket in the memtable and its node at level `bits` of a hash tree.
pub fn hash_prefix(hash: u64, bits: u8) -> u64 {
    hash.checked_shr(64 - u32::from(bits)).unwrap_or(0)
}

/// A key's bytes, and which kind of key it is: `Int(1)` and `Str("\x01")`
/// are different keys and must hash apart.
pub(crate) fn tagged_bytes(key: &Key) -> (u8, &[u8]) {
    match key {
        Key::Int(_) => (0, key.bytes()),
        Key::Str(_) => (1, key.bytes()),
    }
}

/// A small, fast 64-bit hash. Not a defence against chosen collisions:
/// peers are trusted (they share the cluster secret), and a client that
/// crowds one bucket makes it larger, not wrong.
pub(crate) struct Hasher(pub(crate) u64);

impl Hasher {
    pub(crate) fn word(&mut self, w: u64) {
        self.0 = (self.0 ^ w)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(31);
    }

    // Words are read as arrays (`as_chunks`), not copied out of
    // sub-slices: in the page, whose core is optimised for size, each
    // such copy was a call of its own.
    pub(crate) fn bytes(&mut self, b: &[u8]) {
        let (words, rest) = b.as_chunks::<8>();
        for w in words {
            self.word(u64::from_le_bytes(*w));
        }
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.word(u64::from_le_bytes(w));
        self.word(b.len() as u64);
    }

    /// Another hash of `b` for long inputs (values of up to a MiB): four
    /// lanes take 8 bytes each per step, and as no lane waits for
    /// another's multiplication, the steps overlap, where in
    /// [`Hasher::bytes`] each waits for the one before. The lanes are
    /// then folded into this hasher, with what is left and the length.
    pub(crate) fn long_bytes(&mut self, b: &[u8]) {
        let mut lanes = [0u64, 1, 2, 3].map(|i| Hasher(self.0 ^ i));
        let (words, _) = b.as_chunks::<8>();
        let (blocks, _) = words.as_chunks::<4>();
        for [w0, w1, w2, w3] in blocks {
            lanes[0].word(u64::from_le_bytes(*w0));
            lanes[1].word(u64::from_le_bytes(*w1));
            lanes[2].word(u64::from_le_bytes(*w2));
            lanes[3].word(u64::from_le_bytes(*w3));
        }
        for lane in lanes {
            self.word(lane.0);
        }
        self.bytes(&b[blocks.len() * 32..]);
        self.word(b.len() as u64);
    }

    /// Murmur3's finaliser: every input bit reaches every output bit.
    pub(crate) fn finish(self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// For maps keyed by whole values (the checker's puts by value): std's
/// SipHash spends about a cycle a byte, and values run up to a MiB. A
/// fixed seed is no weakness there: the checker reads a history, it
/// serves no one.
pub(crate) type LongKeys = std::hash::BuildHasherDefault<LongKeyHasher>;

pub(crate) struct LongKeyHasher(Hasher);

impl Default for LongKeyHasher {
    fn default() -> LongKeyHasher {
        LongKeyHasher(Hasher(0xa409_3822_299f_31d0))
    }
}

impl std::hash::Hasher for LongKeyHasher {
    fn write(&mut self, b: &[u8]) {
        self.0.long_bytes(b);
    }
    fn finish(&self) -> u64 {
        Hasher(self.0 .0).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Hasher;

    fn long(b: &[u8]) -> u64 {
        let mut h = Hasher(7);
        h.long_bytes(b);
        h.finish()
    }

    #[test]
    fn a_long_hash_tells_apart_a_change_in_any_lane_the_tail_or_the_length() {
        let base: Vec<u8> = (0..101u8).collect();
        let h = long(&base);
        // Bytes 0..96 are three blocks of four lanes; 96..101 the tail.
        for i in 0..base.len() {
            let mut b = base.clone();
            b[i] ^= 1;
            assert_ne!(long(&b), h, "a change at byte {i} went unseen");
        }
        // Trailing zeros are not padding: the length is hashed too.
        let mut zeros = base.clone();
        zeros.push(0);
        assert_ne!(long(&zeros), h);
        // Two blocks whose lanes hold the same words in another order.
        let a: Vec<u8> = (0..64u8).collect();
        let mut swapped = a.clone();
        swapped[..32].rotate_left(8);
        assert_ne!(long(&swapped), long(&a));
    }

    #[test]
    fn a_long_hash_does_not_change_unnoticed() {
        // Replicas compare the tree sums built from these hashes: nodes
        // of two builds that hashed apart would find every leaf different
        // and send each other everything.
        let v: Vec<u8> = (0..1000u32).map(|i| (i * 31 % 251) as u8).collect();
        assert_eq!(long(&v), 0xc5e1_7c2b_eefd_d943, "{:#x}", long(&v));
    }
}
