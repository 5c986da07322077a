//! A broker's per-partition state, indexed by partition number.
//!
//! A broker looks its partitions up several times per partition of every
//! fetch session it serves or sends; at `--scale 24` (288 partitions, 96 a
//! session) a `BTreeMap` walk per lookup was a measurable share of a run.
//! Partitions are numbered `0..topology.partitions`, so a slot per number
//! does it in one index, and iterates in ascending order as the map did.

use std::ops::Index;

/// A map from partition number to `T`: `BTreeMap<u32, T>`'s interface as
/// the broker uses it, over a slot per partition number.
#[derive(Debug)]
pub struct ByPartition<T> {
    slots: Vec<Option<(u32, T)>>,
}

impl<T> Default for ByPartition<T> {
    fn default() -> Self {
        ByPartition { slots: Vec::new() }
    }
}

impl<T> ByPartition<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `p`'s value, returning the one it replaces.
    pub fn insert(&mut self, p: u32, value: T) -> Option<T> {
        let i = p as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, || None);
        }
        self.slots[i].replace((p, value)).map(|(_, v)| v)
    }

    pub fn remove(&mut self, p: &u32) -> Option<T> {
        self.slots.get_mut(*p as usize)?.take().map(|(_, v)| v)
    }

    pub fn get(&self, p: &u32) -> Option<&T> {
        self.slots.get(*p as usize)?.as_ref().map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, p: &u32) -> Option<&mut T> {
        self.slots.get_mut(*p as usize)?.as_mut().map(|(_, v)| v)
    }

    pub fn contains_key(&self, p: &u32) -> bool {
        self.get(p).is_some()
    }

    /// Partitions with a value, ascending.
    pub fn keys(&self) -> impl Iterator<Item = &u32> {
        self.slots.iter().flatten().map(|(p, _)| p)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots.iter_mut().flatten().map(|(_, v)| v)
    }

    /// (partition, value), ascending by partition.
    pub fn iter(&self) -> impl Iterator<Item = (&u32, &T)> {
        self.slots.iter().flatten().map(|(p, v)| (p, v))
    }

    /// (partition, value), ascending by partition.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&u32, &mut T)> {
        self.slots.iter_mut().flatten().map(|(p, v)| (&*p, v))
    }
}

impl<T> Index<&u32> for ByPartition<T> {
    type Output = T;

    fn index(&self, p: &u32) -> &T {
        self.get(p)
            .unwrap_or_else(|| panic!("no state for partition {p}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Same answers and the same (ascending) order as a `BTreeMap` under
    /// a mix of inserts and removes.
    #[test]
    fn behaves_as_a_btreemap() {
        let mut ours = ByPartition::new();
        let mut theirs = BTreeMap::new();
        for (i, p) in [7u32, 2, 9, 2, 0, 7, 5, 11, 3].into_iter().enumerate() {
            if i % 3 == 2 {
                assert_eq!(ours.remove(&p), theirs.remove(&p));
            } else {
                assert_eq!(ours.insert(p, i), theirs.insert(p, i));
            }
            assert_eq!(
                ours.iter().collect::<Vec<_>>(),
                theirs.iter().collect::<Vec<_>>()
            );
        }
        for p in 0..13 {
            assert_eq!(ours.get(&p), theirs.get(&p));
            assert_eq!(ours.contains_key(&p), theirs.contains_key(&p));
        }
        assert_eq!(ours.remove(&100), None);
        for (_, v) in ours.iter_mut() {
            *v += 1;
        }
        for v in theirs.values_mut() {
            *v += 1;
        }
        assert_eq!(
            ours.iter().map(|(_, v)| v).collect::<Vec<_>>(),
            theirs.values().collect::<Vec<_>>()
        );
        assert_eq!(ours[&11], theirs[&11]);
    }
}
