//! Browser WebSockets as the live backend's [`Transport`].

use super::{Conn, SockEvent, Transport};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

type Inbox = Rc<RefCell<Vec<(Conn, u64, SockEvent)>>>;

struct Sock {
    ws: WebSocket,
    serial: u64,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Sock {
    fn detach(&self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}

/// The page's sockets. Events of a socket that was replaced or closed
/// by the page are ignored (by serial).
#[derive(Default)]
pub struct WsTransport {
    socks: BTreeMap<Conn, Sock>,
    inbox: Inbox,
    serial: u64,
    /// Sockets that closed before opening (an error, a bad address).
    failed: Vec<(Conn, String)>,
}

impl Drop for WsTransport {
    fn drop(&mut self) {
        for s in self.socks.values() {
            s.detach();
        }
    }
}

impl Transport for WsTransport {
    fn open(&mut self, conn: Conn, url: &str) {
        if let Some(old) = self.socks.remove(&conn) {
            old.detach();
        }
        self.serial += 1;
        let serial = self.serial;
        let ws = match WebSocket::new(url) {
            Ok(ws) => ws,
            Err(e) => {
                self.failed.push((
                    conn,
                    format!("{url}: {}", e.as_string().unwrap_or_default()),
                ));
                return;
            }
        };
        let inbox = self.inbox.clone();
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            inbox.borrow_mut().push((conn, serial, SockEvent::Open));
        });
        let inbox = self.inbox.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(t) = e.data().as_string() {
                inbox.borrow_mut().push((conn, serial, SockEvent::Text(t)));
            }
        });
        let inbox = self.inbox.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            let why = if e.reason().is_empty() {
                format!("closed (code {})", e.code())
            } else {
                format!("closed (code {}: {})", e.code(), e.reason())
            };
            inbox
                .borrow_mut()
                .push((conn, serial, SockEvent::Closed(why)));
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        self.socks.insert(
            conn,
            Sock {
                ws,
                serial,
                _on_open: on_open,
                _on_message: on_message,
                _on_close: on_close,
            },
        );
    }

    fn send(&mut self, conn: Conn, text: &str) {
        if let Some(s) = self.socks.get(&conn) {
            let _ = s.ws.send_with_str(text);
        }
    }

    fn close(&mut self, conn: Conn) {
        if let Some(s) = self.socks.remove(&conn) {
            s.detach();
        }
    }

    fn drain(&mut self) -> Vec<(Conn, SockEvent)> {
        let mut out: Vec<(Conn, SockEvent)> = self
            .failed
            .drain(..)
            .map(|(c, why)| (c, SockEvent::Closed(why)))
            .collect();
        let events = std::mem::take(&mut *self.inbox.borrow_mut());
        for (conn, serial, ev) in events {
            let current = self.socks.get(&conn).is_some_and(|s| s.serial == serial);
            if !current {
                continue;
            }
            if matches!(ev, SockEvent::Closed(_)) {
                if let Some(s) = self.socks.remove(&conn) {
                    s.detach();
                }
            }
            out.push((conn, ev));
        }
        out
    }

    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }
}
