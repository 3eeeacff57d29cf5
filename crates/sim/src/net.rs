//! The simulated network: what travels between nodes, and the faults it suffers.

use myriad_types::{Block, Certificate, Height, SignedProposal, SignedTransaction, SignedVote};

use crate::rng::Rng;

/// A message between nodes (or from a client), always about one chain (by index).
#[derive(Debug, Clone)]
pub enum Msg {
    Tx(SignedTransaction),
    Proposal(SignedProposal),
    Vote(SignedVote),
    /// A decided block with its certificate, for a peer that is behind.
    Commit(Block, Certificate),
    /// "I am missing the block at this height."
    Need(Height),
}

/// The network's faults, drawn per run and changed by partition events.
#[derive(Debug, Clone)]
pub struct Faults {
    pub drop: f64,
    pub duplicate: f64,
    pub delay_max_ms: u64,
    /// The side of each node while partitioned; `None` when the network is whole.
    pub sides: Option<Vec<u8>>,
}

impl Faults {
    pub fn draw(rng: &mut Rng) -> Faults {
        Faults {
            drop: rng.below(31) as f64 / 100.0,
            duplicate: rng.below(11) as f64 / 100.0,
            delay_max_ms: rng.between(5, 120),
            sides: None,
        }
    }

    /// A network without faults: what is left once they stop.
    pub fn healed(&self) -> Faults {
        Faults {
            drop: 0.0,
            duplicate: 0.0,
            delay_max_ms: self.delay_max_ms.min(20),
            sides: None,
        }
    }

    /// The delays after which copies of one message arrive (none if it is lost).
    pub fn deliveries(&self, rng: &mut Rng, from: usize, to: usize) -> Vec<u64> {
        if let Some(sides) = &self.sides {
            if sides[from] != sides[to] {
                return vec![];
            }
        }
        if rng.chance(self.drop) {
            return vec![];
        }
        let mut delays = vec![rng.between(1, self.delay_max_ms)];
        if rng.chance(self.duplicate) {
            delays.push(rng.between(1, self.delay_max_ms));
        }
        delays
    }
}
