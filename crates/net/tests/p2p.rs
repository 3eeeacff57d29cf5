#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The peer-to-peer port under connections that say nothing, say it too slowly, or come too
//! many: closed after their timeouts, refused past the bounds, and counted; and a quote that
//! arrives whole, while an oversized or padded frame gets its sender cut off.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use futures::{AsyncReadExt, AsyncWriteExt};
use myriad_net::{connect_raw, Libp2pTransport, P2pLimits, Transport};
use myriad_testing::key;
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpSocket, TcpStream};

const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

/// A transport listening on loopback within `limits`, with no peers.
async fn listening(limits: P2pLimits) -> Libp2pTransport {
    let (transport, _inbound) =
        Libp2pTransport::start(&key(1), LOOPBACK.into(), Vec::new(), limits)
            .await
            .unwrap();
    transport
}

/// A raw TCP connection to `to` from `local` (any address of the loopback range).
async fn connect_from(local: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(local, 0)).unwrap();
    socket.connect(to).await.unwrap()
}

/// How long until the other end closes `stream` (it sends nothing here), if within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                // Handshake bytes a raw socket does not answer.
                Ok(_) => {}
            }
        }
    });
    closed.await.ok().map(|()| start.elapsed())
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_handshake_timeout() {
    let limits = P2pLimits {
        handshake: Duration::from_millis(500),
        ..P2pLimits::default()
    };
    let transport = listening(limits).await;
    let mut silent = TcpStream::connect(transport.listen_address())
        .await
        .unwrap();
    let closed = closed_within(&mut silent, Duration::from_secs(5)).await;
    let closed = closed.expect("a silent connection is closed");
    assert!(
        closed >= limits.handshake - Duration::from_millis(50),
        "{closed:?}"
    );
}

#[tokio::test]
async fn a_stream_that_stays_silent_or_sends_a_frame_too_slowly_is_closed() {
    let limits = P2pLimits {
        idle: Duration::from_millis(800),
        frame_read: Duration::from_millis(400),
        ..P2pLimits::default()
    };
    let transport = listening(limits).await;
    let to = key(1).host_id();
    let address = transport.listen_address();
    // Authenticated, with a stream open, and nothing on it.
    let (mut silent, _keep) = connect_raw(&key(2), to, address).await.unwrap();
    let start = Instant::now();
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut byte)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "{read:?}");
    assert!(start.elapsed() >= limits.idle - Duration::from_millis(50));
    // A frame begun, then nothing: closed after the frame timeout, well before the idle one.
    let (mut slow, _keep) = connect_raw(&key(3), to, address).await.unwrap();
    slow.write_all(&[16]).await.unwrap();
    slow.flush().await.unwrap();
    let start = Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut byte)).await;
    assert!(matches!(read, Ok(Ok(0) | Err(_))), "{read:?}");
    let elapsed = start.elapsed();
    assert!(
        elapsed >= limits.frame_read - Duration::from_millis(50),
        "{elapsed:?}"
    );
    assert!(elapsed < limits.idle, "{elapsed:?}");
    assert_eq!(transport.connections_refused(), 0);
}

#[tokio::test]
async fn connections_past_either_bound_are_refused_at_once_and_counted() {
    let limits = P2pLimits {
        // Long enough that only a refusal closes a connection during the test.
        handshake: Duration::from_secs(30),
        connections_max: 4,
        connections_per_address_max: 2,
        ..P2pLimits::default()
    };
    let transport = listening(limits).await;
    let to = transport.listen_address();
    let [a, b, c]: [IpAddr; 3] = [[127, 0, 0, 1], [127, 0, 0, 2], [127, 0, 0, 3]].map(Into::into);
    let mut open = Vec::new();
    for from in [a, a, b, b] {
        let mut stream = connect_from(from, to).await;
        let closed = closed_within(&mut stream, Duration::from_millis(300)).await;
        assert_eq!(
            closed, None,
            "a connection within the bounds from {from} was closed"
        );
        open.push(stream);
    }
    // A third from `a` is over its address's bound, one from `c` over the total.
    for (from, refused) in [(a, 1), (c, 2)] {
        let mut stream = connect_from(from, to).await;
        let closed = closed_within(&mut stream, Duration::from_secs(2)).await;
        assert!(
            closed.is_some(),
            "a connection from {from} past the bounds was kept"
        );
        assert_eq!(transport.connections_refused(), refused);
    }
    // A connection closed frees its place.
    drop(open.remove(0));
    let start = Instant::now();
    loop {
        let mut stream = connect_from(c, to).await;
        if closed_within(&mut stream, Duration::from_millis(300))
            .await
            .is_none()
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the freed place is never given"
        );
    }
}

/// One frame: the envelope's length (`u32`, little-endian), then its bytes.
fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut framed = (bytes.len() as u32).to_le_bytes().to_vec();
    framed.extend_from_slice(bytes);
    framed
}

#[tokio::test]
async fn a_quote_arrives_and_an_oversized_or_padded_frame_gets_its_sender_cut_off() {
    use myriad_net::{ChainMsg, Envelope, Msg};
    use myriad_types::{encode, BoundedVec, ChainId, MESSAGE_BYTES_MAX};

    let (transport, mut inbound) =
        Libp2pTransport::start(&key(1), LOOPBACK.into(), Vec::new(), P2pLimits::default())
            .await
            .unwrap();
    let to = key(1).host_id();
    let address = transport.listen_address();
    let quote = myriad_testing::quote(
        &key(9),
        (ChainId([1; 32]), ChainId([2; 32])),
        (1, 2),
        1,
        60_000,
    );
    let envelope = encode(&Envelope {
        items: BoundedVec::new(vec![ChainMsg {
            chain: ChainId([1; 32]),
            msg: Msg::Quote(quote.clone()),
        }])
        .unwrap(),
    });
    // A well-formed envelope with a quote is delivered as sent.
    let (mut honest, _keep) = connect_raw(&key(2), to, address).await.unwrap();
    honest.write_all(&frame(&envelope)).await.unwrap();
    honest.flush().await.unwrap();
    let received = tokio::time::timeout(Duration::from_secs(5), inbound.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(received.from, key(2).host_id());
    assert_eq!(
        received.envelope.items.into_inner()[0].msg,
        Msg::Quote(quote)
    );

    // A frame announced over the message bound, and one padded past its envelope: each
    // sender is cut off, and nothing reaches the host.
    let mut padded = envelope.clone();
    padded.extend_from_slice(&[0; 16]);
    let over = ((MESSAGE_BYTES_MAX + 1) as u32).to_le_bytes().to_vec();
    for (sender, bytes) in [(3, over), (4, frame(&padded))] {
        let (mut stream, _keep) = connect_raw(&key(sender), to, address).await.unwrap();
        stream.write_all(&bytes).await.unwrap();
        stream.flush().await.unwrap();
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte)).await;
        assert!(
            matches!(read, Ok(Ok(0) | Err(_))),
            "sender {sender}: {read:?}"
        );
    }
    assert!(inbound.try_recv().is_err(), "a refused frame was delivered");
}
