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

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.word(u64::from_le_bytes(w));
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
