//! Myriad's network: the envelopes hosts exchange, the [`Transport`] trait the host sends
//! through, the production libp2p transport and an in-memory one for tests.
#![forbid(unsafe_code)]

mod bounds;
mod message;
mod p2p;
mod transport;

pub use bounds::{ConnectionBounds, Refusal};
pub use message::{ChainMsg, Envelope, EnvelopeBuilder, Msg, ENVELOPE_ITEMS_MAX};
pub use p2p::{
    connect_raw, host_id, multiaddr, peer_id, Libp2pTransport, P2pError, P2pLimits,
    ADDRESS_BOOK_MAX, BAN_DURATION, CONNECTIONS_MAX, CONNECTIONS_PER_ADDRESS_MAX,
    FRAME_READ_TIMEOUT, HANDSHAKE_TIMEOUT, IDLE_TIMEOUT, PROTOCOL,
};
pub use transport::{
    Inbound, MemoryNetwork, MemoryTransport, SendError, Transport, QUEUE_ENVELOPES_MAX,
};
