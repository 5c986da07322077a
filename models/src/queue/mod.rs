//! The classic family (SQS / RabbitMQ-like): queues that deliver, then
//! delete on ack; visibility timeout and redelivery, receive counts and a
//! dead-letter queue, FIFO message groups, overflow policies, a memory
//! alarm, per-message TTL; nodes that journal to disk and mirror a master
//! (classic mirrored or quorum queues) with a partition-handling mode.
//!
//! `rules` is the pure, unit-tested queue; `broker` the node that owns the
//! network, the disk (`journal`) and the mirrors; `consumer` receives,
//! applies to the store and acks or nacks; `cluster` is the family as the
//! pipeline sees it (its hosts, gauges and inventory).
//!
//! Deliberately not modelled: exchanges and routing keys (one queue per
//! partition index), AMQP channels and prefetch beyond `fetch_max`, message
//! sizes (memory is counted in messages), lazy queues, streams, and SQS's
//! distributed storage (a queue lives on its nodes).

pub mod broker;
pub mod cluster;
pub mod consumer;
pub mod journal;
pub mod rules;
