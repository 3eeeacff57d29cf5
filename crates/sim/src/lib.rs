//! Myriad's deterministic simulator: 4 to 7 real hosts (`myriad-host` over in-memory
//! stores) validating 50+ chains over a seeded, faulty network in virtual time — drops,
//! delays, duplicates, partitions, crashes between ticks and in the middle of a write,
//! byzantine twins, equivocators and skewed clocks, chains created and validators changed during the run,
//! bursts that overflow mempools, floods of unfunded transfers, overloads that make the hosts
//! busy (ticks take virtual time by the work they do), swaps between chains whose claims and
//! refunds race their expiries — with checkers for agreement, validity, durability,
//! acknowledgements, conservation, block time, stores that reopen, liveness, swap atomicity
//! and never signing twice.
//! One seed, one trace.
#![forbid(unsafe_code)]

mod check;
mod net;
mod rng;
mod swaps;
mod workload;
mod world;

pub use check::Failure;
pub use world::run;

use myriad_consensus::Config;
use myriad_host::{HostConfig, Limits};

/// Which byzantine behaviour one host shows, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Byzantine {
    None,
    /// Two hosts share one key, each running honest code with its own signer guard and
    /// store, placed on opposite sides of every partition.
    Twins,
    /// The host signs a conflicting vote for about half the votes it sends, and sends it
    /// instead.
    Equivocator,
    /// The host's clock is ahead of or behind the others' by about a chain's clock bounds
    /// (drawn per run: at the edge of what validators accept, or past it), so the blocks it
    /// proposes carry times at the edges.
    SkewedClock,
}

/// How one simulated run is set up. Everything not set here is drawn from the seed.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Chains created at the start.
    pub chains: usize,
    /// Virtual time during which faults happen and clients submit transactions.
    pub faulty_ms: u64,
    /// Virtual time after the faults stop within which every pending transaction must commit.
    pub settle_ms: u64,
    /// The byzantine behaviour; `None` draws one from the seed.
    pub byzantine: Option<Byzantine>,
    /// The most partitions during the faulty time.
    pub partitions_max: u64,
    /// The most host crashes during the faulty time.
    pub crashes_max: u64,
    /// The most bursts of `burst_txs` transactions for one chain at once, each with
    /// `flood_txs` transfers from strangers that hold nothing, which every host must refuse.
    pub bursts_max: u64,
    pub burst_txs: usize,
    pub flood_txs: usize,
    /// The most overloads, after the faults stop: `overload_txs` transactions over all chains
    /// within `overload_ms`, each followed by a check that everything pending commits within
    /// `recovery_ms` of its end.
    pub overloads_max: u64,
    pub overload_txs: usize,
    pub overload_ms: u64,
    pub recovery_ms: u64,
    /// What a tick costs in virtual time.
    pub tick_cost: TickCost,
    /// The most chains created during the faulty time.
    pub new_chains_max: u64,
    /// The most validator set changes during the faulty time.
    pub validator_changes_max: u64,
    /// The most swaps started during the faulty time.
    pub swaps_max: u64,
    /// The most anchors of forged heads sent to the root during the faulty time: headers
    /// the chain never decided, certified by one host alone.
    pub forged_anchors_max: u64,
    /// A canary: a root that anchors a head whatever its certificate's signers hold.
    #[cfg(test)]
    pub canary_anchor_without_quorum: bool,
    /// A canary: a ledger that lets an escrow be claimed after it expired.
    #[cfg(test)]
    pub canary_claim_after_expiry: bool,
    /// Every host's configuration: its tick, limits and consensus timeouts.
    pub host: HostConfig,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        // Small limits, so that bursts fill mempools and chains are evicted and reloaded.
        let limits = Limits {
            mempool_txs_per_chain: 24,
            mempool_txs_total: 400,
            hot_chains: 24,
            block_txs: 64,
            mempool_ttl_ms: 5_000,
            ..Limits::default()
        };
        let consensus = Config {
            propose_ms: 300,
            prevote_ms: 200,
            precommit_ms: 200,
            round_increase_ms: 25,
            resend_ms: 400,
            ..Config::default()
        };
        SimConfig {
            chains: 50,
            faulty_ms: 20_000,
            settle_ms: 60_000,
            byzantine: None,
            partitions_max: 4,
            crashes_max: 4,
            bursts_max: 3,
            burst_txs: 60,
            flood_txs: 20,
            overloads_max: 1,
            overload_txs: 1_500,
            overload_ms: 1_000,
            recovery_ms: 50_000,
            // Hosts far slower than real ones, so that the simulator's small load overloads them.
            tick_cost: TickCost {
                message_us: 300,
                signature_us: 600,
            },
            new_chains_max: 6,
            validator_changes_max: 6,
            swaps_max: 8,
            forged_anchors_max: 4,
            #[cfg(test)]
            canary_claim_after_expiry: false,
            #[cfg(test)]
            canary_anchor_without_quorum: false,
            host: HostConfig::in_memory(5, limits, consensus),
        }
    }
}

/// The virtual time a tick takes: its messages and commands, and the signatures it checks.
/// Messages a host sends leave when its tick ends, and its next tick starts after that.
#[derive(Debug, Clone, Copy)]
pub struct TickCost {
    pub message_us: u64,
    pub signature_us: u64,
}

impl TickCost {
    pub fn of(&self, report: &myriad_host::TickReport) -> u64 {
        let messages = report.messages as u64 * self.message_us;
        let signatures = report.signatures as u64 * self.signature_us;
        (messages + signatures) / 1000
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

/// What one seed exercised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub hosts: usize,
    pub byzantine: Option<&'static str>,
    /// Blocks decided by honest hosts (each host's decision counts).
    pub blocks_decided: u64,
    pub txs_committed: u64,
    /// Transactions a host told a client were committed.
    pub txs_acknowledged: u64,
    pub messages_sent: u64,
    pub messages_dropped: u64,
    pub crashes: u64,
    pub partitions: u64,
    /// Blocks hosts sent peers that were behind.
    pub sync_blocks_served: u64,
    pub validator_changes: u64,
    /// Chain heads the root anchored.
    pub anchors: u64,
    /// Chains created during the faulty time.
    pub chains_created: u64,
    pub bursts: u64,
    pub overloads: u64,
    /// Transactions refused because the host was busy (its ticks ran late).
    pub busy_refusals: u64,
    /// Transactions refused because a mempool was full.
    pub mempool_refusals: u64,
    /// Clients' transactions refused by the admission rules: their sender could not pay for
    /// them yet (what funds them still pending), their nonce ran too far ahead, or the
    /// sender's share of the mempool was full. The clients send them again until they commit.
    pub admission_refusals: u64,
    /// Strangers' unfunded transfers refused, as every one must be.
    pub floods_refused: u64,
    /// Transactions admitted, then rejected (they expired waiting for a nonce gap, or lost
    /// their nonce to another).
    pub txs_rejected: u64,
    /// Forged transactions refused for their signature.
    pub forgeries_refused: u64,
    /// Anchors of forged heads the root refused for their certificate.
    pub forged_anchors_refused: u64,
    pub evidence: u64,
    /// The most messages and commands one tick handled.
    pub max_tick_messages: usize,
    pub swaps: u64,
    /// Swaps whose maker's escrow was claimed (for the taker), or refunded to the maker.
    pub swaps_completed: u64,
    pub swaps_refunded: u64,
    /// Swap claims and refunds the ledger rejected: another closed the escrow first, or
    /// the block's time was on the other side of the expiry.
    pub swap_races_lost: u64,
}

impl Stats {
    /// Adds another run's counts to these.
    pub fn add(&mut self, other: &Stats) {
        self.blocks_decided += other.blocks_decided;
        self.txs_committed += other.txs_committed;
        self.txs_acknowledged += other.txs_acknowledged;
        self.messages_sent += other.messages_sent;
        self.messages_dropped += other.messages_dropped;
        self.crashes += other.crashes;
        self.partitions += other.partitions;
        self.sync_blocks_served += other.sync_blocks_served;
        self.validator_changes += other.validator_changes;
        self.anchors += other.anchors;
        self.chains_created += other.chains_created;
        self.bursts += other.bursts;
        self.overloads += other.overloads;
        self.busy_refusals += other.busy_refusals;
        self.mempool_refusals += other.mempool_refusals;
        self.admission_refusals += other.admission_refusals;
        self.floods_refused += other.floods_refused;
        self.forgeries_refused += other.forgeries_refused;
        self.forged_anchors_refused += other.forged_anchors_refused;
        self.txs_rejected += other.txs_rejected;
        self.evidence += other.evidence;
        self.max_tick_messages = self.max_tick_messages.max(other.max_tick_messages);
        self.swaps += other.swaps;
        self.swaps_completed += other.swaps_completed;
        self.swaps_refunded += other.swaps_refunded;
        self.swap_races_lost += other.swap_races_lost;
    }
}

#[cfg(test)]
mod tests;
