//! Runs independent simulations on a few threads. Each simulation is
//! single-threaded and deterministic by itself, so spreading them over
//! threads changes only the wall time, never a result.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// `f` over every item on `jobs` threads, results in item order. `stop`
/// ends the map early: running items finish, no new one starts, and the
/// items never started are `None`. `progress` is called on the caller's
/// thread as each item finishes (in completion order).
pub fn map<T: Sync, R: Send>(
    items: &[T],
    jobs: usize,
    stop: &AtomicBool,
    f: impl Fn(&T) -> R + Sync,
    mut progress: impl FnMut(&R),
) -> Vec<Option<R>> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    let mut out: Vec<Option<R>> = (0..items.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            let (tx, next, f) = (tx.clone(), &next, &f);
            scope.spawn(move || loop {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(item) = items.get(i) else {
                    return;
                };
                if tx.send((i, f(item))).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        for (i, r) in rx {
            progress(&r);
            out[i] = Some(r);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_item_order_and_stops_early() {
        let stop = AtomicBool::new(false);
        let items: Vec<u64> = (0..50).collect();
        let mut seen = 0;
        let out = map(&items, 3, &stop, |x| x * 2, |_| seen += 1);
        assert_eq!(seen, 50);
        assert_eq!(out, items.iter().map(|x| Some(x * 2)).collect::<Vec<_>>());
        stop.store(true, Ordering::SeqCst);
        let out = map(&items, 3, &stop, |x| x * 2, |_| {});
        assert!(out.iter().all(Option::is_none));
    }
}
