//! Myriad's host runtime: one process validating many chains. The chain table loads chains
//! on demand and keeps only the hot ones; one tick loop verifies, decides, writes (one
//! fsync), signs, sends and acknowledges for all of them.
#![forbid(unsafe_code)]

mod book;
mod config;
mod host;
mod mempool;
mod metrics;
mod runner;
mod status;
mod timers;
mod verify;

pub use book::{Admission, BookError, OrderBook, Pair, QUOTES_PER_PAIR_MAX};
pub use config::{
    read_key, write_key, ConfigError, HostConfig, Limits, Overrides, Peer, Policy, RootConfig,
};
pub use host::{
    Command, CreateError, Host, HostError, HostEvent, HostIo, QuoteRefused, RootView,
    SharedRootView, SubmitError, TickReport, ANCHOR_BACKLOG_MAX, ANCHOR_LOOKS_PER_TICK,
    ANCHOR_SCAN_PAGE, BACKUP_INTERVALS, EVIDENCE_QUEUE_MAX, FUTURE_MSGS_MAX, GENESIS_CLOCK_SKEW_MS,
    HOST_BUSY, IN_FLIGHT_MS, QUOTES_GOSSIPED_PER_TICK, QUOTE_CHANGES_MAX, ROOT_POLL_MS,
    SYNC_BLOCKS_MAX,
};
pub use mempool::{AdmitError, NONCE_AHEAD_MAX, SENDER_TXS_MAX};
pub use metrics::Metrics;
pub use runner::{HostHandle, RunningHost, COMMANDS_MAX};
pub use status::{Statuses, TxStatus, STATUSES_MAX};
