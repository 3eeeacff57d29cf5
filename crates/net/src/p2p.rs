//! The production transport: libp2p over TCP, with noise (encrypted, authenticated by the
//! host key: peer id = host id) and yamux (one stream per direction per peer, multiplexed).
//!
//! Frames on a stream are `u32` little-endian length ‖ `encode(Envelope)`. A length over
//! [`MESSAGE_BYTES_MAX`] is refused before anything is allocated; a frame that does not decode
//! is a misbehaving peer: it is disconnected, logged, and refused for [`BAN_DURATION`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::multiaddr::Protocol;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::SwarmEvent;
use libp2p::{identity, noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use myriad_types::{decode, encode, HostId, SecretKey, MESSAGE_BYTES_MAX};
use tokio::sync::{mpsc, oneshot};

use crate::message::Envelope;
use crate::transport::{Inbound, SendError, Transport, QUEUE_ENVELOPES_MAX};

/// The protocol hosts speak on their streams.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/myriad/envelopes/1");
/// How long a misbehaving peer is refused.
pub const BAN_DURATION: Duration = Duration::from_secs(30);
/// How often configured peers that are not connected are dialled again.
const REDIAL_PERIOD: Duration = Duration::from_secs(1);

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
}

type Bans = Arc<Mutex<HashMap<PeerId, Instant>>>;

fn is_banned(bans: &Bans, peer: &PeerId) -> bool {
    let bans = bans.lock().unwrap_or_else(PoisonError::into_inner);
    bans.get(peer).is_some_and(|until| Instant::now() < *until)
}

/// A libp2p transport, running on the current tokio runtime.
pub struct Libp2pTransport {
    control: libp2p_stream::Control,
    writers: Mutex<HashMap<HostId, mpsc::Sender<Envelope>>>,
    commands: mpsc::Sender<Command>,
    connected: Arc<AtomicUsize>,
    bans: Bans,
    listen: SocketAddr,
}

impl std::fmt::Debug for Libp2pTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Libp2pTransport(listening on {})", self.listen)
    }
}

impl Libp2pTransport {
    /// Listens on `listen` (port 0 picks a free one) and keeps `peers` dialled.
    pub async fn start(
        key: &SecretKey,
        listen: SocketAddr,
        peers: Vec<(HostId, SocketAddr)>,
    ) -> Result<(Libp2pTransport, mpsc::Receiver<Inbound>), P2pError> {
        let mut swarm = build_swarm(key)?;
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
        let mut control = swarm.behaviour().new_control();
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
        tokio::spawn(accept(incoming, inbound_tx, commands.clone(), bans.clone()));
        let transport = Libp2pTransport {
            control,
            writers: Mutex::default(),
            commands,
            connected,
            bans,
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

impl Transport for Libp2pTransport {
    fn send(&self, to: HostId, envelope: Envelope) -> Result<(), SendError> {
        let mut writers = self.writers.lock().unwrap_or_else(PoisonError::into_inner);
        let writer = match writers.get(&to) {
            Some(writer) if !writer.is_closed() => writer,
            _ => {
                let peer = peer_id(&to).ok_or(SendError::UnknownPeer(to))?;
                let (sender, receiver) = mpsc::channel(QUEUE_ENVELOPES_MAX);
                tokio::spawn(write_to(
                    self.control.clone(),
                    peer,
                    receiver,
                    self.bans.clone(),
                ));
                writers.insert(to, sender);
                writers.get(&to).ok_or(SendError::Closed)?
            }
        };
        writer.try_send(envelope).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => SendError::Busy(to),
            mpsc::error::TrySendError::Closed(_) => SendError::Closed,
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
}

async fn run_swarm(
    mut swarm: Swarm<libp2p_stream::Behaviour>,
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

/// Writes every envelope queued for `peer` onto one stream, opening it (again) as needed.
/// An envelope is held until it is written: while the peer is unreachable its queue fills
/// and senders are told it is busy.
async fn write_to(
    mut control: libp2p_stream::Control,
    peer: PeerId,
    mut queue: mpsc::Receiver<Envelope>,
    bans: Bans,
) {
    let mut stream: Option<libp2p::Stream> = None;
    let mut backoff = Duration::from_millis(20);
    while let Some(envelope) = queue.recv().await {
        let bytes = encode(&envelope);
        if bytes.len() > MESSAGE_BYTES_MAX {
            tracing::error!(%peer, bytes = bytes.len(), "dropping an envelope over the size limit");
            continue;
        }
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
    }
}

async fn accept(
    mut incoming: libp2p_stream::IncomingStreams,
    inbound: mpsc::Sender<Inbound>,
    commands: mpsc::Sender<Command>,
    bans: Bans,
) {
    while let Some((peer, stream)) = incoming.next().await {
        if is_banned(&bans, &peer) {
            continue;
        }
        tokio::spawn(read_from(
            peer,
            stream,
            inbound.clone(),
            commands.clone(),
            bans.clone(),
        ));
    }
}

/// Reads envelopes from one peer's stream until it ends or the peer misbehaves.
async fn read_from(
    peer: PeerId,
    mut stream: libp2p::Stream,
    inbound: mpsc::Sender<Inbound>,
    commands: mpsc::Sender<Command>,
    bans: Bans,
) {
    let Some(from) = host_id(&peer) else {
        let reason = "its peer id is not an ed25519 key".to_owned();
        let _ = commands.try_send(Command::Ban { peer, reason });
        return;
    };
    loop {
        let mut length = [0u8; 4];
        if stream.read_exact(&mut length).await.is_err() {
            return;
        }
        let length = u32::from_le_bytes(length) as usize;
        if length > MESSAGE_BYTES_MAX {
            let reason =
                format!("sent a frame of {length} bytes, over the limit of {MESSAGE_BYTES_MAX}");
            let _ = commands.try_send(Command::Ban { peer, reason });
            return;
        }
        let mut bytes = vec![0u8; length];
        if stream.read_exact(&mut bytes).await.is_err() {
            return;
        }
        let envelope = match decode::<Envelope>("envelope", &bytes) {
            Ok(envelope) => envelope,
            Err(error) => {
                let reason = format!("sent an envelope that does not decode: {error}");
                let _ = commands.try_send(Command::Ban { peer, reason });
                return;
            }
        };
        if is_banned(&bans, &peer) {
            return;
        }
        tracing::trace!(%peer, items = envelope.items.len(), "envelope received");
        // Waiting here is the backpressure: a host that falls behind stops reading, and
        // the peer's writes wait on the stream's flow control.
        if inbound.send(Inbound { from, envelope }).await.is_err() {
            return;
        }
    }
}

fn build_swarm(key: &SecretKey) -> Result<Swarm<libp2p_stream::Behaviour>, P2pError> {
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
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .map_err(|e| P2pError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
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
    let mut swarm = build_swarm(key)?;
    let peer = peer_id(&to).ok_or_else(|| P2pError::Key("bad peer key".to_owned()))?;
    let dial = DialOpts::peer_id(peer)
        .addresses(vec![multiaddr(address)])
        .build();
    swarm
        .dial(dial)
        .map_err(|e| P2pError::Transport(e.to_string()))?;
    let mut control = swarm.behaviour().new_control();
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
