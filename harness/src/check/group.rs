//! **Consumer-group rebalances**: how often the group's membership changed
//! after it formed, and for how long some partition had no owner (nothing
//! consumed it), from the coordinator's record (`History.group`).
//!
//! - `rebalances`: generations after the first (the group forming). A
//!   member that is expired and rejoins makes two; a coordinator restart
//!   makes one as its members join again.
//! - `unowned_ms`: time during which at least one partition that had an
//!   owner had none (waiting for the first assignment is start-up, not an
//!   outage). Each partition's own unowned time is in
//!   [`Rebalances::partitions`].

use crate::history::{GroupChange, History};
use serde::Serialize;

/// The consumer group's churn (JSON `group`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Rebalances {
    /// Generations after the first (the group forming).
    pub rebalances: u64,
    /// Time during which at least one partition that had an owner had none,
    /// whole ms.
    pub unowned_ms: u64,
    /// Per partition (index = partition), its unowned time in ms.
    #[serde(skip)]
    pub partitions: Vec<u64>,
}

/// The group's rebalances and unowned time, from `History.group`.
pub fn rebalances(history: &History) -> Rebalances {
    let generations = (history.group.iter())
        .filter(|g| matches!(g.change, GroupChange::Generation { .. }))
        .count() as u64;
    let n = (history.group.iter())
        .filter_map(|g| match g.change {
            GroupChange::Owner { partition, .. } => Some(partition as usize + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut out = Rebalances {
        rebalances: generations.saturating_sub(1),
        unowned_ms: 0,
        partitions: vec![0; n],
    };
    // A partition waiting for its first owner is the group starting up,
    // not an outage: time counts only once it had an owner and lost it.
    let mut state = vec![Ownership::Never; n];
    let mut lost: usize = 0;
    let mut any_since = 0;
    let end = history.end_us;
    for g in &history.group {
        let GroupChange::Owner { partition, owner } = g.change else {
            continue;
        };
        let (p, at) = (partition as usize, g.at_us.min(end));
        state[p] = match (state[p], owner) {
            (Ownership::Lost(since), Some(_)) => {
                out.partitions[p] += at - since;
                lost -= 1;
                if lost == 0 {
                    out.unowned_ms += at - any_since;
                }
                Ownership::Owned
            }
            (Ownership::Owned, None) => {
                if lost == 0 {
                    any_since = at;
                }
                lost += 1;
                Ownership::Lost(at)
            }
            (Ownership::Never, Some(_)) => Ownership::Owned,
            (s, _) => s,
        };
    }
    for (p, s) in state.iter().enumerate() {
        if let Ownership::Lost(since) = s {
            out.partitions[p] += end - since;
        }
    }
    if lost > 0 {
        out.unowned_ms += end - any_since;
    }
    out.unowned_ms /= 1_000;
    for t in &mut out.partitions {
        *t /= 1_000;
    }
    out
}

#[derive(Clone, Copy, Debug)]
enum Ownership {
    /// Not yet assigned since the run began.
    Never,
    Owned,
    /// Had an owner, and has had none since this time.
    Lost(u64),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::GroupEvent;

    fn ev(at_ms: u64, change: GroupChange) -> GroupEvent {
        GroupEvent {
            at_us: at_ms * 1_000,
            change,
        }
    }
    fn gen(at_ms: u64, generation: u64) -> GroupEvent {
        ev(
            at_ms,
            GroupChange::Generation {
                generation,
                members: 1,
            },
        )
    }
    fn own(at_ms: u64, partition: u32, owner: Option<u32>) -> GroupEvent {
        ev(at_ms, GroupChange::Owner { partition, owner })
    }

    fn history(group: Vec<GroupEvent>, end_ms: u64) -> History {
        History {
            group,
            end_us: end_ms * 1_000,
            ..History::default()
        }
    }

    #[test]
    fn no_group_no_rebalance() {
        assert_eq!(rebalances(&History::default()), Rebalances::default());
    }

    #[test]
    fn a_member_expired_and_rejoining_is_two_rebalances_and_an_unowned_window() {
        let h = history(
            vec![
                own(0, 0, None),
                own(0, 1, None),
                gen(50, 1),
                own(50, 0, Some(0)),
                own(60, 1, Some(1)),
                // Member 1 expires: partition 1 unowned until member 0 takes it.
                gen(1_000, 2),
                own(1_000, 1, None),
                own(1_200, 1, Some(0)),
                // Member 1 rejoins; partition 1 moves back after a release.
                gen(2_000, 3),
                own(2_100, 1, None),
                own(2_400, 1, Some(1)),
            ],
            5_000,
        );
        let r = rebalances(&h);
        assert_eq!(r.rebalances, 2);
        // 1000..1200, 2100..2400 (the wait for the first owner is start-up).
        assert_eq!(r.unowned_ms, 200 + 300);
        assert_eq!(r.partitions, vec![0, 500]);
    }

    #[test]
    fn overlapping_unowned_partitions_count_once_and_to_the_end() {
        let h = history(
            vec![
                gen(0, 1),
                own(0, 0, Some(0)),
                own(0, 1, Some(0)),
                gen(100, 2),
                own(100, 0, None),
                own(150, 1, None),
                own(300, 0, Some(1)),
                // Partition 1 never comes back.
            ],
            1_000,
        );
        let r = rebalances(&h);
        assert_eq!(r.rebalances, 1);
        assert_eq!(r.unowned_ms, 900);
        assert_eq!(r.partitions, vec![200, 850]);
    }
}
