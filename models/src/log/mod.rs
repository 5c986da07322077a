//! The log family (Kafka-like): partitions as append-only logs on brokers,
//! replicated from a leader to followers with an in-sync set, `acks` and an
//! fsync policy; a controller that elects leaders and runs the consumer
//! group (generations, owners, committed offsets); consumers that fetch,
//! apply to the store and commit offsets, under a lag policy.
//!
//! Deliberately not modelled: Kafka's wire format and batching on disk,
//! log compaction, transactions and exactly-once, KRaft's own replication
//! (the controller is one durable host), rack awareness, quotas, and
//! per-record TTL (Kafka has none: retention is the equivalent).

pub mod broker;
pub mod by_partition;
pub mod cluster;
pub mod consumer;
pub mod controller;
pub mod files;
pub mod group;
pub mod replica;
