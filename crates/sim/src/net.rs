//! The simulated network: the transport each host sends through, and the faults that what
//! it sends suffers on the way.

use std::sync::{Mutex, PoisonError};

use myriad_net::{Envelope, SendError, Transport};
use myriad_types::HostId;

use crate::rng::Rng;

/// One host's end of the simulated network. Sending only records the envelope: the world
/// takes what a host sent after its tick and delivers it through the event queue.
#[derive(Debug, Default)]
pub struct SimTransport {
    sent: Mutex<Vec<(HostId, Envelope)>>,
    penalties: Mutex<Vec<(HostId, String)>>,
}

impl SimTransport {
    /// What the host sent since the last call, in the order it sent it.
    pub fn take_sent(&self) -> Vec<(HostId, Envelope)> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The peers the host penalized since the last call, with its reasons.
    pub fn take_penalties(&self) -> Vec<(HostId, String)> {
        std::mem::take(
            &mut *self
                .penalties
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

impl Transport for SimTransport {
    fn send(&self, to: HostId, envelope: Envelope) -> Result<(), SendError> {
        self.sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((to, envelope));
        Ok(())
    }

    fn penalize(&self, peer: HostId, reason: &str) {
        self.penalties
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((peer, reason.to_owned()));
    }

    fn connected_peers(&self) -> usize {
        0
    }

    /// The simulated network has no connections to refuse.
    fn connections_refused(&self) -> u64 {
        0
    }
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
