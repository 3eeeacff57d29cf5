//! The production transport: libp2p over TCP, with noise (encrypted, authenticated by the
//! host key: peer id = host id) and yamux (one stream per direction per peer, multiplexed).
//!
//! Frames on a stream are `u32` little-endian length ‖ `encode(Envelope)`. A length over
//! [`MESSAGE_BYTES_MAX`] is refused before anything is allocated; a frame that does not decode
//! is a misbehaving peer: it is disconnected, logged, and refused for [`BAN_DURATION`].
//!
//! The port is bounded like the API's (see [`P2pLimits`]): inbound connections in total and
//! per remote address, counted and refused at accept; a connection that does not finish its
//! handshakes in time is closed; a stream that stays silent, or sends a frame too slowly, is
//! closed; a connection without streams is closed once idle.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, SwarmEvent, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{identity, noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use myriad_types::{decode, encode, HostId, SecretKey, MESSAGE_BYTES_MAX};
use tokio::sync::{mpsc, oneshot};

use crate::bounds::ConnectionBounds;
use crate::message::Envelope;
use crate::transport::{Inbound, SendError, Transport, QUEUE_BYTES_MAX, QUEUE_ENVELOPES_MAX};

/// The protocol hosts speak on their streams.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/myriad/envelopes/1");
/// How long a misbehaving peer is refused.
pub const BAN_DURATION: Duration = Duration::from_secs(30);
/// How often configured peers that are not connected are dialled again.
const REDIAL_PERIOD: Duration = Duration::from_secs(1);

/// How long a new connection (in or out) has to finish its noise and yamux handshakes.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the rest of a frame may take to arrive once its first byte has.
pub const FRAME_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an inbound stream may stay silent, and a connection without streams open,
/// before it is closed. A writer closes its own stream after half of it unused, so a
/// peer's bound never cuts a stream in use; the next envelope opens a new one.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// Inbound connections open at once, handshaking or established.
pub const CONNECTIONS_MAX: usize = 512;
/// Inbound connections open at once from one IP address: more than a devnet's hosts on
/// one machine, far fewer than [`CONNECTIONS_MAX`].
pub const CONNECTIONS_PER_ADDRESS_MAX: usize = 32;

/// The bounds on the peer-to-peer port; [`Default`] gives the constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct P2pLimits {
    pub handshake: Duration,
    pub frame_read: Duration,
    pub idle: Duration,
    pub connections_max: usize,
    pub connections_per_address_max: usize,
}

impl Default for P2pLimits {
    fn default() -> P2pLimits {
        P2pLimits {
            handshake: HANDSHAKE_TIMEOUT,
            frame_read: FRAME_READ_TIMEOUT,
            idle: IDLE_TIMEOUT,
            connections_max: CONNECTIONS_MAX,
            connections_per_address_max: CONNECTIONS_PER_ADDRESS_MAX,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum P2pError {
    #[error("host key cannot be used as a libp2p identity: {0}")]
    Key(String),
    #[error("cannot set up the TCP transport: {0}")]
    Transport(String),
    #[error("cannot listen on {address}: {reason}")]
    Listen { address: String, reason: String },
}

/// The libp2p address of a TCP socket address.
pub fn multiaddr(address: SocketAddr) -> Multiaddr {
    let ip = match address.ip() {
        std::net::IpAddr::V4(ip) => Protocol::Ip4(ip),
        std::net::IpAddr::V6(ip) => Protocol::Ip6(ip),
    };
    Multiaddr::empty()
        .with(ip)
        .with(Protocol::Tcp(address.port()))
}

/// The libp2p peer id of a host: the same ed25519 key.
pub fn peer_id(host: &HostId) -> Option<PeerId> {
    let key = identity::ed25519::PublicKey::try_from_bytes(&host.0).ok()?;
    Some(identity::PublicKey::from(key).to_peer_id())
}

/// The host id behind a peer id, if it is an ed25519 key (every Myriad host's is).
pub fn host_id(peer: &PeerId) -> Option<HostId> {
    let multihash = peer.as_ref();
    if multihash.code() != 0 {
        return None;
    }
    let key = identity::PublicKey::try_decode_protobuf(multihash.digest()).ok()?;
    Some(HostId(key.try_into_ed25519().ok()?.to_bytes()))
}

enum Command {
    Ban { peer: PeerId, reason: String },
    Learn { peer: PeerId, address: Multiaddr },
}

type Bans = Arc<Mutex<HashMap<PeerId, Instant>>>;

fn is_banned(bans: &Bans, peer: &PeerId) -> bool {
    let bans = bans.lock().unwrap_or_else(PoisonError::into_inner);
    bans.get(peer).is_some_and(|until| Instant::now() < *until)
}

/// A libp2p transport, running on the current tokio runtime.
pub struct Libp2pTransport {
    control: libp2p_stream::Control,
    writers: Mutex<HashMap<HostId, Writer>>,
    commands: mpsc::Sender<Command>,
    connected: Arc<AtomicUsize>,
    refused: Arc<AtomicU64>,
    bans: Bans,
    limits: P2pLimits,
    listen: SocketAddr,
}

impl std::fmt::Debug for Libp2pTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Libp2pTransport(listening on {})", self.listen)
    }
}

impl Libp2pTransport {
    /// Listens on `listen` (port 0 picks a free one) within `limits`, and keeps `peers`
    /// dialled.
    pub async fn start(
        key: &SecretKey,
        listen: SocketAddr,
        peers: Vec<(HostId, SocketAddr)>,
        limits: P2pLimits,
    ) -> Result<(Libp2pTransport, mpsc::Receiver<Inbound>), P2pError> {
        let mut swarm = build_swarm(key, &limits)?;
        let refused = swarm.behaviour().bounds.refused.clone();
        let listen_error = |reason: String| P2pError::Listen {
            address: listen.to_string(),
            reason,
        };
        swarm
            .listen_on(multiaddr(listen))
            .map_err(|e| listen_error(e.to_string()))?;
        let bound = loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => break address,
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(listen_error(error.to_string()))
                }
                SwarmEvent::ListenerClosed { reason, .. } => {
                    return Err(listen_error(format!("{reason:?}")))
                }
                _ => {}
            }
        };
        let listen = socket_address(&bound).unwrap_or(listen);
        let mut dialled = Vec::new();
        for (host, address) in peers {
            if let Some(peer) = peer_id(&host) {
                dialled.push((peer, multiaddr(address)));
            }
        }
        let mut control = swarm.behaviour().streams.new_control();
        let incoming = control
            .accept(PROTOCOL)
            .map_err(|e| P2pError::Transport(e.to_string()))?;
        let (inbound_tx, inbound_rx) = mpsc::channel(QUEUE_ENVELOPES_MAX);
        let (commands, command_rx) = mpsc::channel(QUEUE_ENVELOPES_MAX);
        let connected = Arc::new(AtomicUsize::new(0));
        let bans: Bans = Arc::default();
        tokio::spawn(run_swarm(
            swarm,
            dialled,
            command_rx,
            connected.clone(),
            bans.clone(),
        ));
        let readers = Readers {
            inbound: inbound_tx,
            commands: commands.clone(),
            bans: bans.clone(),
            limits,
        };
        tokio::spawn(accept(incoming, readers));
        let transport = Libp2pTransport {
            control,
            writers: Mutex::default(),
            commands,
            connected,
            refused,
            bans,
            limits,
            listen,
        };
        Ok((transport, inbound_rx))
    }

    /// The address this transport listens on.
    pub fn listen_address(&self) -> SocketAddr {
        self.listen
    }
}

fn socket_address(address: &Multiaddr) -> Option<SocketAddr> {
    let mut ip = None;
    let mut port = None;
    for part in address.iter() {
        match part {
            Protocol::Ip4(v4) => ip = Some(std::net::IpAddr::V4(v4)),
            Protocol::Ip6(v6) => ip = Some(std::net::IpAddr::V6(v6)),
            Protocol::Tcp(p) => port = Some(p),
            _ => {}
        }
    }
    Some(SocketAddr::new(ip?, port?))
}

/// The queue of encoded envelopes for one peer, bounded by count and by bytes.
struct Writer {
    queue: mpsc::Sender<Vec<u8>>,
    /// The bytes queued and not yet written.
    queued: Arc<AtomicUsize>,
}

impl Transport for Libp2pTransport {
    fn send(&self, to: HostId, envelope: Envelope) -> Result<(), SendError> {
        let bytes = encode(&envelope);
        if bytes.len() > MESSAGE_BYTES_MAX {
            return Err(SendError::TooLarge(bytes.len()));
        }
        let mut writers = self.writers.lock().unwrap_or_else(PoisonError::into_inner);
        let writer = match writers.get(&to) {
            Some(writer) if !writer.queue.is_closed() => writer,
            _ => {
                let peer = peer_id(&to).ok_or(SendError::UnknownPeer(to))?;
                let (queue, receiver) = mpsc::channel(QUEUE_ENVELOPES_MAX);
                let queued = Arc::new(AtomicUsize::new(0));
                tokio::spawn(write_to(
                    self.control.clone(),
                    peer,
                    (receiver, queued.clone()),
                    self.bans.clone(),
                    self.limits.idle / 2,
                ));
                writers.insert(to, Writer { queue, queued });
                writers.get(&to).ok_or(SendError::Closed)?
            }
        };
        let size = bytes.len();
        if writer.queued.load(Ordering::Relaxed) + size > QUEUE_BYTES_MAX {
            return Err(SendError::Busy(to));
        }
        writer.queued.fetch_add(size, Ordering::Relaxed);
        writer.queue.try_send(bytes).map_err(|error| {
            writer.queued.fetch_sub(size, Ordering::Relaxed);
            match error {
                mpsc::error::TrySendError::Full(_) => SendError::Busy(to),
                mpsc::error::TrySendError::Closed(_) => SendError::Closed,
            }
        })
    }

    fn penalize(&self, peer: HostId, reason: &str) {
        if let Some(peer) = peer_id(&peer) {
            let command = Command::Ban {
                peer,
                reason: reason.to_owned(),
            };
            // A full command queue means bans are already pending; this one can wait for
            // the peer's next offence.
            let _ = self.commands.try_send(command);
        }
    }

    fn connected_peers(&self) -> usize {
        self.connected.load(Ordering::Relaxed)
    }

    fn learn(&self, host: HostId, address: SocketAddr) {
        if let Some(peer) = peer_id(&host) {
            // A full command queue drops the address; the next directory change brings it.
            let _ = self.commands.try_send(Command::Learn {
                peer,
                address: multiaddr(address),
            });
        }
    }

    fn connections_refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

/// What a swarm runs: the streams hosts talk over, behind the bounds on inbound connections.
#[derive(NetworkBehaviour)]
struct Behaviour {
    bounds: InboundBounds,
    addresses: AddressBook,
    streams: libp2p_stream::Behaviour,
}

/// The most peers whose addresses a transport keeps from what it learned; past it, the
/// oldest learned is forgotten.
pub const ADDRESS_BOOK_MAX: usize = 65_536;

/// Where peers learned from a directory listen ([`Transport::learn`]): the addresses a dial
/// by host id goes to, when a stream to a peer not connected is opened.
#[derive(Default)]
struct AddressBook {
    addresses: HashMap<PeerId, Multiaddr>,
    order: std::collections::VecDeque<PeerId>,
}

impl NetworkBehaviour for AddressBook {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_outbound_connection(
        &mut self,
        _connection: ConnectionId,
        peer: Option<PeerId>,
        _addresses: &[Multiaddr],
        _role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        Ok(peer
            .and_then(|peer| self.addresses.get(&peer))
            .cloned()
            .into_iter()
            .collect())
    }

    fn handle_established_inbound_connection(
        &mut self,
        _connection: ConnectionId,
        _peer: PeerId,
        _local: &Multiaddr,
        _remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection: ConnectionId,
        _peer: PeerId,
        _address: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::NewExternalAddrOfPeer(learned) = event {
            if self
                .addresses
                .insert(learned.peer_id, learned.addr.clone())
                .is_none()
            {
                self.order.push_back(learned.peer_id);
                while self.order.len() > ADDRESS_BOOK_MAX {
                    if let Some(oldest) = self.order.pop_front() {
                        self.addresses.remove(&oldest);
                    }
                }
            }
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer: PeerId,
        _connection: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

/// Refuses inbound connections past [`P2pLimits`]' bounds when they are accepted, before any
/// handshake, and counts them.
struct InboundBounds {
    bounds: ConnectionBounds,
    /// The remote address of every inbound connection counted and not yet closed.
    open: HashMap<ConnectionId, IpAddr>,
    refused: Arc<AtomicU64>,
}

impl InboundBounds {
    fn new(limits: &P2pLimits) -> InboundBounds {
        InboundBounds {
            bounds: ConnectionBounds::new(
                limits.connections_max,
                limits.connections_per_address_max,
            ),
            open: HashMap::new(),
            refused: Arc::default(),
        }
    }
}

impl NetworkBehaviour for InboundBounds {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        connection: ConnectionId,
        _local: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        // Every address a TCP listener reports names an IP; one that did not is let through.
        let Some(address) = socket_address(remote).map(|a| a.ip()) else {
            return Ok(());
        };
        match self.bounds.admit(address) {
            Ok(()) => {
                self.open.insert(connection, address);
                Ok(())
            }
            Err(refusal) => {
                self.refused.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%remote, %refusal, "refusing an inbound connection");
                Err(ConnectionDenied::new(refusal))
            }
        }
    }

    fn handle_established_inbound_connection(
        &mut self,
        _connection: ConnectionId,
        _peer: PeerId,
        _local: &Multiaddr,
        _remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection: ConnectionId,
        _peer: PeerId,
        _address: &Multiaddr,
        _role: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        let connection = match event {
            FromSwarm::ConnectionClosed(closed) => closed.connection_id,
            FromSwarm::ListenFailure(failed) => failed.connection_id,
            _ => return,
        };
        if let Some(address) = self.open.remove(&connection) {
            self.bounds.release(address);
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _peer: PeerId,
        _connection: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Infallible, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

async fn run_swarm(
    mut swarm: Swarm<Behaviour>,
    dialled: Vec<(PeerId, Multiaddr)>,
    mut commands: mpsc::Receiver<Command>,
    connected: Arc<AtomicUsize>,
    bans: Bans,
) {
    let mut redial = tokio::time::interval(REDIAL_PERIOD);
    loop {
        tokio::select! {
            event = swarm.select_next_some() => {
                if let SwarmEvent::ConnectionEstablished { peer_id, .. } = &event {
                    if is_banned(&bans, peer_id) {
                        let _ = swarm.disconnect_peer_id(*peer_id);
                    }
                }
                connected.store(swarm.connected_peers().count(), Ordering::Relaxed);
            }
            command = commands.recv() => match command {
                Some(Command::Ban { peer, reason }) => {
                    tracing::warn!(%peer, %reason, "disconnecting misbehaving peer");
                    bans.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(peer, Instant::now() + BAN_DURATION);
                    let _ = swarm.disconnect_peer_id(peer);
                }
                Some(Command::Learn { peer, address }) => {
                    swarm.add_peer_address(peer, address);
                }
                None => return,
            },
            _ = redial.tick() => {
                for (peer, address) in &dialled {
                    if !swarm.is_connected(peer) && !is_banned(&bans, peer) {
                        let dial = DialOpts::peer_id(*peer)
                            .addresses(vec![address.clone()])
                            .condition(PeerCondition::DisconnectedAndNotDialing)
                            .build();
                        // A failed dial is retried at the next period.
                        let _ = swarm.dial(dial);
                    }
                }
            }
        }
    }
}

/// Writes every envelope queued for `peer` (encoded, with the count of bytes queued) onto
/// one stream, opening it (again) as needed, and closing it once unused for `unused`. An
/// envelope is held until it is written: while the peer is unreachable its queue fills and
/// senders are told it is busy.
async fn write_to(
    mut control: libp2p_stream::Control,
    peer: PeerId,
    (mut queue, queued): (mpsc::Receiver<Vec<u8>>, Arc<AtomicUsize>),
    bans: Bans,
    unused: Duration,
) {
    let mut stream: Option<libp2p::Stream> = None;
    let mut backoff = Duration::from_millis(20);
    loop {
        let next = match stream.as_mut() {
            None => queue.recv().await,
            Some(open) => match tokio::time::timeout(unused, queue.recv()).await {
                Ok(next) => next,
                Err(_) => {
                    let _ = open.close().await;
                    stream = None;
                    continue;
                }
            },
        };
        let Some(bytes) = next else {
            return;
        };
        let length = (bytes.len() as u32).to_le_bytes();
        loop {
            if is_banned(&bans, &peer) {
                break;
            }
            let mut open = match stream.take() {
                Some(open) => open,
                None => match control.open_stream(peer, PROTOCOL).await {
                    Ok(open) => open,
                    Err(error) => {
                        tracing::debug!(%peer, %error, "cannot open a stream");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(1));
                        continue;
                    }
                },
            };
            let written = async {
                open.write_all(&length).await?;
                open.write_all(&bytes).await?;
                open.flush().await
            };
            match written.await {
                Ok(()) => {
                    tracing::trace!(%peer, bytes = bytes.len(), "envelope sent");
                    stream = Some(open);
                    backoff = Duration::from_millis(20);
                    break;
                }
                Err(error) => tracing::debug!(%peer, %error, "stream write failed"),
            }
        }
        queued.fetch_sub(bytes.len(), Ordering::Relaxed);
    }
}

/// What every stream reader shares: where envelopes go, how to report a peer, the bans and
/// the bounds.
#[derive(Clone)]
struct Readers {
    inbound: mpsc::Sender<Inbound>,
    commands: mpsc::Sender<Command>,
    bans: Bans,
    limits: P2pLimits,
}

async fn accept(mut incoming: libp2p_stream::IncomingStreams, readers: Readers) {
    while let Some((peer, stream)) = incoming.next().await {
        if is_banned(&readers.bans, &peer) {
            continue;
        }
        tokio::spawn(read_from(peer, stream, readers.clone()));
    }
}

/// Why a stream's reader stopped reading it.
enum Stop {
    /// It ended, or failed.
    Ended,
    /// No frame began within the idle timeout.
    Silent,
    /// A frame began but did not arrive within the frame timeout.
    Slow,
    /// A frame announced more bytes than an envelope may have.
    TooLarge(usize),
}

/// Reads one frame's bytes: its first byte within `limits.idle`, the rest within
/// `limits.frame_read`.
async fn read_frame(stream: &mut libp2p::Stream, limits: &P2pLimits) -> Result<Vec<u8>, Stop> {
    let mut length = [0u8; 4];
    match tokio::time::timeout(limits.idle, stream.read_exact(&mut length[..1])).await {
        Err(_) => return Err(Stop::Silent),
        Ok(Err(_)) => return Err(Stop::Ended),
        Ok(Ok(())) => {}
    }
    let rest = async {
        stream
            .read_exact(&mut length[1..])
            .await
            .map_err(|_| Stop::Ended)?;
        let length = u32::from_le_bytes(length) as usize;
        if length > MESSAGE_BYTES_MAX {
            return Err(Stop::TooLarge(length));
        }
        let mut bytes = vec![0u8; length];
        stream
            .read_exact(&mut bytes)
            .await
            .map_err(|_| Stop::Ended)?;
        Ok(bytes)
    };
    tokio::time::timeout(limits.frame_read, rest)
        .await
        .unwrap_or(Err(Stop::Slow))
}

/// Reads envelopes from one peer's stream until it ends, stays silent or slow too long, or
/// the peer misbehaves.
async fn read_from(peer: PeerId, mut stream: libp2p::Stream, readers: Readers) {
    let ban = |reason: String| {
        let _ = readers.commands.try_send(Command::Ban { peer, reason });
    };
    let Some(from) = host_id(&peer) else {
        ban("its peer id is not an ed25519 key".to_owned());
        return;
    };
    loop {
        let bytes = match read_frame(&mut stream, &readers.limits).await {
            Ok(bytes) => bytes,
            Err(Stop::Ended) => return,
            Err(Stop::Silent) => {
                tracing::debug!(%peer, idle = ?readers.limits.idle, "closing a silent stream");
                return;
            }
            Err(Stop::Slow) => {
                tracing::debug!(%peer, timeout = ?readers.limits.frame_read, "closing a stream whose frame came too slowly");
                return;
            }
            Err(Stop::TooLarge(length)) => {
                ban(format!(
                    "sent a frame of {length} bytes, over the limit of {MESSAGE_BYTES_MAX}"
                ));
                return;
            }
        };
        let envelope = match decode::<Envelope>("envelope", &bytes) {
            Ok(envelope) => envelope,
            Err(error) => {
                ban(format!("sent an envelope that does not decode: {error}"));
                return;
            }
        };
        if is_banned(&readers.bans, &peer) {
            return;
        }
        tracing::trace!(%peer, items = envelope.items.len(), "envelope received");
        // Waiting here is the backpressure: a host that falls behind stops reading, and
        // the peer's writes wait on the stream's flow control.
        if readers
            .inbound
            .send(Inbound { from, envelope })
            .await
            .is_err()
        {
            return;
        }
    }
}

fn build_swarm(key: &SecretKey, limits: &P2pLimits) -> Result<Swarm<Behaviour>, P2pError> {
    let keypair = identity::Keypair::ed25519_from_bytes(key.to_seed())
        .map_err(|e| P2pError::Key(e.to_string()))?;
    Ok(libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_behaviour(|_| Behaviour {
            bounds: InboundBounds::new(limits),
            addresses: AddressBook::default(),
            streams: libp2p_stream::Behaviour::new(),
        })
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(limits.idle))
        .with_connection_timeout(limits.handshake)
        .build())
}

/// Opens a raw stream to a host, outside any transport: for tools and tests that write the
/// framing themselves (a test plays a peer that sends garbage with it). Dropping the returned
/// sender stops the connection.
pub async fn connect_raw(
    key: &SecretKey,
    to: HostId,
    address: SocketAddr,
) -> Result<(libp2p::Stream, oneshot::Sender<()>), P2pError> {
    let mut swarm = build_swarm(key, &P2pLimits::default())?;
    let peer = peer_id(&to).ok_or_else(|| P2pError::Key("bad peer key".to_owned()))?;
    let dial = DialOpts::peer_id(peer)
        .addresses(vec![multiaddr(address)])
        .build();
    swarm
        .dial(dial)
        .map_err(|e| P2pError::Transport(e.to_string()))?;
    let mut control = swarm.behaviour().streams.new_control();
    let (stop, mut stopped) = oneshot::channel();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = swarm.select_next_some() => {}
                _ = &mut stopped => return,
            }
        }
    });
    let stream = control
        .open_stream(peer, PROTOCOL)
        .await
        .map_err(|e| P2pError::Transport(e.to_string()))?;
    Ok((stream, stop))
}
