//! The browser tests `cargo xtask test` runs, by name.
//!
//! They are `#[ignore]`d in a plain `cargo test` because they need a built
//! page, browsers and drivers. Running them with `--include-ignored` would
//! also run every other ignored test of the crate (slow measurements, for
//! one), so each is listed here by its test target and name, and the list
//! is checked against what cargo builds before anything runs: a renamed
//! or un-ignored test fails the run instead of silently not running.

use std::collections::BTreeSet;
use std::process::Command;

/// (test target in web/tests, test function) of every browser test.
pub const TESTS: &[(&str, &str)] = &[
    ("browser", "the_page_shows_replicas_hints_and_handoff"),
    ("browser", "a_student_answers_a_prediction"),
    ("firefox", "the_page_works_in_firefox"),
    ("firefox", "a_student_answers_a_prediction_in_firefox"),
    ("live", "the_page_drives_a_real_cluster"),
    ("why", "why_explains_a_stale_one_read_in_one_click"),
    ("lessons", "a_lesson_loads_from_a_file"),
    ("lessons", "a_lesson_loads_from_a_url"),
    (
        "lessons",
        "a_refused_lesson_shows_its_line_and_nothing_runs",
    ),
    ("lab", "a_student_runs_the_staleness_lab"),
    ("rewind", "rewind_to_before_a_crash_and_see_the_node_up"),
    ("rewind", "fork_and_see_the_share_link_reproduce_the_fork"),
    ("firefox", "rewind_to_before_a_crash_in_firefox"),
    (
        "spacetime",
        "the_space_time_view_picks_the_same_message_as_the_log",
    ),
    (
        "calm",
        "the_calm_view_fits_a_projector_and_opens_the_full_panel_by_keyboard",
    ),
    ("firefox", "the_calm_view_in_firefox"),
    ("firefox", "fork_and_its_share_link_in_firefox"),
    ("firefox", "why_explains_a_stale_one_read_in_firefox"),
    ("firefox", "a_lesson_loads_from_a_file_in_firefox"),
    ("firefox", "a_lesson_loads_from_a_url_in_firefox"),
    ("firefox", "the_staleness_lab_in_firefox"),
    ("firefox", "the_space_time_view_in_firefox"),
    (
        "usability",
        "typing_into_the_full_panel_while_the_clock_runs_keeps_the_text",
    ),
    (
        "usability",
        "typing_into_the_lab_while_trials_run_keeps_the_text",
    ),
    ("usability", "the_ring_works_from_the_keyboard"),
    ("usability", "the_ring_fits_its_box_with_large_text"),
    ("firefox", "typing_while_the_clock_runs_in_firefox"),
    ("firefox", "typing_in_the_lab_while_trials_run_in_firefox"),
    ("firefox", "the_ring_from_the_keyboard_in_firefox"),
    ("firefox", "the_ring_fits_large_text_in_firefox"),
];

/// `cargo test -p ringside-web --test T... -- --ignored --exact NAME...`
/// with `extra` between `--ignored` and the names (`--list` to check).
fn command(cargo: Command, extra: &[&str]) -> Command {
    let mut cmd = cargo;
    cmd.args(["test", "-p", "ringside-web"]);
    let targets: BTreeSet<&str> = TESTS.iter().map(|(t, _)| *t).collect();
    for t in targets {
        cmd.args(["--test", t]);
    }
    cmd.args(["--", "--ignored", "--exact"]).args(extra);
    cmd.args(TESTS.iter().map(|(_, name)| *name));
    cmd
}

/// The command that runs the browser tests, after checking (with
/// `--list`) that each listed test exists and is ignored in a plain run;
/// `cargo()` makes a fresh `cargo` command with the environment the tests
/// need.
pub fn tests(cargo: impl Fn() -> Command) -> Result<Command, String> {
    let mut list = command(cargo(), &["--list", "--format", "terse"]);
    let shown = super::show(&list);
    println!("$ {shown}");
    let out = list
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let missing = missing(&String::from_utf8_lossy(&out.stdout));
    if !missing.is_empty() {
        return Err(format!(
            "browser tests not found as ignored tests of ringside-web: {} (xtask/src/browser.rs lists them)",
            missing.join(", ")
        ));
    }
    Ok(command(cargo(), &[]))
}

/// The listed tests absent from libtest's `--list --format terse` output
/// (lines `name: test`).
fn missing(listed: &str) -> Vec<&'static str> {
    let found: BTreeSet<&str> = listed
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .collect();
    TESTS
        .iter()
        .map(|(_, name)| *name)
        .filter(|name| !found.contains(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_listed_test_is_an_ignored_test_in_its_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/tests");
        for (target, name) in TESTS {
            let path = root.join(format!("{target}.rs"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let at = text
                .find(&format!("fn {name}()"))
                .unwrap_or_else(|| panic!("no fn {name} in {}", path.display()));
            let before = &text[..at];
            let attrs = &before[before.rfind("#[test]").expect("#[test] before it")..];
            assert!(attrs.contains("#[ignore"), "{name} is not #[ignore]d");
        }
    }

    #[test]
    fn a_test_missing_from_the_list_is_named() {
        let listed = "the_page_shows_replicas_hints_and_handoff: test\n\
                      the_page_works_in_firefox: test\n";
        let m = missing(listed);
        assert!(m.contains(&"the_page_drives_a_real_cluster"), "{m:?}");
        assert!(!m.contains(&"the_page_works_in_firefox"), "{m:?}");
    }
}
