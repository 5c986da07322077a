//! mqsim patch: the bounded channel that carries a stream socket's
//! in-order segments from the host (`StreamSocket::buffer`) to its
//! `ReadHalf`.
//!
//! It replaces `tokio::sync::mpsc` for this one use and keeps exactly what
//! a task can observe of it: the capacity (a full channel leaves the
//! segment in the reorder buffer), closing both ways, one wake of the
//! registered reader per send and on the sender's drop, and the cooperative
//! budget a `poll_recv` spends. tokio's channel is built for many threads:
//! a linked list of blocks, a semaphore and an atomic waker per channel,
//! cold in cache when a run holds thousands of sockets. Here both ends live
//! on the simulation's thread, so a ring buffer behind one uncontended lock
//! does.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll, Waker};

pub(crate) use tokio::sync::mpsc::error::{TryRecvError, TrySendError};

struct Chan<T> {
    queue: VecDeque<T>,
    capacity: usize,
    /// The reader's waker, taken by the wake it gets.
    waker: Option<Waker>,
    /// The sender was dropped: the reader gets `None` once it has read
    /// what is queued.
    tx_closed: bool,
    /// The reader was dropped: sends fail.
    rx_closed: bool,
}

pub(crate) struct Sender<T> {
    chan: Arc<Mutex<Chan<T>>>,
}

pub(crate) struct Receiver<T> {
    chan: Arc<Mutex<Chan<T>>>,
}

/// Room for one value, reserved by [`Sender::try_reserve`].
pub(crate) struct Permit<'a, T> {
    sender: &'a Sender<T>,
}

/// A channel for `capacity` values in flight (at least 1).
pub(crate) fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "channel capacity must be at least 1");
    let chan = Arc::new(Mutex::new(Chan {
        queue: VecDeque::new(),
        capacity,
        waker: None,
        tx_closed: false,
        rx_closed: false,
    }));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

impl<T> Sender<T> {
    /// Room for a value now, or why not: `Full` while `capacity` values
    /// are unread, `Closed` once the reader is gone.
    pub(crate) fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        let chan = self.chan.lock().unwrap();
        if chan.rx_closed {
            Err(TrySendError::Closed(()))
        } else if chan.queue.len() >= chan.capacity {
            Err(TrySendError::Full(()))
        } else {
            Ok(Permit { sender: self })
        }
    }
}

impl<T> Permit<'_, T> {
    /// Queues `value` and wakes the reader if it waits.
    pub(crate) fn send(self, value: T) {
        let waker = {
            let mut chan = self.sender.chan.lock().unwrap();
            chan.queue.push_back(value);
            chan.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut chan = self.chan.lock().unwrap();
            chan.tx_closed = true;
            chan.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// The next value; `None` once the sender is gone and all is read.
    /// Spends the task's cooperative budget as tokio's channels do.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = ready!(tokio::task::coop::poll_proceed(cx));
        let mut chan = self.chan.lock().unwrap();
        if let Some(value) = chan.queue.pop_front() {
            coop.made_progress();
            return Poll::Ready(Some(value));
        }
        if chan.tx_closed {
            coop.made_progress();
            return Poll::Ready(None);
        }
        match &mut chan.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The next value if one is queued.
    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut chan = self.chan.lock().unwrap();
        match chan.queue.pop_front() {
            Some(value) => Ok(value),
            None if chan.tx_closed => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let dropped = {
            let mut chan = self.chan.lock().unwrap();
            chan.rx_closed = true;
            chan.waker = None;
            std::mem::take(&mut chan.queue)
        };
        drop(dropped);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    #[test]
    fn full_closed_and_wakes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let (tx, mut rx) = channel::<u32>(2);
            tx.try_reserve().unwrap().send(1);
            tx.try_reserve().unwrap().send(2);
            assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
            assert_eq!(poll_fn(|cx| rx.poll_recv(cx)).await, Some(1));
            tx.try_reserve().unwrap().send(3);
            assert_eq!(rx.try_recv(), Ok(2));
            assert_eq!(rx.try_recv(), Ok(3));
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            // A waiting reader is woken by a send, then by the sender's drop.
            let reader = tokio::spawn(async move {
                let first = poll_fn(|cx| rx.poll_recv(cx)).await;
                let second = poll_fn(|cx| rx.poll_recv(cx)).await;
                (first, second)
            });
            tokio::task::yield_now().await;
            tx.try_reserve().unwrap().send(4);
            tokio::task::yield_now().await;
            drop(tx);
            assert_eq!(reader.await.unwrap(), (Some(4), None));
        });
        let (tx, rx) = channel::<u32>(1);
        drop(rx);
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
    }
}
