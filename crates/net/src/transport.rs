//! The `Transport` trait the host sends through, and an in-memory implementation for tests
//! that need a network they can cut.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use myriad_types::HostId;
use tokio::sync::mpsc;

use crate::message::Envelope;

/// How many envelopes wait for one peer (or for the host, inbound) before sending answers
/// [`SendError::Busy`]: backpressure instead of an unbounded queue.
pub const QUEUE_ENVELOPES_MAX: usize = 256;
/// How many encoded bytes wait for one peer before sending answers [`SendError::Busy`]: a
/// host sends a peer about one envelope a tick, so this holds seconds of ordinary traffic,
/// and a slow or stalled peer costs at most this much memory.
pub const QUEUE_BYTES_MAX: usize = 16 << 20;

/// An envelope received from a peer, whose identity the transport has authenticated.
#[derive(Debug)]
pub struct Inbound {
    pub from: HostId,
    pub envelope: Envelope,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("the queue to peer {0} is full")]
    Busy(HostId),
    #[error("peer {0} is unknown: add it to the host's peers")]
    UnknownPeer(HostId),
    #[error("an envelope of {0} bytes is over the message limit")]
    TooLarge(usize),
    #[error("the transport is shut down")]
    Closed,
}

/// How a host reaches its peers. Sending never blocks: a full queue is an error the host
/// counts, and consensus resends what matters. Inbound envelopes arrive on the channel
/// returned beside the transport when it is created.
pub trait Transport: Send + Sync + 'static {
    fn send(&self, to: HostId, envelope: Envelope) -> Result<(), SendError>;

    /// Drops the connection to a peer that misbehaved, and refuses it for a while.
    fn penalize(&self, peer: HostId, reason: &str);

    /// How many peers are connected now.
    fn connected_peers(&self) -> usize;

    /// How many inbound connections were refused at accept, over the transport's bounds,
    /// since it started.
    fn connections_refused(&self) -> u64;

    /// Where a host listens, as its entry in a directory announces it: a transport that
    /// dials by address keeps it for when it next sends there. Others reach every host
    /// already.
    fn learn(&self, _host: HostId, _address: SocketAddr) {}
}

/// An in-memory network: every host joined to it reaches every other, unless cut off.
#[derive(Debug, Clone, Default)]
pub struct MemoryNetwork {
    inner: Arc<Mutex<MemoryInner>>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    hosts: HashMap<HostId, mpsc::Sender<Inbound>>,
    isolated: BTreeSet<HostId>,
    penalties: Vec<(HostId, HostId, String)>,
}

impl MemoryNetwork {
    pub fn new() -> MemoryNetwork {
        MemoryNetwork::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a host; returns its transport and its inbound channel.
    pub fn join(&self, host: HostId) -> (MemoryTransport, mpsc::Receiver<Inbound>) {
        let (sender, receiver) = mpsc::channel(QUEUE_ENVELOPES_MAX);
        self.lock().hosts.insert(host, sender);
        let transport = MemoryTransport {
            me: host,
            network: self.clone(),
        };
        (transport, receiver)
    }

    /// Cuts a host off from every other (or joins it back).
    pub fn set_isolated(&self, host: HostId, isolated: bool) {
        let mut inner = self.lock();
        if isolated {
            inner.isolated.insert(host);
        } else {
            inner.isolated.remove(&host);
        }
    }

    /// Every penalty given so far: (by, against, reason).
    pub fn penalties(&self) -> Vec<(HostId, HostId, String)> {
        self.lock().penalties.clone()
    }
}

/// One host's end of a [`MemoryNetwork`].
#[derive(Debug)]
pub struct MemoryTransport {
    me: HostId,
    network: MemoryNetwork,
}

impl Transport for MemoryTransport {
    fn send(&self, to: HostId, envelope: Envelope) -> Result<(), SendError> {
        let inner = self.network.lock();
        let sender = inner.hosts.get(&to).ok_or(SendError::UnknownPeer(to))?;
        if inner.isolated.contains(&to) || inner.isolated.contains(&self.me) {
            return Ok(());
        }
        let inbound = Inbound {
            from: self.me,
            envelope,
        };
        sender.try_send(inbound).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => SendError::Busy(to),
            mpsc::error::TrySendError::Closed(_) => SendError::Closed,
        })
    }

    fn penalize(&self, peer: HostId, reason: &str) {
        let me = self.me;
        self.network
            .lock()
            .penalties
            .push((me, peer, reason.to_owned()));
    }

    fn connected_peers(&self) -> usize {
        let inner = self.network.lock();
        if inner.isolated.contains(&self.me) {
            return 0;
        }
        inner
            .hosts
            .keys()
            .filter(|h| **h != self.me && !inner.isolated.contains(h))
            .count()
    }

    /// An in-memory network has no connections to refuse.
    fn connections_refused(&self) -> u64 {
        0
    }
}
