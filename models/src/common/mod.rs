//! What every broker family's pipeline shares: the seam a family
//! implements (`family`), the wire protocol and the data it carries
//! (`wire`), the brokers' connection-serving loop (`server`), client
//! connections made for turmoil's TCP (`link`; a consumer's shared one to
//! each store node: `mux`), files on the simulated disk
//! (`disk`), the workload's schedule and the producers that follow it
//! (`schedule`, `producer`), metadata lookups (`metadata`), the downstream
//! store and the consumer-side breaker in front of it (`store`, `breaker`),
//! and the relay that forwards from one stage into the next (`relay`).
//!
//! Nothing here runs a family's state machine (a partition's replication,
//! a queue's visibility timeout): those live in `log/` and `queue/`, which
//! import from here and never the reverse (`tests/tidy.rs` checks it). What
//! is here speaks both families: the protocol types (log records with their
//! epochs and producer ids, a queue's receipts and op log), a producer that
//! reads either family's answers, snapshot files the log controller uses,
//! and the relay, a log consumer-group member that publishes into a queue.

pub mod breaker;
pub mod disk;
pub mod family;
pub mod handler;
pub mod link;
pub mod metadata;
pub mod mux;
pub mod policy;
pub mod producer;
pub mod relay;
pub mod schedule;
pub mod server;
pub mod store;
pub mod store_client;
pub mod store_model;
pub mod wire;
