//! Deliberately broken variants of the models, for the mutation suite
//! (`tests/mutants.rs`): each puts back a classic queue-pipeline bug, so the
//! suite can show that the checkers catch it. A mutant is switched on only
//! through `Pipeline::with_mutant`, which exists only with the
//! `mutants` feature — enabled by the test suite's dev-dependency, never in
//! a release build — so no scenario file can select one.

/// The bugs. Each hook is one `if mutant::active(…)` at the line a real
/// implementation would get wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mutant {
    /// The leader acks a batch under `fsync = "per_batch"` without syncing
    /// it: a power loss takes acked writes.
    AckBeforeSync,
    /// The consumer commits before the effect whatever `commit` says.
    CommitBeforeEffect,
    /// The broker's idempotent-producer check is off: a resent batch is
    /// appended again.
    NoDedup,
    /// `silent_drop` skips past records without recording a `drop`.
    UnrecordedDrop,
    /// The consumer swaps two consecutive records of one key before
    /// applying them.
    SwapKeyOrder,
    /// No truncation after an election: the leader serves a follower from
    /// its fetch offset without checking the follower's last epoch (Kafka
    /// before KIP-101), so a follower keeps a tail the new leader never had.
    NoTruncate,
    /// The high watermark is the leader's own log end, not the smallest
    /// in-sync log end: `acks = "all"` acks before replication.
    EarlyHighWatermark,
    /// The queue ignores `max_receives`: a message past it is delivered
    /// again instead of moved to the dead-letter queue.
    SkipDlq,
}

impl Mutant {
    /// Every mutant, for the suite that requires each to be caught.
    pub const ALL: [Mutant; 8] = [
        Mutant::AckBeforeSync,
        Mutant::CommitBeforeEffect,
        Mutant::NoDedup,
        Mutant::UnrecordedDrop,
        Mutant::SwapKeyOrder,
        Mutant::NoTruncate,
        Mutant::EarlyHighWatermark,
        Mutant::SkipDlq,
    ];
}

#[cfg(feature = "mutants")]
thread_local! {
    /// The mutant of the pipeline installed on this thread (one `Sim` per
    /// thread, and `install` sets it every time).
    static ACTIVE: std::cell::Cell<Option<Mutant>> = const { std::cell::Cell::new(None) };
}

/// Whether `m` is switched on for the simulation running on this thread.
/// Always false without the `mutants` feature.
#[inline]
pub(crate) fn active(m: Mutant) -> bool {
    #[cfg(feature = "mutants")]
    {
        ACTIVE.with(|a| a.get() == Some(m))
    }
    #[cfg(not(feature = "mutants"))]
    {
        let _ = m;
        false
    }
}

#[cfg(feature = "mutants")]
pub(crate) fn set(m: Option<Mutant>) {
    ACTIVE.with(|a| a.set(m));
}
