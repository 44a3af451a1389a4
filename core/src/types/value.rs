//! A key's value as the store holds it: immutable text behind one pointer.
//!
//! The memtable holds one version per key, a timestamp and a value, in a
//! B-tree whose nodes hold the versions themselves. A `Box<str>` is a
//! pointer and a length, 16 bytes; a [`Value`] is the pointer alone, with
//! the length in the first four bytes of its allocation. A value is at
//! most 1 MiB ([`MAX_VALUE_BYTES`](super::MAX_VALUE_BYTES)), so four bytes
//! hold any length; and the allocator rounds a block up to 16 bytes with 8
//! of its own, so for the benchmark's 100-byte values the four fit in the
//! 112-byte block the text alone took. Each key held saves eight bytes and
//! its value's block grows by none.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::ptr::NonNull;

/// Bytes before the text: its length, little-endian.
const HEADER: usize = 4;

/// Immutable UTF-8 text, one pointer wide (`Option<Value>` too): the value
/// of a version. Derefs to `str`; compares, hashes and prints as its text.
pub struct Value(NonNull<u8>);

// SAFETY: a Value owns its allocation alone, as a Box<str> does, and
// nothing writes through it after `new`.
unsafe impl Send for Value {}
// SAFETY: as above: shared references only read.
unsafe impl Sync for Value {}

impl Value {
    /// Copies `text` into a new allocation of its length plus the header.
    ///
    /// # Panics
    ///
    /// On text of 4 GiB or more. Every value is checked against
    /// `MAX_VALUE_BYTES` where it enters (a client's request, a peer's
    /// frame, a log record), and frames are far smaller than that.
    pub fn new(text: &str) -> Value {
        let len = u32::try_from(text.len()).expect("a value is under 4 GiB");
        let mut bytes = Vec::with_capacity(HEADER + text.len());
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
        let raw: *mut [u8] = Box::into_raw(bytes.into_boxed_slice());
        Value(NonNull::new(raw.cast::<u8>()).expect("a box is never null"))
    }

    /// The text's length in bytes, from the header.
    fn text_len(&self) -> usize {
        // SAFETY: the allocation starts with the HEADER bytes `new` wrote,
        // and `[u8; 4]` needs no alignment.
        let header = unsafe { self.0.as_ptr().cast::<[u8; HEADER]>().read() };
        u32::from_le_bytes(header) as usize
    }

    pub fn as_str(&self) -> &str {
        // SAFETY: the text_len bytes after the header were copied from a
        // `str` in `new` and never change; they live as long as `self`.
        unsafe {
            let bytes = std::slice::from_raw_parts(self.0.as_ptr().add(HEADER), self.text_len());
            std::str::from_utf8_unchecked(bytes)
        }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        let all = std::ptr::slice_from_raw_parts_mut(self.0.as_ptr(), HEADER + self.text_len());
        // SAFETY: the pointer and length are those of the boxed slice `new`
        // made, which nothing else owns.
        drop(unsafe { Box::from_raw(all) });
    }
}

impl Clone for Value {
    fn clone(&self) -> Value {
        Value::new(self.as_str())
    }
}

impl Deref for Value {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Value {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        *self == other.as_str()
    }
}

impl Eq for Value {}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.len() == other.len() && compare(self.as_bytes(), other.as_bytes()).is_eq()
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Value) -> Ordering {
        compare(self.as_bytes(), other.as_bytes())
    }
}

/// The byte order of two texts, as `[u8]::cmp` gives it. Two replicas
/// holding the same version compare its values whole (the timestamps
/// tie, the values decide), and values run up to a MiB. Native builds
/// call libc's `memcmp`; in the page's wasm there is no libc, and the
/// standard library's own `memcmp` steps a byte at a time, so there it
/// compares eight bytes a step.
fn compare(a: &[u8], b: &[u8]) -> Ordering {
    if cfg!(target_arch = "wasm32") {
        by_words(a, b)
    } else {
        a.cmp(b)
    }
}

/// [`compare`] eight bytes a step: big-endian words order as their bytes.
fn by_words(a: &[u8], b: &[u8]) -> Ordering {
    let (wa, _) = a.as_chunks::<8>();
    let (wb, _) = b.as_chunks::<8>();
    let mut same = 0;
    for (x, y) in wa.iter().zip(wb) {
        if x != y {
            return u64::from_be_bytes(*x).cmp(&u64::from_be_bytes(*y));
        }
        same += 8;
    }
    a[same..].cmp(&b[same..])
}

impl Hash for Value {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::new(text)
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::new(&text)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = Value;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value: a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
                Ok(Value::new(s))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        // The page's comparison, run here: it must order as `[u8]::cmp`,
        // for texts that share a long prefix most of all.
        #[test]
        fn comparing_by_words_orders_as_bytes_do(
            prefix in proptest::collection::vec(any::<u8>(), 0..40),
            a in proptest::collection::vec(0u8..4, 0..20),
            b in proptest::collection::vec(0u8..4, 0..20),
        ) {
            let a: Vec<u8> = prefix.iter().chain(&a).copied().collect();
            let b: Vec<u8> = prefix.iter().chain(&b).copied().collect();
            prop_assert_eq!(by_words(&a, &b), a.cmp(&b));
            prop_assert_eq!(by_words(&b, &a), b.cmp(&a));
            prop_assert_eq!(by_words(&a, &a), Ordering::Equal);
        }
    }

    #[test]
    fn a_value_and_a_missing_one_are_one_pointer_wide() {
        let word = std::mem::size_of::<usize>();
        assert_eq!(std::mem::size_of::<Value>(), word);
        assert_eq!(std::mem::size_of::<Option<Value>>(), word);
    }

    #[test]
    fn a_value_holds_its_text_whatever_its_length() {
        for text in ["", "a", "é", "x".repeat(100).as_str(), &"ß".repeat(1 << 19)] {
            let v = Value::new(text);
            assert_eq!(v.as_str(), text);
            assert_eq!(v.len(), text.len());
            let copy = v.clone();
            drop(v);
            assert_eq!(&*copy, text, "a clone outlives its original");
        }
    }

    #[test]
    fn values_compare_hash_and_print_as_their_text() {
        let (a, b) = (Value::from("apple"), Value::from(String::from("banana")));
        assert!(a < b);
        assert_eq!(a.cmp(&a.clone()), Ordering::Equal);
        assert_eq!(a, "apple");
        assert_eq!(format!("{a} {b:?}"), "apple \"banana\"");
        let mut map = BTreeMap::new();
        map.insert(a.clone(), 1);
        assert_eq!(
            map.get("apple"),
            Some(&1),
            "looked up by &str through Borrow"
        );
        let hash = |h: &dyn Fn(&mut std::collections::hash_map::DefaultHasher)| {
            let mut s = std::collections::hash_map::DefaultHasher::new();
            h(&mut s);
            s.finish()
        };
        assert_eq!(hash(&|s| a.hash(s)), hash(&|s| "apple".hash(s)));
    }

    #[test]
    fn a_value_is_a_json_string_and_nothing_else() {
        let v: Value = serde_json::from_str("\"a \\\"b\\\"\"").unwrap();
        assert_eq!(v, "a \"b\"");
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"a \\\"b\\\"\"");
        let err = serde_json::from_str::<Value>("7").unwrap_err().to_string();
        assert!(err.contains("a value: a string"), "{err}");
    }
}
