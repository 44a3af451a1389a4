//! The lesson format: the nine built-in lessons parse, each with a
//! prediction whose answer is one of its choices; every kind of error is
//! refused with its line and reason, and nothing comes back half-built.

use ringside_core::lesson::{parse, Expect, Wait};
use ringside_core::sim::Action;
use std::path::PathBuf;

fn lessons_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../lessons")
}

#[test]
fn the_nine_built_in_lessons_parse_and_each_asks_a_prediction() {
    let mut files: Vec<_> = std::fs::read_dir(lessons_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 9, "{files:?}");
    let mut ids = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let l = parse(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(!l.steps.is_empty());
        let p = l.steps.iter().find_map(|s| s.predict.as_ref());
        let p = p.unwrap_or_else(|| panic!("{} has no prediction", l.id));
        assert!(p.answer < p.choices.len() && !p.why.is_empty());
        for s in &l.steps {
            assert!(text.lines().nth(s.line - 1).unwrap().contains("[[step]]"));
        }
        ids.push(l.id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 9, "ids are unique");
}

const SMALL: &str = r#"id = "small"
title = "A small lesson"

[cluster]
nodes = 3
rf = 3

[[step]]
say = "Crash node 2."
actions = [{ crash = 2 }]
wait = { ms = 500 }

[[step]]
say = "Write at ONE."
actions = [{ put = { node = 0, key = 5, value = "v", cl = "ONE" } }, "heal_all"]
expect = [{ outcome = "ok" }, { value = { node = 0, key = 5, is = "v" } }, { read = {} }]

[step.predict]
question = "Does it succeed?"
choices = ["yes", "no"]
answer = "yes"
why = "One replica is enough."
"#;

#[test]
fn a_small_lesson_parses_to_what_it_says() {
    let l = parse(SMALL).unwrap();
    assert_eq!(l.id, "small");
    assert_eq!((l.cluster.nodes, l.cluster.rf), (3, 3));
    assert_eq!(l.steps.len(), 2);
    assert_eq!(l.steps[0].actions, vec![Action::Crash { node: 2 }]);
    assert_eq!(l.steps[0].wait, Wait::Ms(500));
    assert_eq!(l.steps[0].line, 8);
    assert_eq!(l.steps[1].wait, Wait::Answered);
    assert_eq!(l.steps[1].actions[1], Action::HealAll);
    assert_eq!(l.steps[1].expect[0], Expect::Outcome("ok".into()));
    assert_eq!(l.steps[1].expect[2], Expect::Read(None));
    let p = l.steps[1].predict.as_ref().unwrap();
    assert_eq!((p.answer, p.choices.len()), (0, 2));
}

/// Replaces `from` by `to` in the small lesson and parses it.
fn broken(from: &str, to: &str) -> ringside_core::lesson::LessonError {
    assert!(SMALL.contains(from), "{from}");
    parse(&SMALL.replacen(from, to, 1)).expect_err("refused")
}

#[test]
fn every_error_names_its_line_and_reason() {
    let cases: [(&str, &str, usize, &str); 17] = [
        (
            "wait = { ms = 500 }",
            "wait = { ms = 100000000000000000 }",
            11,
            "wait: at most 60000 ms",
        ),
        (
            "{ crash = 2 }",
            "{ skew = { node = 1, ms = 9223372036854775807 } }",
            10,
            "skew: at most 86400000 ms",
        ),
        (
            "{ crash = 2 }",
            "{ crash = 7 }",
            10,
            "node 7 does not exist",
        ),
        (
            "{ crash = 2 }",
            "{ explode = 2 }",
            10,
            "unknown variant `explode`",
        ),
        (
            "cl = \"ONE\"",
            "cl = \"SOME\"",
            15,
            "unknown consistency level",
        ),
        (
            "wait = { ms = 500 }",
            "wait = { ms = -5 }",
            11,
            "invalid value",
        ),
        (
            "say = \"Crash node 2.\"",
            "sayy = \"Crash node 2.\"",
            9,
            "unknown field `sayy`",
        ),
        (
            "answer = \"yes\"",
            "answer = \"maybe\"",
            18,
            "\"maybe\" is not one of the choices",
        ),
        (
            "choices = [\"yes\", \"no\"]",
            "choices = [\"yes\"]",
            18,
            "at least two choices",
        ),
        (
            "{ outcome = \"ok\" }",
            "{ outcome = \"fine\" }",
            16,
            "not one of",
        ),
        ("rf = 3", "rf = 4", 4, "cluster.rf"),
        (
            "title = \"A small lesson\"",
            "title = \"A small lesson",
            2,
            "",
        ),
        ("key = 5,", "key = 300,", 15, ""),
        ("nodes = 3", "nodez = 3", 5, "unknown field `nodez`"),
        ("rf = 3", "rf = \"three\"", 6, "invalid type"),
        ("rf = 3", "rf = 1979-05-27", 6, "date-time"),
        (
            "why = \"One replica is enough.\"",
            "",
            18,
            "missing field `why`",
        ),
    ];
    let mut wrong = Vec::new();
    for (from, to, line, reason) in cases {
        let e = broken(from, to);
        if e.line != line || !e.reason.contains(reason) || e.reason.is_empty() {
            wrong.push(format!(
                "{to}: expected line {line} and {reason:?}, got {e}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let e = parse("id = \"x\"\ntitle = \"t\"\n").unwrap_err();
    assert!(e.reason.contains("step"), "{e}");
    let e = broken("{ crash = 2 }", "{ cut = [1, 1] }");
    assert!(
        e.reason.contains("two different nodes") && e.line == 10,
        "{e}"
    );
}
