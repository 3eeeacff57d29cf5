//! Myriad's network: the envelopes hosts exchange, the [`Transport`] trait the host sends
//! through, the production libp2p transport and an in-memory one for tests.
#![forbid(unsafe_code)]

mod message;
mod p2p;
mod transport;

pub use message::{ChainMsg, Envelope, EnvelopeBuilder, Msg, ENVELOPE_ITEMS_MAX};
pub use p2p::{
    connect_raw, host_id, multiaddr, peer_id, Libp2pTransport, P2pError, BAN_DURATION, PROTOCOL,
};
pub use transport::{
    Inbound, MemoryNetwork, MemoryTransport, SendError, Transport, QUEUE_ENVELOPES_MAX,
};
