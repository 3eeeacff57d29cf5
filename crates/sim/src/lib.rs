//! Myriad's deterministic simulator: 4 to 7 hosts validating 50+ chains over a seeded,
//! faulty network in virtual time — drops, delays, duplicates, partitions, crashes that lose
//! unsynced writes, byzantine twins and equivocators — with checkers for agreement, validity,
//! durability, conservation, liveness and never signing twice. One seed, one trace.
#![forbid(unsafe_code)]

mod check;
mod net;
mod node;
mod rng;
mod workload;
mod world;

pub use check::Failure;
pub use world::run;

use myriad_consensus::Config;

/// Which byzantine behaviour one host shows, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Byzantine {
    None,
    /// Two nodes share one host's key, each running honest code with its own signer guard,
    /// placed on opposite sides of every partition.
    Twins,
    /// The host signs every vote twice, for different blocks, and sends each half the peers
    /// one of them.
    Equivocator,
}

/// How one simulated run is set up. Everything not set here is drawn from the seed.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub chains: usize,
    /// Virtual time during which faults happen and clients submit transactions.
    pub faulty_ms: u64,
    /// Virtual time after the faults stop within which every pending transaction must commit.
    pub settle_ms: u64,
    /// How often a host ends its tick: persist, fsync, send, acknowledge.
    pub tick_ms: u64,
    /// The byzantine behaviour; `None` draws one from the seed.
    pub byzantine: Option<Byzantine>,
    /// The most partitions during the faulty time.
    pub partitions_max: u64,
    pub consensus: Config,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            chains: 50,
            faulty_ms: 20_000,
            settle_ms: 60_000,
            tick_ms: 5,
            byzantine: None,
            partitions_max: 4,
            consensus: Config {
                propose_ms: 300,
                prevote_ms: 200,
                precommit_ms: 200,
                round_increase_ms: 25,
                resend_ms: 400,
                ..Config::default()
            },
        }
    }
}

/// What one seed did.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub seed: u64,
    /// A hash of every event in order: equal seeds give equal traces.
    pub trace: myriad_types::Hash,
    pub failures: Vec<Failure>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub hosts: usize,
    pub byzantine: Option<&'static str>,
    pub blocks_decided: u64,
    pub txs_committed: u64,
    pub messages_sent: u64,
    pub messages_dropped: u64,
    pub crashes: u64,
    pub partitions: u64,
    pub evidence: u64,
    pub max_round: u32,
}

#[cfg(test)]
mod tests;
