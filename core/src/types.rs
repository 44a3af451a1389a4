//! The small vocabulary every other module speaks: node ids, keys, versions,
//! consistency levels, and the last-write-wins order.

mod hash;
mod value;

pub use byteyarn::Yarn;
pub use hash::{hash_prefix, key_hash};
pub(crate) use hash::{tagged_bytes, Hasher, LongKeys};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
pub use value::Value;

/// A node's id: `0..n` in the cluster file. Plain `u32` because ids travel
/// in JSON, on disk, and through the UI, and a newtype buys little there.
pub type NodeId = u32;

/// Microseconds. Every time in the core is a plain number handed in by the
/// driver (`std::time::Instant` panics on wasm32), so units go in the name.
pub type Micros = u64;

/// Longest string key, in bytes (PROTOCOL.md).
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value, in bytes (PROTOCOL.md: 1 MiB).
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// A key: either one of the classic integer keys `0..=255` or a string of
/// 1 to 256 bytes. `Int(137)` and `Str("137")` are different keys.
///
/// Ordering: integer keys first (by number), then string keys (by bytes),
/// which is the order `inspect` lists them in.
///
/// A string key is a [`Yarn`]: keys up to 15 bytes live inside the key
/// itself, so a short key costs no allocation of its own, and the whole key
/// is 16 bytes (the memtable holds one per key). In JSON a key is a number
/// or a string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    Int(u8),
    Str(Yarn),
}

impl Key {
    /// The bytes a partitioner places: one byte for a classic key, the UTF-8
    /// bytes for a string key. Borrowed: every request and every key of a
    /// replay's hash trees takes its token from them.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Key::Int(k) => std::slice::from_ref(k),
            Key::Str(s) => s.as_bytes(),
        }
    }

    /// How many bytes [`Key::bytes`] has (for the byte bounds of hints,
    /// `inspect` pages and anti-entropy messages).
    pub fn byte_len(&self) -> usize {
        match self {
            Key::Int(_) => 1,
            Key::Str(s) => s.len(),
        }
    }

    /// Builds a string key, checking its length.
    pub fn string(s: &str) -> Result<Key, String> {
        if s.is_empty() {
            return Err("key: a string key must not be empty".into());
        }
        if s.len() > MAX_KEY_BYTES {
            return Err(format!(
                "key: a string key is at most {MAX_KEY_BYTES} bytes, this one has {}",
                s.len()
            ));
        }
        Ok(Key::Str(Yarn::copy(s)))
    }

    /// Parses a key as typed in the console: digits `0..=255` are a classic
    /// key, a quoted word (`"137"`) or any other word is a string key.
    pub fn parse_console(word: &str) -> Result<Key, String> {
        if let Some(inner) = word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
            return Key::string(inner);
        }
        if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
            return match word.parse::<u64>() {
                Ok(n) if n <= 255 => Ok(Key::Int(n as u8)),
                _ => Err(format!(
                    "key: integer keys are 0..=255, got {word} (quote it, \"{word}\", for a string key)"
                )),
            };
        }
        Key::string(word)
    }
}

impl Serialize for Key {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Key::Int(k) => s.serialize_u8(*k),
            Key::Str(k) => s.serialize_str(k),
        }
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key: an integer 0..=255 or a string")
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Key, E> {
                u8::try_from(n)
                    .map(Key::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(n), &self))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Key, E> {
                u8::try_from(n)
                    .map(Key::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(n), &self))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key, E> {
                Ok(Key::Str(Yarn::copy(s)))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Key, E> {
                Ok(Key::Str(Yarn::from_string(s)))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(k) => write!(f, "{k}"),
            Key::Str(s) => write!(f, "{s:?}"),
        }
    }
}

/// One version of a key: the coordinator's timestamp and the value, where
/// `None` is a tombstone (a delete). The value is a [`Value`], not a
/// `String`: a value never grows once written, and the memtable holds one
/// per key, so a `String`'s length and capacity would be wasted there.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Version {
    pub ts: Micros,
    pub value: Option<Value>,
}

impl Version {
    pub fn is_tombstone(&self) -> bool {
        self.value.is_none()
    }

    /// The last-write-wins order: the greater timestamp wins; on equal
    /// timestamps a tombstone beats a value, and between two values the
    /// greater string wins. It is a total order, so every replica that has
    /// seen the same versions picks the same winner whatever the arrival
    /// order.
    pub fn lww_cmp(&self, other: &Version) -> Ordering {
        self.ts
            .cmp(&other.ts)
            .then_with(|| match (&self.value, &other.value) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => a.cmp(b),
            })
    }

    /// True when `self` wins over `other` (strictly newer in LWW order).
    pub fn supersedes(&self, other: &Version) -> bool {
        self.lww_cmp(other) == Ordering::Greater
    }

    /// The winner of two optional versions (absence loses to anything).
    pub fn newest<'a>(a: Option<&'a Version>, b: Option<&'a Version>) -> Option<&'a Version> {
        match (a, b) {
            (Some(x), Some(y)) => Some(if y.supersedes(x) { y } else { x }),
            (x, None) => x,
            (None, y) => y,
        }
    }
}

/// A key with its version, as replies and `inspect` show it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct KeyVersion {
    pub key: Key,
    pub value: Option<Value>,
    pub ts: Micros,
}

/// How many replicas must answer before the coordinator replies.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "UPPERCASE")]
pub enum Consistency {
    /// For writes only: succeed if the write is stored anywhere, a hint held
    /// by the coordinator included.
    Any,
    One,
    Two,
    Three,
    /// `RF/2 + 1` replicas.
    Quorum,
    /// Every replica.
    All,
}

impl Consistency {
    pub const ALL_LEVELS: [Consistency; 6] = [
        Consistency::Any,
        Consistency::One,
        Consistency::Two,
        Consistency::Three,
        Consistency::Quorum,
        Consistency::All,
    ];

    /// Replica acknowledgements needed at replication factor `rf`. ANY
    /// needs none from replicas: a stored hint is enough.
    pub fn required(self, rf: usize) -> usize {
        match self {
            Consistency::Any => 0,
            Consistency::One => 1,
            Consistency::Two => 2,
            Consistency::Three => 3,
            Consistency::Quorum => rf / 2 + 1,
            Consistency::All => rf,
        }
    }

    /// Parses `ONE`, `quorum`, ... (case-insensitive).
    pub fn parse(s: &str) -> Result<Consistency, String> {
        match s.to_ascii_uppercase().as_str() {
            "ANY" => Ok(Consistency::Any),
            "ONE" => Ok(Consistency::One),
            "TWO" => Ok(Consistency::Two),
            "THREE" => Ok(Consistency::Three),
            "QUORUM" => Ok(Consistency::Quorum),
            "ALL" => Ok(Consistency::All),
            _ => Err(format!(
                "cl: unknown consistency level {} (expected ONE, TWO, THREE, QUORUM, ALL or ANY)",
                clipped(&format!("{s:?}"))
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Consistency::Any => "ANY",
            Consistency::One => "ONE",
            Consistency::Two => "TWO",
            Consistency::Three => "THREE",
            Consistency::Quorum => "QUORUM",
            Consistency::All => "ALL",
        }
    }
}

impl fmt::Display for Consistency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `text` whole when short, else its first characters and its size: an
/// error names what was wrong without sending back a megabyte a client
/// sent, which a client that never reads would have the node queue for
/// it, error after error.
pub fn clipped(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        None => text.to_string(),
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(ts: u64, value: Option<&str>) -> Version {
        Version {
            ts,
            value: value.map(Value::from),
        }
    }

    #[test]
    fn newer_timestamp_wins() {
        assert!(v(2, Some("a")).supersedes(&v(1, Some("z"))));
        assert!(v(2, None).supersedes(&v(1, Some("z"))));
        assert!(!v(1, Some("z")).supersedes(&v(2, Some("a"))));
    }

    #[test]
    fn equal_timestamps_tombstone_wins_then_greater_value() {
        assert!(v(5, None).supersedes(&v(5, Some("zzz"))));
        assert!(v(5, Some("b")).supersedes(&v(5, Some("a"))));
        assert!(!v(5, Some("a")).supersedes(&v(5, Some("a"))));
        assert_eq!(v(5, None).lww_cmp(&v(5, None)), Ordering::Equal);
    }

    #[test]
    fn quorum_is_half_plus_one() {
        assert_eq!(Consistency::Quorum.required(3), 2);
        assert_eq!(Consistency::Quorum.required(5), 3);
        assert_eq!(Consistency::Quorum.required(1), 1);
        assert_eq!(Consistency::All.required(3), 3);
        assert_eq!(Consistency::Any.required(3), 0);
    }

    #[test]
    fn levels_parse_case_insensitively() {
        assert_eq!(Consistency::parse("quorum"), Ok(Consistency::Quorum));
        assert_eq!(Consistency::parse("ONE"), Ok(Consistency::One));
        assert!(Consistency::parse("SOME").unwrap_err().contains("SOME"));
    }

    #[test]
    fn console_keys() {
        assert_eq!(Key::parse_console("137"), Ok(Key::Int(137)));
        assert_eq!(Key::parse_console("\"137\""), Ok(Key::Str("137".into())));
        assert_eq!(Key::parse_console("alice"), Ok(Key::Str("alice".into())));
        assert!(Key::parse_console("256").is_err());
        assert!(Key::parse_console(&"x".repeat(257)).is_err());
    }

    #[test]
    fn key_json_is_number_or_string() {
        assert_eq!(serde_json::to_string(&Key::Int(7)).unwrap(), "7");
        assert_eq!(
            serde_json::to_string(&Key::Str("7".into())).unwrap(),
            "\"7\""
        );
        let read = |json: &str| serde_json::from_str::<Key>(json).map_err(|e| e.to_string());
        assert_eq!(read("7"), Ok(Key::Int(7)));
        assert_eq!(read("\"7\""), Ok(Key::Str("7".into())));
        let long = "a key longer than a yarn holds inline";
        assert_eq!(read(&format!("{long:?}")), Ok(Key::Str(Yarn::copy(long))));
        for bad in ["256", "-1", "1.5", "null", "[1]"] {
            let err = read(bad).unwrap_err();
            assert!(
                err.contains("a key: an integer 0..=255 or a string"),
                "{bad}: {err}"
            );
        }
    }

    /// The memtable is a B-tree of keys and versions, one per key held:
    /// every byte of an entry is paid once per key (see the memory row in
    /// docs/benchmarks.md).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_memtable_entry_is_a_16_byte_key_and_a_16_byte_version() {
        assert_eq!(std::mem::size_of::<Key>(), 16);
        assert_eq!(std::mem::size_of::<Version>(), 16);
    }
}
