//! Isolation: a peer sending garbage, and a chain flooded with bad transactions, do not stop
//! other chains from committing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures::{AsyncReadExt, AsyncWriteExt};
use myriad_net::{connect_raw, ChainMsg, Envelope, Msg};
use myriad_node::Node;
use myriad_testing::*;
use myriad_types::{
    encode, sign_alone, BoundedVec, Height, Round, SignedVote, Vote, VoteStep, MESSAGE_BYTES_MAX,
};

fn metric(api: std::net::SocketAddr, name: &str) -> u64 {
    let (_, body) = get(api, "/metrics");
    let text = body.as_str().unwrap().to_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or(0)
}

/// The host drops a misbehaving peer: its stream ends.
async fn assert_disconnected(stream: &mut libp2p::Stream) {
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the peer was not disconnected: {read:?}"
    );
}

#[test]
fn garbage_peers_and_flooded_chains_leave_other_chains_alone() {
    init_logs();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let root = tempfile::tempdir().unwrap();
    let specs = specs(root.path(), 3);
    let nodes: Vec<Node> = (0..3)
        .map(|i| runtime.block_on(Node::start(config(&specs, i))).unwrap())
        .collect();
    let set: Vec<_> = specs.iter().map(|s| (s.host(), 1)).collect();
    let flooded_owner = key(60);
    let quiet_owner = key(61);
    let flooded = genesis_now(&flooded_owner, &set, 1);
    let quiet = genesis_now(&quiet_owner, &set, 2);
    for g in [&flooded, &quiet] {
        assert_eq!(create_chain(specs[0].api, g).0, 201);
    }
    let (flooded, quiet) = (flooded.genesis.chain_id(), quiet.genesis.chain_id());
    for spec in &specs {
        eventually(Duration::from_secs(20), "chains on every host", || {
            get(spec.api, &format!("/chains/{quiet}")).0 == 200
                && get(spec.api, &format!("/chains/{flooded}")).0 == 200
        });
    }

    // A flood of bad transactions on one chain, from another thread: forged signatures (on
    // transactions admission would take, so the signature is what refuses them), garbage,
    // and transfers from a key that holds nothing, which admission refuses.
    let flood = {
        let api = specs[0].api;
        let owner = flooded_owner.clone();
        std::thread::spawn(move || {
            let forger = key(62);
            let mut refused = 0;
            for i in 0..300u64 {
                let mut forged = mint(flooded, &owner, 1, &owner, 5 + u128::from(i));
                forged.signature = forger.sign(&forged.tx);
                let (status, body) = submit(api, &forged, false);
                assert_eq!(status, 400, "{body}");
                assert!(
                    body["error"].as_str().unwrap().contains("signature"),
                    "{body}"
                );
                refused += 1;
                let (status, _) = post(api, "/transactions", &serde_json::json!({ "tx": "00ff" }));
                assert_eq!(status, 400);
                let broke = transfer(flooded, &forger, i + 1, &owner, 1_000);
                let (status, body) = submit(api, &broke, false);
                assert_eq!(status, 422, "{body}");
            }
            refused
        })
    };

    // Peers that misbehave on the wire: an oversized frame, bytes that do not decode, and
    // a vote with a forged signature.
    runtime.block_on(async {
        let attacker = key(63);
        let (mut stream, _keep) = connect_raw(&attacker, specs[0].host(), specs[0].p2p)
            .await
            .unwrap();
        stream
            .write_all(&((MESSAGE_BYTES_MAX as u32) + 1).to_le_bytes())
            .await
            .unwrap();
        let _ = stream.flush().await;
        assert_disconnected(&mut stream).await;

        let garbler = key(64);
        let (mut stream, _keep2) = connect_raw(&garbler, specs[1].host(), specs[1].p2p)
            .await
            .unwrap();
        stream.write_all(&5u32.to_le_bytes()).await.unwrap();
        stream.write_all(&[0xff; 5]).await.unwrap();
        let _ = stream.flush().await;
        assert_disconnected(&mut stream).await;

        let forger = key(65);
        let vote = Vote {
            chain_id: quiet,
            height: Height(1),
            round: Round(0),
            step: VoteStep::Prevote,
            block_hash: None,
        };
        // Signed by another key than the voter's it names.
        let forged = SignedVote {
            signature: sign_alone(&forger, &vote),
            vote,
            voter: specs[1].host(),
        };
        let envelope = Envelope {
            items: BoundedVec::new(vec![ChainMsg {
                chain: quiet,
                msg: Msg::Vote(forged),
            }])
            .unwrap(),
        };
        let bytes = encode(&envelope);
        let (mut stream, _keep3) = connect_raw(&forger, specs[2].host(), specs[2].p2p)
            .await
            .unwrap();
        stream
            .write_all(&(bytes.len() as u32).to_le_bytes())
            .await
            .unwrap();
        stream.write_all(&bytes).await.unwrap();
        let _ = stream.flush().await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    });

    // Meanwhile the quiet chain commits, on every host.
    let payee = key(66);
    let mut nonce = 0;
    for _ in 0..10 {
        nonce += 1;
        let (status, body) = submit(
            specs[2].api,
            &mint(quiet, &quiet_owner, nonce, &payee, 7),
            true,
        );
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "committed");
    }
    assert_eq!(flood.join().unwrap(), 300);
    for spec in &specs {
        eventually(
            Duration::from_secs(10),
            "the quiet chain's balance everywhere",
            || {
                get(
                    spec.api,
                    &format!("/chains/{quiet}/accounts/{}", payee.address()),
                )
                .1["balance"]
                    == "70"
            },
        );
    }
    // Each misbehaving peer was caught by the host it attacked.
    for spec in &specs[2..] {
        eventually(
            Duration::from_secs(10),
            "the forged vote to be penalized",
            || metric(spec.api, "myriad_peers_penalized_total") >= 1,
        );
    }
    for node in nodes {
        runtime.block_on(node.stop()).unwrap();
    }
}
