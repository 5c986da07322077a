//! What every broker family's pipeline shares: the wire protocol and the
//! data it carries (`wire`), client connections made for turmoil's TCP
//! (`link`), files on the simulated disk (`disk`), the workload's schedule
//! and the producers that follow it (`schedule`, `producer`), metadata
//! lookups (`metadata`), the downstream store and the consumer-side breaker
//! in front of it (`store`, `breaker`), and the relay that forwards from one
//! stage into the next (`relay`).
//!
//! Nothing here knows a family's rules (partitions' replication, a queue's
//! visibility timeout): those live in `log/` and `queue/`, which import from
//! here and never the reverse (`tests/tidy.rs` checks there is no cycle).

pub mod breaker;
pub mod disk;
pub mod link;
pub mod metadata;
pub mod producer;
pub mod relay;
pub mod schedule;
pub mod store;
pub mod wire;
