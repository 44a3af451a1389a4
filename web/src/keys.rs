//! The page's keyboard shortcuts: one table that both the key handler
//! ([`crate::app`]) and the "Keys" help ([`crate::components::keys`])
//! read, so the help lists exactly what the keys do.

/// What a shortcut does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortcut {
    TogglePlay,
    Step,
    StepBack,
    /// Show or hide the full control panel.
    AllControls,
    /// Focus the command line (it is in the full panel: opens it).
    Console,
    /// Show or hide the list of keys.
    Help,
    /// Close the list of keys.
    Close,
}

/// Every shortcut: the key as `KeyboardEvent.key` names it, how the help
/// shows it, and what it does in words.
pub const KEYS: [(&str, &str, Shortcut, &str); 7] = [
    (" ", "Space", Shortcut::TogglePlay, "play or pause"),
    (".", ".", Shortcut::Step, "one event forward"),
    (",", ",", Shortcut::StepBack, "one event back"),
    ("a", "a", Shortcut::AllControls, "show or hide all controls"),
    (
        "/",
        "/",
        Shortcut::Console,
        "type a command (opens all controls)",
    ),
    ("?", "?", Shortcut::Help, "show or hide this list"),
    ("Escape", "Esc", Shortcut::Close, "close this list"),
];

/// The shortcut a key press means, if any.
pub fn shortcut(key: &str) -> Option<Shortcut> {
    KEYS.iter().find(|(k, ..)| *k == key).map(|(_, _, s, _)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_means_one_shortcut_and_each_shortcut_has_a_key() {
        for (i, (k, ..)) in KEYS.iter().enumerate() {
            assert!(
                KEYS[i + 1..].iter().all(|(other, ..)| other != k),
                "{k:?} twice"
            );
        }
        for s in [
            Shortcut::TogglePlay,
            Shortcut::Step,
            Shortcut::StepBack,
            Shortcut::AllControls,
            Shortcut::Console,
            Shortcut::Help,
            Shortcut::Close,
        ] {
            assert!(KEYS.iter().any(|(.., t, _)| *t == s), "{s:?} has no key");
        }
        assert_eq!(shortcut("?"), Some(Shortcut::Help));
        assert_eq!(shortcut("a"), Some(Shortcut::AllControls));
        assert_eq!(shortcut("x"), None);
    }
}
