//! Lessons from outside the page: a file the person picks, a URL (typed,
//! or `#lesson-url=` in the page's link), pasted text, or the text itself
//! in the link (`#lesson=`). Each goes through the parser the nine
//! built-ins go through ([`ringside_core::lesson::parse`]); a lesson with
//! an error is refused whole, with where it came from, the line and the
//! reason, and nothing of it runs: the cluster and any scenario on screen
//! stay as they were.
//!
//! A lesson starts like a built-in: the simulated cluster is reset to the
//! lesson's `[cluster]` (nodes, RF, seed) and the player runs it. On a
//! live cluster, a lesson cannot run (its steps crash nodes, cut links
//! and expect what a seeded simulation does): it runs in the simulation,
//! as the built-ins do, and the loader says so before anything is loaded.

use super::{Model, MAX_LINK_CHARS};
use crate::backend::link::percent_encode;
use crate::backend::simulated::{Fragment, Settings};
use crate::scenario::{self, Runner, Scenario};
use crate::state::Update;
use ringside_core::lesson::parse;

/// A lesson file larger than this is not a lesson (a wrong URL that
/// answers with a big page or a binary): refused before parsing.
pub const MAX_LESSON_BYTES: usize = 256 * 1024;

/// Where a lesson came from: named when it is refused, and deciding how
/// it is shared.
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// One of the nine in `lessons/`, by id.
    Builtin(String),
    /// A file the person picked, by name.
    File(String),
    /// Fetched from this URL (as given: relative to the page, or not).
    Url(String),
    /// Pasted into the loader.
    Pasted,
    /// Carried whole by the link the page was opened with.
    Link,
}

impl Origin {
    /// The lesson's source in words, for messages.
    pub fn describe(&self) -> String {
        match self {
            Origin::Builtin(id) => format!("the built-in lesson {id:?}"),
            Origin::File(name) => format!("the file {name}"),
            Origin::Url(url) => url.clone(),
            Origin::Pasted => "the pasted text".into(),
            Origin::Link => "the link this page was opened with".into(),
        }
    }
}

/// A lesson refused: where it came from, and where in it and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Refusal {
    pub origin: Origin,
    /// The 1-based line the error is on, when it is on one.
    pub line: Option<usize>,
    /// That line's text, to show it.
    pub text: Option<String>,
    pub reason: String,
}

/// The loader's state, shown by `components::lesson`.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Status {
    #[default]
    Idle,
    /// Fetching this URL.
    Fetching(String),
    Refused(Refusal),
}

/// What the page knows of lessons loaded from outside.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Lessons {
    /// The loader is open.
    pub open: bool,
    pub status: Status,
    /// Where the lesson on screen came from, and the fragment that shares
    /// it (`None`: too long for a link).
    pub playing: Option<(Origin, Option<String>)>,
}

/// What a person (or a fetch) can do with the loader.
#[derive(Clone, Debug, PartialEq)]
pub enum LessonCmd {
    Open,
    /// Close the loader, forgetting a refusal it shows.
    Close,
    /// Load this text and start it.
    Load {
        origin: Origin,
        text: String,
    },
    /// A fetch of this URL has started.
    Fetching(String),
    /// A fetch has ended: the body, or the HTTP or network error.
    Fetched {
        url: String,
        result: Result<String, String>,
    },
    /// The lesson's text could not be had (a file the browser could not
    /// read).
    Unreadable {
        origin: Origin,
        reason: String,
    },
    /// Start the lesson on screen again from its first step.
    Again,
}

/// Parses `text` as a lesson from `origin`: the lesson, or why not.
pub fn load(origin: &Origin, text: &str) -> Result<Scenario, Refusal> {
    if text.len() > MAX_LESSON_BYTES {
        return Err(Refusal {
            origin: origin.clone(),
            line: None,
            text: None,
            reason: format!(
                "{} bytes is too large for a lesson (at most {} KB): is this the right file?",
                text.len(),
                MAX_LESSON_BYTES / 1024
            ),
        });
    }
    parse(text).map_err(|e| {
        let line = (e.line > 0).then_some(e.line);
        Refusal {
            origin: origin.clone(),
            line,
            text: line
                .and_then(|l| text.lines().nth(l - 1))
                .map(str::to_string),
            reason: e.reason,
        }
    })
}

/// The fragment that shares a lesson: a built-in by id, a URL by its
/// URL, any other by its text (`None` when that is longer than a link
/// may be).
pub fn share_fragment(origin: &Origin, text: &str) -> Option<String> {
    let f = match origin {
        Origin::Builtin(id) => format!("scenario={}", percent_encode(id)),
        Origin::Url(url) => format!("lesson-url={}", percent_encode(url)),
        Origin::File(_) | Origin::Pasted | Origin::Link => {
            format!("lesson={}", percent_encode(text))
        }
    };
    (f.len() <= MAX_LINK_CHARS).then_some(f)
}

/// The simulated cluster a lesson runs on.
fn settings_of(lesson: &Scenario) -> Settings {
    Settings {
        seed: lesson.cluster.seed,
        nodes: lesson.cluster.nodes,
        rf: lesson.cluster.rf,
        vnodes: None,
    }
}

impl Model {
    /// Honours `lesson=` (the text) and `lesson-url=` in the page's link;
    /// the URL is fetched once the page is up (see [`Lessons::fetching`]).
    pub(super) fn lessons_from_fragment(&mut self, f: &Fragment) {
        if let Some(text) = f.param("lesson") {
            let text = text.to_string();
            self.handle_lesson(LessonCmd::Load {
                origin: Origin::Link,
                text,
            });
        } else if let Some(url) = f.param("lesson-url") {
            let url = url.trim().to_string();
            self.handle_lesson(LessonCmd::Fetching(url));
        }
    }

    /// Starts the built-in lesson `id`.
    pub(super) fn start_builtin(&mut self, id: &str) {
        match scenario::builtin_text(id) {
            Some(text) => self.handle_lesson(LessonCmd::Load {
                origin: Origin::Builtin(id.to_string()),
                text: text.to_string(),
            }),
            None => self.apply(vec![Update::Notice(format!("no scenario named {id:?}"))]),
        }
    }

    pub(super) fn handle_lesson(&mut self, cmd: LessonCmd) {
        match cmd {
            LessonCmd::Open => self.lessons.open = true,
            LessonCmd::Close => {
                self.lessons.open = false;
                self.lessons.status = Status::Idle;
            }
            LessonCmd::Load { origin, text } => match load(&origin, &text) {
                Ok(lesson) => {
                    let share = share_fragment(&origin, &text);
                    self.start_lesson(lesson, (origin, share));
                }
                Err(refusal) => self.refuse(refusal),
            },
            LessonCmd::Fetching(url) => {
                if url.is_empty() {
                    self.refuse(Refusal {
                        origin: Origin::Url(url),
                        line: None,
                        text: None,
                        reason: "no URL given".into(),
                    });
                } else {
                    self.lessons.status = Status::Fetching(url);
                }
            }
            LessonCmd::Fetched { url, result } => {
                // A late answer for a URL the person has since left
                // (another lesson, a closed loader) changes nothing.
                if self.lessons.status != Status::Fetching(url.clone()) {
                    return;
                }
                match result {
                    Ok(text) => self.handle_lesson(LessonCmd::Load {
                        origin: Origin::Url(url),
                        text,
                    }),
                    Err(reason) => self.refuse(Refusal {
                        origin: Origin::Url(url),
                        line: None,
                        text: None,
                        reason,
                    }),
                }
            }
            LessonCmd::Unreadable { origin, reason } => self.refuse(Refusal {
                origin,
                line: None,
                text: None,
                reason,
            }),
            LessonCmd::Again => {
                let (Some(r), Some(playing)) = (&self.runner, &self.lessons.playing) else {
                    return;
                };
                let (lesson, playing) = (r.scenario.clone(), playing.clone());
                self.start_lesson(lesson, playing);
            }
        }
    }

    /// Shows a refusal; nothing else changes.
    fn refuse(&mut self, refusal: Refusal) {
        self.lessons.open = true;
        self.lessons.status = Status::Refused(refusal);
    }

    /// A fresh simulated cluster as the lesson says, and the player on
    /// its first step.
    fn start_lesson(&mut self, lesson: Scenario, playing: (Origin, Option<String>)) {
        let settings = settings_of(&lesson);
        if let Err(reason) = settings.validate() {
            self.refuse(Refusal {
                origin: playing.0,
                line: None,
                text: None,
                reason: format!("its cluster: {reason}"),
            });
            return;
        }
        let builtin = matches!(playing.0, Origin::Builtin(_));
        self.reset(settings);
        self.runner = Some(Runner::new(lesson));
        self.lessons = Lessons {
            // A lesson the person loaded closes the loader; starting a
            // built-in leaves it as it was.
            open: builtin && self.lessons.open,
            status: Status::Idle,
            playing: Some(playing),
        };
        self.playing = true;
        self.run_scenario();
    }
}

impl Lessons {
    /// The URL being fetched, if one is.
    pub fn fetching(&self) -> Option<&str> {
        match &self.status {
            Status::Fetching(url) => Some(url),
            _ => None,
        }
    }

    /// Where the lesson on screen came from, in words, unless it is a
    /// built-in.
    pub fn source(&self) -> Option<String> {
        match &self.playing.as_ref()?.0 {
            Origin::Builtin(_) => None,
            other => Some(other.describe()),
        }
    }

    /// The fragment sharing the lesson on screen, if it can be shared.
    pub fn share(&self) -> Option<&str> {
        self.playing.as_ref()?.1.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::simulated::parse_fragment;
    use crate::model::tests::model;
    use crate::model::Cmd;

    const HANDOFF: &str = include_str!("../../../lessons/6-hinted-handoff.toml");

    /// Runs `m` for `wall_ms`, answering every prediction rightly.
    fn run(m: &mut Model, wall_ms: f64) {
        for _ in 0..(wall_ms / 100.0).ceil() as usize {
            super::super::tests::run(m, 100.0);
            let right = m.runner.as_ref().and_then(|r| r.asking()).map(|p| p.answer);
            if let Some(right) = right {
                m.handle(Cmd::ScenarioAnswer(right));
            }
        }
    }

    fn load_into(m: &mut Model, origin: Origin, text: &str) {
        m.handle(Cmd::Lesson(LessonCmd::Load {
            origin,
            text: text.into(),
        }));
    }

    #[test]
    fn a_lesson_from_text_plays_as_the_same_built_in() {
        let mut pasted = model();
        pasted.handle(Cmd::Speed(3.0));
        load_into(&mut pasted, Origin::Pasted, HANDOFF);
        let mut builtin = model();
        builtin.handle(Cmd::Speed(3.0));
        builtin.handle(Cmd::Scenario("hinted-handoff".into()));
        assert_eq!(
            pasted.runner.as_ref().map(|r| &r.scenario),
            builtin.runner.as_ref().map(|r| &r.scenario)
        );
        run(&mut pasted, 20_000.0);
        run(&mut builtin, 20_000.0);
        let (p, b) = (
            pasted.runner.as_ref().unwrap(),
            builtin.runner.as_ref().unwrap(),
        );
        assert!(p.done() && p.all_ok(), "{:?}", p.checks);
        assert_eq!(p.checks, b.checks);
        assert_eq!(pasted.script(), builtin.script());
    }

    #[test]
    fn a_refused_lesson_names_its_line_and_changes_nothing() {
        let mut m = model();
        m.handle(Cmd::Speed(1.0));
        m.handle(Cmd::Scenario("replicas".into()));
        run(&mut m, 300.0);
        let (script, runner) = (m.script(), m.runner.clone());
        let settings = m.settings().cloned();
        // Node 7 in a 4-node cluster, in the third step's actions; the steps before it are good, and must not run either.
        let bad = HANDOFF.replacen(
            "actions = [{ restart = 3 }]",
            "actions = [{ restart = 7 }]",
            1,
        );
        load_into(&mut m, Origin::File("handoff.toml".into()), &bad);
        let Status::Refused(r) = &m.lessons.status else {
            panic!("not refused: {:?}", m.lessons.status);
        };
        assert_eq!(r.origin, Origin::File("handoff.toml".into()));
        assert_eq!(r.line, Some(16));
        assert_eq!(r.text.as_deref(), Some("actions = [{ restart = 7 }]"));
        assert!(r.reason.contains("node 7 does not exist"), "{}", r.reason);
        assert!(m.lessons.open, "the refusal is shown");
        assert_eq!(m.script(), script, "no action of the lesson ran");
        assert_eq!(m.runner, runner, "the scenario on screen stays");
        assert_eq!(m.settings().cloned(), settings, "the cluster stays");
        // A syntax error and an empty file are refused the same way.
        load_into(
            &mut m,
            Origin::Pasted,
            "id = \"x\"\ntitle = \"t\"\n[[step]\n",
        );
        let Status::Refused(r) = &m.lessons.status else {
            panic!("not refused");
        };
        assert_eq!((r.line, r.origin.clone()), (Some(3), Origin::Pasted));
        load_into(&mut m, Origin::Pasted, "");
        assert!(matches!(m.lessons.status, Status::Refused(_)));
        assert_eq!(m.script(), script);
    }

    #[test]
    fn a_lesson_resets_the_cluster_to_its_own() {
        let mut m = model();
        m.handle(Cmd::Console("put 1 a".into()));
        let small = "id = \"two\"\ntitle = \"Two nodes\"\n[cluster]\nnodes = 2\nrf = 2\nseed = 11\n\
                     [[step]]\nsay = \"Write 1 on both.\"\nactions = [{ put = { node = 1, key = 1, value = \"v\", cl = \"ALL\" } }]\n\
                     expect = [{ outcome = \"ok\" }]\n";
        load_into(&mut m, Origin::Pasted, small);
        assert_eq!(m.lessons.status, Status::Idle);
        assert_eq!(
            m.settings(),
            Some(&Settings {
                seed: 11,
                nodes: 2,
                rf: 2,
                vnodes: None
            })
        );
        assert_eq!(m.view.topo.nodes, vec![0, 1]);
        // The earlier put is gone; the lesson's own is the only request.
        assert_eq!(m.script().len(), 1);
        run(&mut m, 3_000.0);
        assert!(m.runner.as_ref().unwrap().all_ok());
        assert!(!m.lessons.open, "the loader closes once a lesson starts");
    }

    #[test]
    fn a_fetched_lesson_starts_and_a_failed_fetch_names_its_url() {
        let mut m = Model::from_fragment(
            parse_fragment("lesson-url=lessons%2F6-hinted-handoff.toml").unwrap(),
        );
        assert_eq!(m.lessons.fetching(), Some("lessons/6-hinted-handoff.toml"));
        assert!(m.runner.is_none(), "nothing runs before the text arrives");
        m.handle(Cmd::Lesson(LessonCmd::Fetched {
            url: "lessons/6-hinted-handoff.toml".into(),
            result: Ok(HANDOFF.into()),
        }));
        assert_eq!(m.runner.as_ref().unwrap().scenario.id, "hinted-handoff");
        assert_eq!(
            m.lessons.share(),
            Some("lesson-url=lessons%2F6-hinted-handoff.toml")
        );
        assert_eq!(
            m.lessons.source().as_deref(),
            Some("lessons/6-hinted-handoff.toml")
        );
        let script = m.script();
        m.handle(Cmd::Lesson(LessonCmd::Fetching(
            "http://x/missing.toml".into(),
        )));
        m.handle(Cmd::Lesson(LessonCmd::Fetched {
            url: "http://x/missing.toml".into(),
            result: Err("HTTP 404 Not Found".into()),
        }));
        let Status::Refused(r) = &m.lessons.status else {
            panic!("not refused");
        };
        assert_eq!(r.origin, Origin::Url("http://x/missing.toml".into()));
        assert_eq!(r.reason, "HTTP 404 Not Found");
        assert_eq!(m.runner.as_ref().unwrap().scenario.id, "hinted-handoff");
        assert_eq!(m.script(), script);
        // An answer for a URL the page no longer waits for is dropped.
        m.handle(Cmd::Lesson(LessonCmd::Fetched {
            url: "http://x/late.toml".into(),
            result: Ok("not even toml".into()),
        }));
        assert!(matches!(m.lessons.status, Status::Refused(_)));
    }

    #[test]
    fn a_lesson_is_shared_by_url_by_id_or_by_its_text() {
        let mut m = model();
        m.handle(Cmd::Scenario("tombstone".into()));
        assert_eq!(m.lessons.source(), None, "a built-in needs no source");
        let builtin = share_fragment(&Origin::Builtin("tombstone".into()), "");
        assert_eq!(builtin.as_deref(), Some("scenario=tombstone"));
        let text = share_fragment(&Origin::Pasted, HANDOFF).unwrap();
        // The link's text is the lesson again, and starts it.
        let mut m = Model::from_fragment(parse_fragment(&text).unwrap());
        let r = m.runner.as_ref().expect("the link starts the lesson");
        assert_eq!(r.scenario, load_ok(HANDOFF));
        assert_eq!(m.lessons.share(), Some(text.as_str()));
        m.handle(Cmd::Speed(3.0));
        run(&mut m, 20_000.0);
        assert!(m.runner.as_ref().unwrap().all_ok());
        // Too long for a link: no share fragment (the URL form still is).
        let long = format!("{HANDOFF}\n# {}\n", "x".repeat(MAX_LINK_CHARS));
        assert!(share_fragment(&Origin::File("big.toml".into()), &long).is_none());
        assert!(share_fragment(&Origin::Url("https://e.org/a.toml".into()), &long).is_some());
    }

    #[test]
    fn again_restarts_a_loaded_lesson_from_its_first_step() {
        let mut m = model();
        m.handle(Cmd::Speed(3.0));
        load_into(&mut m, Origin::File("mine.toml".into()), HANDOFF);
        run(&mut m, 20_000.0);
        assert!(m.runner.as_ref().unwrap().done());
        m.handle(Cmd::Lesson(LessonCmd::Again));
        let r = m.runner.as_ref().unwrap();
        assert_eq!((r.step, r.checks.len()), (0, 0));
        assert_eq!(r.scenario.id, "hinted-handoff");
        assert_eq!(
            m.lessons.playing.as_ref().map(|p| &p.0),
            Some(&Origin::File("mine.toml".into()))
        );
    }

    #[test]
    fn a_file_too_large_is_refused_before_parsing() {
        let big = "#".repeat(MAX_LESSON_BYTES + 1);
        let r = load(&Origin::File("huge.bin".into()), &big).unwrap_err();
        assert!(r.reason.contains("too large"), "{}", r.reason);
        assert_eq!(r.line, None);
    }

    fn load_ok(text: &str) -> Scenario {
        super::load(&Origin::Pasted, text).expect("a good lesson")
    }
}
