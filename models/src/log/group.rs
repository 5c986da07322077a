//! A consumer group as its coordinator keeps it: members with heartbeats and
//! a session timeout, a generation bumped at every membership change, a
//! deterministic target assignment, and — per partition — the member that
//! owns it now.
//!
//! Ownership moves revoke-before-assign, as in Kafka's rebalance protocols:
//! a partition the target gives to a new member is handed over only once
//! its old owner has released it (its heartbeat no longer lists it among
//! its running partitions, after its worker committed and stopped) or has
//! left the group (session expired, or replaced by its next incarnation,
//! like Kafka's static membership `group.instance.id`). Commits are
//! accepted from the owner only, so a zombie cannot move an offset.
//!
//! Simplification, named: there is no JoinGroup/SyncGroup round; members
//! learn the target on their next heartbeat. The first assignment waits
//! [`INITIAL_REBALANCE_DELAY`] after the first member joins so members that
//! start together are assigned together (Kafka's
//! `group.initial.rebalance.delay.ms`, 3 s there; every actor here starts at
//! the same instant).

use crate::common::wire::MemberId;
use harness::history::GroupChange;
use harness::scenario::Assignment;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a new group waits for more members before its first assignment.
pub const INITIAL_REBALANCE_DELAY: Duration = Duration::from_millis(50);

pub struct Group {
    /// When the first member joined.
    forming_since: Option<Duration>,
    formed: bool,
    partitions: u32,
    strategy: Assignment,
    session_timeout: Duration,
    /// Member → last heartbeat time.
    members: BTreeMap<MemberId, Duration>,
    generation: u64,
    /// The target: where each member's partitions should be.
    target: BTreeMap<MemberId, Vec<u32>>,
    /// Who owns each partition now (None: free to hand over).
    owner: Vec<Option<MemberId>>,
    /// Changes not yet taken by [`Group::take_changes`], for the History.
    changes: Vec<GroupChange>,
}

impl Group {
    /// `first_generation` lets a restarted coordinator keep generations
    /// increasing across its incarnations.
    pub fn new(
        partitions: u32,
        strategy: Assignment,
        session_timeout: Duration,
        first_generation: u64,
    ) -> Group {
        Group {
            forming_since: None,
            formed: false,
            partitions,
            strategy,
            session_timeout,
            members: BTreeMap::new(),
            generation: first_generation,
            target: BTreeMap::new(),
            owner: vec![None; partitions as usize],
            // A coordinator starts knowing no owner (a restarted one has
            // forgotten them): the History says so.
            changes: (0..partitions)
                .map(|partition| GroupChange::Owner {
                    partition,
                    owner: None,
                })
                .collect(),
        }
    }

    /// Generations and ownership changes since the last call, in order.
    pub fn take_changes(&mut self) -> Vec<GroupChange> {
        std::mem::take(&mut self.changes)
    }

    fn set_owner(&mut self, p: u32, owner: Option<MemberId>) {
        if self.owner[p as usize] != owner {
            self.owner[p as usize] = owner;
            self.changes.push(GroupChange::Owner {
                partition: p,
                owner: owner.map(|m| m.0),
            });
        }
    }

    /// A member's heartbeat at `now`, listing the partitions it still runs;
    /// joins it (replacing an older incarnation of the same consumer) if it
    /// is new. Releases what it no longer runs and should not have, grants
    /// it free partitions of its target. Returns the generation, the
    /// partitions it may run, and whether that is its whole target of a
    /// formed group.
    pub fn heartbeat(
        &mut self,
        member: MemberId,
        running: &[u32],
        now: Duration,
    ) -> (u64, Vec<u32>, bool) {
        let forming = *self.forming_since.get_or_insert(now);
        if !self.members.contains_key(&member) {
            let old: Vec<MemberId> = self
                .members
                .keys()
                .copied()
                .filter(|m| m.0 == member.0)
                .collect();
            self.remove(&old);
            self.members.insert(member, now);
            if self.formed {
                self.rebalance();
            }
        } else {
            self.members.insert(member, now);
        }
        if !self.formed && now >= forming + INITIAL_REBALANCE_DELAY {
            self.formed = true;
            self.rebalance();
        }
        let target = self.target.get(&member).cloned().unwrap_or_default();
        for p in 0..self.partitions {
            let owner = self.owner[p as usize];
            if owner == Some(member) && !target.contains(&p) && !running.contains(&p) {
                self.set_owner(p, None);
            }
        }
        let mut mine = Vec::new();
        let whole = target.len();
        for p in target {
            if self.owner[p as usize].is_none() {
                self.set_owner(p, Some(member));
            }
            if self.owner[p as usize] == Some(member) {
                mine.push(p);
            }
        }
        let settled = self.formed && mine.len() == whole;
        (self.generation, mine, settled)
    }

    /// Removes members silent for longer than the session timeout, freeing
    /// their partitions; returns them.
    pub fn expire(&mut self, now: Duration) -> Vec<MemberId> {
        let timeout = self.session_timeout;
        let gone: Vec<MemberId> = self
            .members
            .iter()
            .filter(|(_, &at)| now.saturating_sub(at) > timeout)
            .map(|(&m, _)| m)
            .collect();
        if !gone.is_empty() {
            self.remove(&gone);
            if self.formed {
                self.rebalance();
            }
        }
        gone
    }

    fn remove(&mut self, gone: &[MemberId]) {
        for m in gone {
            self.members.remove(m);
        }
        for p in 0..self.partitions {
            if self.owner[p as usize].is_some_and(|o| gone.contains(&o)) {
                self.set_owner(p, None);
            }
        }
    }

    /// Whether `member` owns `partition` now: only its commits count.
    pub fn owns(&self, member: MemberId, partition: u32) -> bool {
        self.owner.get(partition as usize) == Some(&Some(member))
    }

    fn rebalance(&mut self) {
        self.generation += 1;
        self.changes.push(GroupChange::Generation {
            generation: self.generation,
            members: self.members.len() as u32,
        });
        let members: Vec<MemberId> = self.members.keys().copied().collect();
        let split = assign(self.strategy, members.len(), self.partitions);
        self.target = members.into_iter().zip(split).collect();
    }
}

/// Partitions per member, members in their sorted order. `Range`: the first
/// `partitions % members` members get one extra, contiguous ranges (Kafka's
/// RangeAssignor for one topic); `RoundRobin`: partition `i` to member
/// `i % members`.
pub fn assign(strategy: Assignment, members: usize, partitions: u32) -> Vec<Vec<u32>> {
    if members == 0 {
        return Vec::new();
    }
    let mut out = vec![Vec::new(); members];
    match strategy {
        Assignment::RoundRobin => {
            for p in 0..partitions {
                out[p as usize % members].push(p);
            }
        }
        Assignment::Range => {
            let per = partitions as usize / members;
            let extra = partitions as usize % members;
            let mut next = 0u32;
            for (i, ps) in out.iter_mut().enumerate() {
                let n = per + usize::from(i < extra);
                ps.extend(next..next + n as u32);
                next += n as u32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    /// A group past its initial delay, with no members.
    fn formed(partitions: u32) -> Group {
        let mut g = Group::new(partitions, Assignment::Range, S(10), 0);
        g.forming_since = Some(Duration::ZERO);
        g.formed = true;
        g
    }

    #[test]
    fn range_and_round_robin() {
        assert_eq!(
            assign(Assignment::Range, 3, 7),
            vec![vec![0, 1, 2], vec![3, 4], vec![5, 6]]
        );
        assert_eq!(
            assign(Assignment::RoundRobin, 3, 7),
            vec![vec![0, 3, 6], vec![1, 4], vec![2, 5]]
        );
        assert_eq!(assign(Assignment::Range, 4, 2)[3], Vec::<u32>::new());
        assert!(assign(Assignment::Range, 0, 2).is_empty());
    }

    #[test]
    fn the_first_assignment_waits_for_members_starting_together() {
        let mut g = Group::new(4, Assignment::Range, S(10), 0);
        let ms = Duration::from_millis;
        assert_eq!(g.heartbeat((0, 0), &[], ms(0)), (0, vec![], false));
        assert_eq!(g.heartbeat((1, 0), &[], ms(3)), (0, vec![], false));
        assert!(!g.formed);
        assert_eq!(g.heartbeat((0, 0), &[], ms(50)), (1, vec![0, 1], true));
        assert_eq!(g.heartbeat((1, 0), &[], ms(60)), (1, vec![2, 3], true));
    }

    #[test]
    fn a_moved_partition_is_handed_over_only_once_released() {
        let mut g = formed(4);
        assert_eq!(g.heartbeat((0, 0), &[], S(0)), (1, vec![0, 1, 2, 3], true));
        // Member 1 joins: its target is {2, 3}, still owned by member 0.
        assert_eq!(g.heartbeat((1, 0), &[], S(1)), (2, vec![], false));
        assert!(g.owns((0, 0), 3));
        // Member 0 learns its smaller target but still runs 2 and 3.
        assert_eq!(
            g.heartbeat((0, 0), &[0, 1, 2, 3], S(2)),
            (2, vec![0, 1], true)
        );
        assert_eq!(g.heartbeat((1, 0), &[], S(2)), (2, vec![], false));
        // Its workers for 2 and 3 committed and stopped: released.
        g.heartbeat((0, 0), &[0, 1], S(3));
        assert!(!g.owns((0, 0), 2));
        assert_eq!(g.heartbeat((1, 0), &[], S(3)), (2, vec![2, 3], true));
        assert!(g.owns((1, 0), 2));
    }

    #[test]
    fn expiry_frees_partitions_and_fences_the_zombie() {
        let mut g = formed(2);
        g.heartbeat((0, 0), &[], S(0));
        g.heartbeat((1, 0), &[], S(0));
        g.heartbeat((0, 0), &[0], S(1));
        assert_eq!(g.heartbeat((1, 0), &[], S(1)), (2, vec![1], true));
        // Member 1 goes silent; after the session timeout it is removed.
        for t in 2..=11 {
            g.heartbeat((0, 0), &[0], S(t));
            assert!(g.expire(S(t)).is_empty());
        }
        assert_eq!(g.expire(S(12)), vec![(1, 0)]);
        assert!(!g.owns((1, 0), 1), "a zombie's commits are refused");
        assert_eq!(g.heartbeat((0, 0), &[0], S(12)), (3, vec![0, 1], true));
    }

    #[test]
    fn a_restarted_consumer_replaces_its_previous_incarnation() {
        let mut g = formed(2);
        g.heartbeat((0, 0), &[], S(0));
        g.heartbeat((1, 0), &[], S(0));
        g.heartbeat((0, 0), &[0], S(0));
        g.heartbeat((1, 0), &[], S(0));
        assert!(g.owns((1, 0), 1));
        // Its next incarnation takes over at once: the old one left.
        let (_, mine, _) = g.heartbeat((1, 1), &[], S(1));
        assert_eq!(mine, vec![1]);
        assert!(!g.owns((1, 0), 1));
    }
}
