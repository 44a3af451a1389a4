//! The one comparison of a secret someone presented (the peer secret on
//! `/peer`, the control token) with the one expected.

/// True when `given` equals `expected`. Every byte of `expected` is looked
/// at whatever the first difference, so the time taken does not tell a
/// guesser how much of a guess was right. An empty `expected` matches
/// nothing: a secret that was never set must not open anything.
pub fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    let mut diff = given.len() ^ expected.len();
    for (i, x) in expected.iter().enumerate() {
        diff |= (*x ^ given.get(i).copied().unwrap_or(0)) as usize;
    }
    diff == 0 && !expected.is_empty()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn secrets_compare_exactly() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b""));
    }
}
