//! What the root component shares with the panels, as Yew contexts: the
//! panels depend on this module, never on the root component, so the
//! page's modules import each other without a circle.

use crate::model::{Cmd, Ui};
use crate::state::ClusterView;
use crate::why::Why;
use std::rc::Rc;
use yew::Callback;

/// The view as of this animation frame, for what moves (the ring).
#[derive(Clone)]
pub struct Live(pub Rc<ClusterView>);

impl PartialEq for Live {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// What every panel can reach: the view (refreshed a few times a second
/// while playing, see [`crate::model::PANEL_REFRESH_MS`]), the display
/// choices, and a way to ask for things. Compared by pointer.
#[derive(Clone)]
pub struct Ctx {
    pub view: Rc<ClusterView>,
    pub ui: Rc<Ui>,
    pub send: Callback<Cmd>,
    pub speed: f64,
    pub playing: bool,
    /// "Why?" for the selected request (see [`crate::why`]).
    pub why: Option<Rc<Why>>,
}

impl PartialEq for Ctx {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.view, &other.view)
            && Rc::ptr_eq(&self.ui, &other.ui)
            && self.speed == other.speed
            && self.playing == other.playing
            && match (&self.why, &other.why) {
                (Some(a), Some(b)) => Rc::ptr_eq(a, b),
                (a, b) => a.is_none() && b.is_none(),
            }
    }
}
