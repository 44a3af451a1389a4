//! The page's model, apart from the component that ticks it (as in Yew's
//! `boids` example): the backend, the [`ClusterView`] it feeds, the
//! scenario runner, the clock's speed, and what the person has selected.
//!
//! The model owns the reducer state and hands panels an immutable
//! `Rc<ClusterView>`: the frame loop and the scenario runner must read the
//! view right after updating it, in the same frame, which a Yew reducer
//! handle (a snapshot taken at render time) does not allow.

use crate::backend::live::{page_transport, LiveBackend, LiveLink};
use crate::backend::replay::{parse_trace, Replay};
use crate::backend::simulated::{to_fragment, Fragment, Settings, SimBackend};
use crate::backend::Backend;
use crate::console::{self, Line};
use crate::rewind::RunState;
use crate::scenario::Runner;
use crate::state::{ClusterView, LogKind, Picked, Update};
use crate::why::{self, Evidence, Why};
use ringside_core::sim::{Action, Rng};
use ringside_core::{ClientRef, Consistency, Key, Micros, NodeId, Request};
use std::collections::BTreeSet;
use std::rc::Rc;

mod lessons;
pub use lessons::{LessonCmd, Lessons, Origin, Refusal, Status};

/// Speeds offered: simulated seconds per wall-clock second.
pub const SPEEDS: [f64; 8] = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0];
pub const DEFAULT_SPEED: f64 = 0.1;
/// How often (wall clock) the panels other than the ring are redrawn
/// while the clock runs: text need not move at 60 frames a second, and
/// redrawing sixteen replica panels every frame is what slows a page.
pub const PANEL_REFRESH_MS: f64 = 150.0;
/// A share link longer than this is not written to the URL (a long run
/// under load): browsers and chat tools cut long links.
pub const MAX_LINK_CHARS: usize = 30_000;

/// A random workload, for watching a busy cluster (and measuring the
/// frame rate). Its requests are ordinary actions: they are in the script.
#[derive(Clone, Debug)]
pub struct Load {
    pub rate: f64,
    debt: f64,
    rng: Rng,
    n: u64,
}

impl Load {
    fn new(rate: f64, seed: u64) -> Load {
        Load {
            rate,
            debt: 0.0,
            rng: Rng::new(seed ^ 0x10ad),
            n: 0,
        }
    }

    /// The requests due after `us` more simulated microseconds.
    fn due(&mut self, us: Micros, nodes: &[NodeId]) -> Vec<Action> {
        self.debt += us as f64 / 1e6 * self.rate;
        let mut out = Vec::new();
        while self.debt >= 1.0 && out.len() < 1_000 {
            self.debt -= 1.0;
            self.n += 1;
            let node = self.rng.pick(nodes).unwrap_or(0);
            let key = Key::Int(self.rng.range(0, 255) as u8);
            let cl = if self.rng.chance(0.7) {
                Consistency::Quorum
            } else {
                Consistency::One
            };
            let request = if self.rng.chance(0.5) {
                Request::Put {
                    key,
                    value: format!("load{}", self.n).into(),
                    cl,
                }
            } else {
                Request::Get { key, cl }
            };
            out.push(Action::Submit { node, request });
        }
        out
    }
}

/// What a person can ask of the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Cmd {
    Act(Action),
    /// A command-line line.
    Console(String),
    TogglePlay,
    Step,
    /// One event the log shows back (the mirror of [`Cmd::Step`]).
    StepBack,
    /// Show the run as it was after this many events (the scrub bar).
    Seek(u64),
    Speed(f64),
    Reset(Settings),
    /// Start a built-in lesson (by id) on a fresh cluster of its own.
    Scenario(String),
    /// Load a lesson from outside the page (see [`lessons`]).
    Lesson(LessonCmd),
    ScenarioNext,
    /// The student's answer to the step's prediction (a choice's index).
    ScenarioAnswer(usize),
    ScenarioAuto(bool),
    ScenarioClose,
    LoadTrace {
        name: String,
        text: String,
    },
    Coordinator(NodeId),
    SelectKey(Option<Key>),
    SelectRequest(Option<ClientRef>),
    /// Pick a message or a log line (the space-time view, the log and the
    /// ring highlight it), or nothing.
    Pick(Option<Picked>),
    /// Show or hide the space-time view.
    SpaceTime(bool),
    ToggleKind(LogKind),
    LogNode(Option<NodeId>),
    Heartbeats(bool),
    LargeText(bool),
    Fps(bool),
    /// A random workload of this many requests per simulated second.
    Load(f64),
    /// Tell the person something (a form they filled in wrongly, ...).
    Notice(String),
    /// Show the live cluster reached through this node's address.
    Connect(String),
    /// Leave the live cluster (or a trace) for a fresh simulation.
    Simulate,
    /// Stop a live node cleanly (SIGTERM through the supervisor).
    Stop(NodeId),
}

/// Choices that change only what is shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Ui {
    pub coordinator: NodeId,
    pub selected_key: Option<Key>,
    pub selected_request: Option<ClientRef>,
    /// The message or event picked in the space-time view or the log.
    pub picked: Option<Picked>,
    pub spacetime: bool,
    pub hidden_kinds: BTreeSet<LogKind>,
    pub log_node: Option<NodeId>,
    pub heartbeats: bool,
    pub large_text: bool,
    pub fps: bool,
    /// The last command line's echo or error.
    pub console_reply: Option<(bool, String)>,
    /// The address the connect form offers (from the link, if any).
    pub live_addr: Option<String>,
}

impl Default for Ui {
    fn default() -> Self {
        Ui {
            coordinator: 0,
            selected_key: None,
            selected_request: None,
            picked: None,
            spacetime: false,
            hidden_kinds: [LogKind::Message].into_iter().collect(),
            log_node: None,
            heartbeats: false,
            large_text: false,
            fps: false,
            console_reply: None,
            live_addr: None,
        }
    }
}

impl Ui {
    /// The display choices kept for another cluster (a reset, a live
    /// one): what pointed into this cluster (selections, the coordinator,
    /// the last command's echo) is forgotten.
    fn for_another_cluster(&self) -> Ui {
        Ui {
            selected_key: None,
            selected_request: None,
            picked: None,
            coordinator: 0,
            console_reply: None,
            ..self.clone()
        }
    }
}

/// Frames per second, averaged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fps {
    last_ms: Option<f64>,
    pub fps: f64,
    /// Time spent moving the model per frame (simulation + reducer).
    pub frame_work_ms: f64,
    /// Time Yew spends rendering and patching the page per frame.
    pub render_ms: f64,
    /// When the current render began.
    pub render_start_ms: f64,
}

impl Fps {
    pub fn tick(&mut self, now_ms: f64) {
        if let Some(last) = self.last_ms {
            let dt = (now_ms - last).max(0.1);
            self.fps = if self.fps == 0.0 {
                1000.0 / dt
            } else {
                0.9 * self.fps + 0.1 * (1000.0 / dt)
            };
        }
        self.last_ms = Some(now_ms);
    }
}

pub struct Model {
    backend: Box<dyn Backend>,
    /// Set while the backend is the simulator (share links need it).
    settings: Option<Settings>,
    pub view: Rc<ClusterView>,
    /// The view as the panels last drew it (see [`PANEL_REFRESH_MS`]).
    pub panel_view: Rc<ClusterView>,
    panel_at_ms: f64,
    pub runner: Option<Runner>,
    pub speed: f64,
    pub playing: bool,
    pub ui: Rc<Ui>,
    pub fps: Fps,
    pub load: Option<Load>,
    last_wall_ms: Option<f64>,
    /// The share link changed since the page last wrote it to the URL.
    link_dirty: bool,
    /// When (wall clock, ms) the page last wrote the link.
    link_written_ms: f64,
    /// The share link's fragment as last written, if shareable.
    pub share: Option<String>,
    /// The live link the page was opened with (its token stays here, in
    /// memory: never in a share link).
    pub link: Option<LiveLink>,
    /// The events kept to explain requests (see [`crate::why`]).
    pub evidence: Evidence,
    /// The selected request's explanation, and the panel view's version
    /// it was computed at.
    why: Option<(ClientRef, u64, Option<Rc<Why>>)>,
    /// Lessons loaded from a file, a URL or pasted text.
    pub lessons: Lessons,
    /// Said once an action at an earlier moment forked the run, until
    /// the next rewind or reset.
    pub fork_note: Option<String>,
}

impl Model {
    /// A page opened with this fragment: the seed's cluster with the
    /// script replayed, and `speed=`, `scenario=`, `paused` honoured.
    pub fn from_fragment(f: Fragment) -> Model {
        let link = f.param("live").map(|addr| LiveLink {
            addr: addr.to_string(),
            token: f
                .param("token")
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            control: f
                .param("control")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
        });
        let mut m = match SimBackend::replay(f.settings.clone(), f.script.clone()) {
            Ok((backend, init)) => Model::with(Box::new(backend), Some(f.settings.clone()), init),
            Err(e) => {
                let (backend, init) = SimBackend::new(f.settings.clone());
                let mut m = Model::with(Box::new(backend), Some(f.settings.clone()), init);
                m.apply(vec![Update::Notice(e)]);
                m
            }
        };
        if let Some(link) = link {
            m.ui().live_addr = Some(link.addr.clone());
            m.link = Some(link.clone());
            m.connect(link);
        }
        if let Some(speed) = f.param("speed").and_then(|s| s.parse::<f64>().ok()) {
            if speed.is_finite() && speed > 0.0 {
                m.speed = speed.min(1000.0);
            }
        }
        if f.param("fps").is_some() {
            m.ui().fps = true;
        }
        if let Some(rate) = f.param("load").and_then(|s| s.parse::<f64>().ok()) {
            m.handle(Cmd::Load(rate));
        }
        if f.param("paused").is_some() {
            m.playing = false;
        }
        if let Some(id) = f.param("scenario") {
            let id = id.to_string();
            m.handle(Cmd::Scenario(id));
        }
        m.lessons_from_fragment(&f);
        m
    }

    fn with(backend: Box<dyn Backend>, settings: Option<Settings>, init: Vec<Update>) -> Model {
        let mut view = ClusterView::new(backend.topology());
        let mut evidence = Evidence::default();
        evidence.record(&init);
        view.apply_all(init);
        let view = Rc::new(view);
        Model {
            backend,
            settings,
            panel_view: view.clone(),
            panel_at_ms: f64::NEG_INFINITY,
            view,
            runner: None,
            speed: DEFAULT_SPEED,
            playing: true,
            ui: Rc::new(Ui::default()),
            fps: Fps::default(),
            load: None,
            last_wall_ms: None,
            link_dirty: true,
            link_written_ms: f64::NEG_INFINITY,
            share: None,
            link: None,
            evidence,
            why: None,
            lessons: Lessons::default(),
            fork_note: None,
        }
    }

    /// True while the page shows a live cluster.
    pub fn is_live(&self) -> bool {
        self.view.topo.mode.is_live()
    }

    /// Switches to the live cluster `link` reaches (or says why not and
    /// stays where it is).
    fn connect(&mut self, link: LiveLink) {
        match LiveBackend::new(link.clone(), page_transport()) {
            Ok((b, init)) => {
                let (ui, keep) = (self.ui.for_another_cluster(), self.link.take());
                *self = Model::with(Box::new(b), None, init);
                self.link = keep.or(Some(link));
                self.ui = Rc::new(ui);
                self.playing = true;
            }
            Err(e) => self.apply(vec![Update::Notice(e)]),
        }
    }

    #[cfg(test)]
    fn settings(&self) -> Option<&Settings> {
        self.settings.as_ref()
    }

    /// The actions so far, for tests that replay the run on their own.
    #[cfg(test)]
    pub fn script(&self) -> Vec<ringside_core::rewind::Scripted> {
        self.backend.script().map(<[_]>::to_vec).unwrap_or_default()
    }

    /// The share link's fragment, when the run can be shared.
    pub fn fragment(&self) -> Option<String> {
        let s = self.settings.as_ref()?;
        let script = self.backend.script()?;
        // Cheap bound first: an action is at least ~40 characters.
        if script.len() * 40 > MAX_LINK_CHARS {
            return None;
        }
        let f = to_fragment(s, script);
        (f.len() <= MAX_LINK_CHARS).then_some(f)
    }

    /// The view for the panels: the live one at most every
    /// [`PANEL_REFRESH_MS`] while playing, at once after a command or
    /// while paused.
    pub fn refresh_panels(&mut self, now_ms: f64) -> Rc<ClusterView> {
        let due = !self.playing || now_ms - self.panel_at_ms >= PANEL_REFRESH_MS;
        if due && !Rc::ptr_eq(&self.panel_view, &self.view) {
            self.panel_view = self.view.clone();
            self.panel_at_ms = now_ms;
        }
        self.panel_view.clone()
    }

    /// True when the run comes from settings (the simulator), not a trace.
    pub fn settings_known(&self) -> bool {
        self.settings.is_some()
    }

    /// At most every half second (wall clock), recomputes the share link
    /// if the run changed; returns it when the URL should be rewritten.
    pub fn refresh_link(&mut self, now_ms: f64) -> Option<String> {
        if !self.link_dirty || now_ms - self.link_written_ms < 500.0 {
            return None;
        }
        self.link_dirty = false;
        self.link_written_ms = now_ms;
        self.share = self.fragment();
        self.share.clone()
    }

    fn apply(&mut self, updates: Vec<Update>) {
        if !updates.is_empty() {
            self.evidence.record(&updates);
            Rc::make_mut(&mut self.view).apply_all(updates);
            self.mark_violations();
        }
    }

    /// "Why?" for the selected request, as of the panels' view: computed
    /// again only when that view changed.
    pub fn why(&mut self) -> Option<Rc<Why>> {
        let client = self.ui.selected_request?;
        let at = self.panel_view.version;
        match &self.why {
            Some((c, v, w)) if *c == client && *v == at => w.clone(),
            _ => {
                let w = why::why(&self.evidence, &self.panel_view, client).map(Rc::new);
                self.why = Some((client, at, w.clone()));
                w
            }
        }
    }

    fn ui(&mut self) -> &mut Ui {
        Rc::make_mut(&mut self.ui)
    }

    fn act(&mut self, action: Action) {
        self.return_to_the_present_if_live();
        let behind = self.backend.run_state().filter(RunState::behind);
        match self.backend.act(action) {
            Ok(u) => {
                self.apply(u);
                self.link_dirty = true;
                if let Some(run) = behind {
                    self.forked(run);
                }
            }
            Err(e) => self.apply(vec![Update::Notice(e)]),
        }
    }

    /// One animation frame at wall-clock `now_ms`.
    pub fn frame(&mut self, now_ms: f64) {
        self.fps.tick(now_ms);
        let dt_ms = self
            .last_wall_ms
            .map_or(0.0, |l| (now_ms - l).clamp(0.0, 100.0));
        self.last_wall_ms = Some(now_ms);
        if self.is_live() {
            // Real nodes do not pause: while the page shows an earlier
            // moment, what they say is recorded, and playing replays the
            // recording at the pace it came.
            let us = if self.playing {
                (dt_ms * 1000.0).round() as Micros
            } else {
                0
            };
            let u = self.backend.advance(us);
            self.apply(u);
            return;
        }
        if self.playing {
            let fast = self.runner.as_ref().is_some_and(Runner::fast_forward);
            let speed = if fast {
                self.speed.max(1.0)
            } else {
                self.speed
            };
            let us = (dt_ms * 1000.0 * speed).round() as u64;
            let u = self.backend.advance(us);
            self.apply(u);
            if self.replaying() {
                // Along the recorded history: its own requests come back
                // by themselves; new ones would fork it.
                return;
            }
            if let Some(load) = self.load.as_mut() {
                let due = load.due(us, &self.view.topo.nodes);
                if !due.is_empty() {
                    let (u, errors) = self.backend.act_all(due);
                    self.apply(u);
                    self.apply(errors.into_iter().map(Update::Notice).collect());
                    self.link_dirty = true;
                }
            }
        }
        self.run_scenario();
    }

    fn run_scenario(&mut self) {
        if self.replaying() {
            return;
        }
        for _ in 0..8 {
            let Some(r) = self.runner.as_mut() else {
                return;
            };
            let actions = r.poll(&self.view);
            if actions.is_empty() {
                return;
            }
            for a in actions {
                self.act(a);
            }
        }
    }

    fn reset(&mut self, settings: Settings) {
        if let Err(e) = settings.validate() {
            self.apply(vec![Update::Notice(e)]);
            return;
        }
        let (b, init) = SimBackend::new(settings.clone());
        let ui = self.ui.for_another_cluster();
        let (speed, playing, link) = (self.speed, self.playing, self.link.take());
        let lessons = Lessons {
            playing: None,
            ..std::mem::take(&mut self.lessons)
        };
        *self = Model::with(Box::new(b), Some(settings), init);
        self.link = link;
        self.lessons = lessons;
        self.ui = Rc::new(ui);
        self.speed = speed;
        self.playing = playing;
    }

    pub fn handle(&mut self, cmd: Cmd) {
        // What a person did shows at once.
        self.panel_at_ms = f64::NEG_INFINITY;
        match cmd {
            Cmd::Act(a) => self.act(a),
            Cmd::Console(line) => match console::parse(&line, self.ui.coordinator) {
                Ok(Line::Load(rate)) => {
                    self.handle(Cmd::Load(rate));
                    self.ui().console_reply = Some((true, format!("> {}", line.trim())));
                }
                Ok(Line::Act(a)) => {
                    let before = self.view.notice.clone();
                    self.act(a);
                    let refused = self.view.notice != before;
                    let reply = if refused {
                        (false, self.view.notice.clone().unwrap_or_default())
                    } else {
                        (true, format!("> {}", line.trim()))
                    };
                    self.ui().console_reply = Some(reply);
                }
                Ok(Line::Stop(n)) => {
                    let before = self.view.notice.clone();
                    self.handle(Cmd::Stop(n));
                    let refused = self.view.notice != before;
                    self.ui().console_reply = Some(if refused {
                        (false, self.view.notice.clone().unwrap_or_default())
                    } else {
                        (true, format!("> {}", line.trim()))
                    });
                }
                Ok(Line::Help) => self.ui().console_reply = Some((true, console::HELP.into())),
                Ok(Line::Empty) => {}
                Err(e) => self.ui().console_reply = Some((false, e)),
            },
            Cmd::TogglePlay if self.is_live() && !self.replaying() => {
                // Pausing live holds the moment shown; the nodes go on.
                self.backend.hold();
                self.playing = false;
            }
            Cmd::TogglePlay => self.playing = !self.playing,
            Cmd::Step => {
                self.playing = false;
                // Up to the next event the log shows; heartbeats do not
                // count unless they are shown, nor do events with no line
                // of their own (a reply leaving its node's gate: the line
                // came when the node answered).
                for _ in 0..500 {
                    let u = self.backend.step();
                    let interesting = u.iter().any(|u| match u {
                        Update::Trace(e) => self.ui.heartbeats || !is_heartbeat(e),
                        _ => false,
                    });
                    let lines = self.view.log_count;
                    self.apply(u);
                    if interesting && self.view.log_count > lines {
                        break;
                    }
                }
                self.run_scenario();
            }
            Cmd::StepBack => {
                self.playing = false;
                if let Some(k) = self.step_back_target() {
                    self.seek(k);
                }
            }
            Cmd::Seek(k) => {
                // A student who went back wants to look before moving on.
                self.playing = false;
                self.seek(k);
                // Back at the head of a live recording: following again.
                self.playing |= self.is_live() && !self.replaying();
            }
            Cmd::Speed(s) if s.is_finite() && s > 0.0 => self.speed = s,
            Cmd::Speed(_) => {}
            Cmd::Reset(s) => self.reset(s),
            Cmd::Scenario(id) => self.start_builtin(&id),
            Cmd::Lesson(cmd) => self.handle_lesson(cmd),
            Cmd::ScenarioNext => {
                if let Some(r) = self.runner.as_mut() {
                    r.next();
                }
                self.run_scenario();
            }
            Cmd::ScenarioAnswer(choice) => {
                if let Some(r) = self.runner.as_mut() {
                    r.answer(choice);
                }
                self.run_scenario();
            }
            Cmd::ScenarioAuto(on) => {
                if let Some(r) = self.runner.as_mut() {
                    r.auto = on;
                }
            }
            Cmd::ScenarioClose => self.runner = None,
            Cmd::LoadTrace { name, text } => match parse_trace(&text) {
                Ok((entries, skipped)) => {
                    let (b, init) = Replay::new(&name, entries);
                    let (speed, ui) = (self.speed, self.ui.clone());
                    *self = Model::with(Box::new(b), None, init);
                    self.speed = speed;
                    self.ui = ui;
                    if skipped > 0 {
                        let n = format!(
                            "{skipped} lines of {name} were not trace entries and were skipped"
                        );
                        self.apply(vec![Update::Notice(n)]);
                    }
                }
                Err(e) => self.apply(vec![Update::Notice(format!("{name}: {e}"))]),
            },
            Cmd::Coordinator(n) => self.ui().coordinator = n,
            Cmd::SelectKey(k) => self.ui().selected_key = k,
            Cmd::SelectRequest(c) => self.ui().selected_request = c,
            Cmd::Pick(p) => self.ui().picked = p,
            Cmd::SpaceTime(on) => self.ui().spacetime = on,
            Cmd::ToggleKind(k) => {
                let ui = self.ui();
                if !ui.hidden_kinds.remove(&k) {
                    ui.hidden_kinds.insert(k);
                }
            }
            Cmd::LogNode(n) => self.ui().log_node = n,
            Cmd::Heartbeats(on) => self.ui().heartbeats = on,
            Cmd::LargeText(on) => self.ui().large_text = on,
            Cmd::Fps(on) => self.ui().fps = on,
            Cmd::Load(_) if self.is_live() => self.apply(vec![Update::Notice(
                "load: the random workload runs on the simulation only; use `ringside bench` against a live cluster".into(),
            )]),
            Cmd::Load(rate) => {
                let seed = self.settings.as_ref().map_or(7, |s| s.seed);
                self.load =
                    (rate.is_finite() && rate > 0.0).then(|| Load::new(rate.min(5_000.0), seed));
            }
            Cmd::Notice(text) => self.apply(vec![Update::Notice(text)]),
            Cmd::Connect(addr) => {
                // The token of the link the page was opened with goes to
                // the cluster it named, not to another one.
                let same = self.link.as_ref().is_some_and(|l| l.addr == addr.trim());
                let link = match &self.link {
                    Some(l) if same => l.clone(),
                    _ => LiveLink {
                        addr: addr.trim().to_string(),
                        token: None,
                        control: None,
                    },
                };
                self.connect(link);
            }
            Cmd::Simulate => {
                self.runner = None;
                self.reset(Settings::default());
                self.playing = true;
            }
            Cmd::Stop(node) => {
                self.return_to_the_present_if_live();
                match self.backend.stop(node) {
                    Ok(u) => self.apply(u),
                    Err(e) => self.apply(vec![Update::Notice(e)]),
                }
            }
        }
    }
}

fn is_heartbeat(e: &ringside_core::TraceEntry) -> bool {
    use ringside_core::io::EventKind;
    use ringside_core::{ClusterEvent, TraceWhat};
    match &e.what {
        TraceWhat::Node { event } => match &event.kind {
            EventKind::MessageSent { msg_kind, .. }
            | EventKind::MessageReceived { msg_kind, .. } => msg_kind == "heartbeat",
            _ => false,
        },
        TraceWhat::Sim { event } => {
            matches!(event, ClusterEvent::MessageDropped { msg_kind, .. } if msg_kind == "heartbeat")
        }
    }
}

mod rewind;
#[cfg(test)]
pub(crate) mod tests;
