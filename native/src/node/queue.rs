//! A queue of frames from the driver to one connection's writer, bounded
//! by count and by bytes, so that a peer or client that reads slowly
//! costs the node a known amount of memory (values can be 1 MiB each).
//! Each frame is counted when queued and uncounted when the writer takes
//! it, so the byte bound is exact.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

/// What a queue holds: an encoded peer message or a client's text frame.
pub trait Frame {
    fn bytes(&self) -> usize;
}

impl Frame for Vec<u8> {
    fn bytes(&self) -> usize {
        self.len()
    }
}

impl Frame for String {
    fn bytes(&self) -> usize {
        self.len()
    }
}

/// Why a frame was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The count or the byte bound is reached.
    Full,
    /// The writer is gone (the connection closed).
    Closed,
}

/// The driver's end.
pub struct QueueTx<F> {
    tx: mpsc::Sender<F>,
    bytes: Arc<AtomicUsize>,
}

impl<F> Clone for QueueTx<F> {
    fn clone(&self) -> Self {
        QueueTx {
            tx: self.tx.clone(),
            bytes: self.bytes.clone(),
        }
    }
}

/// The writer's end.
pub struct QueueRx<F> {
    rx: mpsc::Receiver<F>,
    bytes: Arc<AtomicUsize>,
}

/// A new queue of at most `count` frames.
pub fn queue<F: Frame>(count: usize) -> (QueueTx<F>, QueueRx<F>) {
    let (tx, rx) = mpsc::channel(count);
    let bytes = Arc::new(AtomicUsize::new(0));
    (
        QueueTx {
            tx,
            bytes: bytes.clone(),
        },
        QueueRx { rx, bytes },
    )
}

impl<F: Frame> QueueTx<F> {
    /// Queues `frame` if there is room for one more and the bytes queued
    /// stay within `max_bytes` with it.
    pub fn push(&self, frame: F, max_bytes: usize) -> Result<(), Refused> {
        let n = frame.bytes();
        if self.bytes.fetch_add(n, Ordering::Relaxed).saturating_add(n) > max_bytes {
            self.bytes.fetch_sub(n, Ordering::Relaxed);
            return Err(Refused::Full);
        }
        self.tx.try_send(frame).map_err(|e| {
            self.bytes.fetch_sub(n, Ordering::Relaxed);
            match e {
                mpsc::error::TrySendError::Full(_) => Refused::Full,
                mpsc::error::TrySendError::Closed(_) => Refused::Closed,
            }
        })
    }

    /// Bytes queued and not yet taken by the writer.
    pub fn queued_bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Frames that can still be queued.
    pub fn capacity(&self) -> usize {
        self.tx.capacity()
    }
}

impl<F: Frame> QueueRx<F> {
    pub async fn recv(&mut self) -> Option<F> {
        let f = self.rx.recv().await?;
        self.bytes.fetch_sub(f.bytes(), Ordering::Relaxed);
        Some(f)
    }

    pub fn try_recv(&mut self) -> Result<F, TryRecvError> {
        let f = self.rx.try_recv()?;
        self.bytes.fetch_sub(f.bytes(), Ordering::Relaxed);
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_holds_what_fits_in_its_count_and_its_bytes() {
        let (tx, mut rx) = queue::<String>(3);
        assert_eq!(tx.push("a".repeat(6), 10), Ok(()));
        assert_eq!(
            tx.push("b".repeat(5), 10),
            Err(Refused::Full),
            "11 bytes > 10"
        );
        assert_eq!(tx.queued_bytes(), 6, "a refused frame is not counted");
        assert_eq!(tx.push("c".repeat(4), 10), Ok(()));
        assert_eq!(tx.push(String::new(), 10), Ok(()));
        assert_eq!(
            tx.push(String::new(), 10),
            Err(Refused::Full),
            "three frames at most"
        );
        assert_eq!(rx.try_recv().unwrap().len(), 6);
        assert_eq!(tx.queued_bytes(), 4, "a frame taken is uncounted");
        assert_eq!(tx.push("d".repeat(6), 10), Ok(()));
        drop(rx);
        assert_eq!(tx.push(String::new(), 10), Err(Refused::Closed));
        assert_eq!(tx.queued_bytes(), 10);
    }
}
