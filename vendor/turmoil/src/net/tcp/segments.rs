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

    /// The channel against tokio's bounded mpsc under random operations:
    /// every result, every waker's wake count and the task's remaining
    /// coop budget after each step must match (sends, polls from three
    /// wakers, `try_recv`, either end dropped; capacities 1 to 4).
    #[test]
    fn behaves_as_tokios_mpsc() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::task::Wake;
        use tokio::sync::mpsc;

        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }

        /// One step on whichever channel: what it returned, as text.
        enum Op {
            Send(u32),
            Poll(usize),
            TryRecv,
            DropTx,
            DropRx,
        }

        fn ops(seed: u64) -> Vec<Op> {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..400u32)
                .map(|i| match rng.random_range(0..1000) {
                    0..400 => Op::Send(i),
                    400..800 => Op::Poll(rng.random_range(0..3)),
                    800..994 => Op::TryRecv,
                    994..997 => Op::DropTx,
                    _ => Op::DropRx,
                })
                .collect()
        }

        fn run(ops: &[Op], mut step: impl FnMut(&Op, &mut Context<'_>) -> String) -> Vec<String> {
            let counts: Vec<Arc<Count>> = (0..3)
                .map(|_| Arc::new(Count(AtomicUsize::new(0))))
                .collect();
            let wakers: Vec<Waker> = counts.iter().map(|c| Waker::from(c.clone())).collect();
            ops.iter()
                .map(|op| {
                    let w = match op {
                        Op::Poll(w) => *w,
                        _ => 0,
                    };
                    let said = step(op, &mut Context::from_waker(&wakers[w]));
                    let woken: Vec<usize> =
                        counts.iter().map(|c| c.0.load(Ordering::SeqCst)).collect();
                    let budget = tokio::task::coop::has_budget_remaining();
                    format!("{said} {woken:?} {budget}")
                })
                .collect()
        }

        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for seed in 0..500u64 {
            let capacity = (seed % 4 + 1) as usize;
            let theirs = rt.block_on(async move {
                tokio::spawn(async move {
                    let (tx, rx) = mpsc::channel::<u32>(capacity);
                    let (mut tx, mut rx) = (Some(tx), Some(rx));
                    run(&ops(seed), |op, cx| match op {
                        Op::Send(v) => match tx.as_ref().map(|t| t.try_reserve()) {
                            None => "no sender".into(),
                            Some(Ok(p)) => {
                                p.send(*v);
                                "sent".into()
                            }
                            Some(Err(e)) => format!("{e:?}"),
                        },
                        Op::Poll(_) => format!("{:?}", rx.as_mut().map(|r| r.poll_recv(cx))),
                        Op::TryRecv => format!("{:?}", rx.as_mut().map(|r| r.try_recv())),
                        Op::DropTx => format!("{:?}", tx.take().is_some()),
                        Op::DropRx => format!("{:?}", rx.take().is_some()),
                    })
                })
                .await
                .unwrap()
            });
            let ours = rt.block_on(async move {
                tokio::spawn(async move {
                    let (tx, rx) = channel::<u32>(capacity);
                    let (mut tx, mut rx) = (Some(tx), Some(rx));
                    run(&ops(seed), |op, cx| match op {
                        Op::Send(v) => match tx.as_ref().map(|t| t.try_reserve()) {
                            None => "no sender".into(),
                            Some(Ok(p)) => {
                                p.send(*v);
                                "sent".into()
                            }
                            Some(Err(e)) => format!("{e:?}"),
                        },
                        Op::Poll(_) => format!("{:?}", rx.as_mut().map(|r| r.poll_recv(cx))),
                        Op::TryRecv => format!("{:?}", rx.as_mut().map(|r| r.try_recv())),
                        Op::DropTx => format!("{:?}", tx.take().is_some()),
                        Op::DropRx => format!("{:?}", rx.take().is_some()),
                    })
                })
                .await
                .unwrap()
            });
            assert_eq!(theirs, ours, "seed {seed}, capacity {capacity}");
        }
    }
}
