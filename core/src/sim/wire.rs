//! The test hook that rewrites what leaves a node, to break it from
//! outside.

use crate::message::{Message, Reply, Request};
use crate::types::NodeId;

/// What a test's interceptor (see [`Sim::set_interceptor`]) sees on its
/// way, and may change: the way to break a node from outside to show that
/// the checker notices.
pub enum Wire<'a> {
    /// A peer message as it leaves `from`.
    Message {
        from: NodeId,
        to: NodeId,
        msg: &'a mut Message,
    },
    /// A coordinator's reply to a client's request.
    Reply {
        node: NodeId,
        request: &'a Request,
        reply: &'a mut Reply,
    },
}

/// Changes what passes on the wire; for tests only.
pub type Interceptor = Box<dyn FnMut(Wire<'_>)>;

/// Where a [`Sim`] keeps its interceptor: shared between clones (a rewind
/// checkpoint of a broken cluster stays broken the same way).
#[derive(Clone, Default)]
pub(super) struct InterceptorSlot(pub(super) Option<std::rc::Rc<std::cell::RefCell<Interceptor>>>);

impl std::fmt::Debug for InterceptorSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(interceptor)"
        } else {
            "None"
        })
    }
}

impl InterceptorSlot {
    pub(super) fn see(&self, wire: Wire<'_>) {
        if let Some(f) = &self.0 {
            (f.borrow_mut())(wire);
        }
    }
}
