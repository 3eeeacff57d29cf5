//! Myriad's consensus: Tendermint for one height of one chain as a pure state machine
//! (inputs in, effects out; no clock, socket, disk or signing inside), the proposer rule,
//! and the signer guard that keeps a host from ever signing twice.
#![forbid(unsafe_code)]

mod guard;
mod instance;
mod proposer;

pub use guard::{Approval, Refusal, SignerGuard};
pub use instance::{
    Effect, Input, Instance, Step, Timeout, TimeoutKind, ROUNDS_AHEAD_MAX, ROUNDS_KEPT_MAX,
};
pub use myriad_types::Equivocation;
pub use proposer::proposer;

/// Timeouts, in milliseconds. Each round waits `round_increase_ms` longer than the last, so
/// that after the network heals some round is long enough for everyone to agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub propose_ms: u64,
    pub prevote_ms: u64,
    pub precommit_ms: u64,
    pub round_increase_ms: u64,
    /// The longest a propose, prevote or precommit timeout grows to, so that a chain left in
    /// empty rounds still answers its next transaction promptly.
    pub round_timeout_max_ms: u64,
    /// How often an undecided instance sends its own messages of the round again.
    pub resend_ms: u64,
    /// Test-only: prevote as if never locked, breaking Tendermint's lock rule (L23, L29).
    #[cfg(feature = "canary")]
    pub canary_ignore_lock: bool,
    /// Test-only: prevote a fresh proposal whatever its block's time (breaking PBTS).
    #[cfg(feature = "canary")]
    pub canary_ignore_time: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            propose_ms: 1_000,
            prevote_ms: 500,
            precommit_ms: 500,
            round_increase_ms: 250,
            round_timeout_max_ms: 5_000,
            resend_ms: 1_000,
            #[cfg(feature = "canary")]
            canary_ignore_lock: false,
            #[cfg(feature = "canary")]
            canary_ignore_time: false,
        }
    }
}

impl Config {
    pub fn timeout_ms(&self, kind: TimeoutKind, round: myriad_types::Round) -> u64 {
        let base = match kind {
            TimeoutKind::Propose => self.propose_ms,
            TimeoutKind::Prevote => self.prevote_ms,
            TimeoutKind::Precommit => self.precommit_ms,
            TimeoutKind::Resend => return self.resend_ms,
        };
        base.saturating_add(self.round_increase_ms.saturating_mul(u64::from(round.0)))
            .min(self.round_timeout_max_ms.max(base))
    }
}

#[cfg(test)]
mod tests;
