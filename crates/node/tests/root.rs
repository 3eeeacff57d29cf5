//! Hosts with a root chain over real loopback networking: a host configured with one peer
//! only finds the others through the root's directory and validates a chain with them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use myriad_host::{Peer, RootConfig};
use myriad_node::Node;
use myriad_testing::*;
use myriad_types::{ChainId, ChainKind, Genesis, RootParams, SecretKey, SignedGenesis};

const PARAMS: RootParams = RootParams {
    host_bond_min: 100,
    host_lease_ms: 3_600_000,
    unbond_ms: 60_000,
    anchor_interval_ms: 300,
};

fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn committed(api: std::net::SocketAddr, tx: &myriad_types::SignedTransaction) {
    let (status, body) = submit(api, tx, true);
    assert_eq!(
        (status, body["status"].as_str()),
        (200, Some("committed")),
        "{body}"
    );
}

/// Four hosts; the first three validate the root and know each other; the fourth knows
/// only the first. Every host registers.
struct Network {
    specs: Vec<Spec>,
    nodes: Vec<Node>,
    root: ChainId,
    runtime: tokio::runtime::Runtime,
}

impl Network {
    fn start(dir: &std::path::Path) -> Network {
        init_logs();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let specs = specs(dir, 4);
        let owner = key(10);
        let committee: Vec<_> = specs[..3].iter().map(|s| (s.host(), 1)).collect();
        let root_genesis = SignedGenesis::sign(
            Genesis {
                kind: ChainKind::Root(PARAMS),
                ..unsigned_genesis(owner.address(), &committee, 5)
            },
            &owner,
        );
        let root = root_genesis.genesis.chain_id();
        let nodes = (0..4)
            .map(|i| {
                let mut config = config(&specs, i);
                if i == 3 {
                    config.peers = vec![Peer {
                        host: specs[0].host(),
                        address: specs[0].p2p,
                    }];
                } else {
                    config.peers.retain(|peer| peer.host != specs[3].host());
                }
                config.root = Some(RootConfig {
                    chain: root,
                    announce_p2p: specs[i].p2p.to_string(),
                    announce_api: format!("http://{}", specs[i].api),
                });
                runtime.block_on(Node::start(config)).unwrap()
            })
            .collect();
        let (status, body) = create_chain(specs[0].api, &root_genesis);
        assert_eq!(status, 201, "{body}");
        for (nonce, spec) in specs.iter().enumerate() {
            committed(
                specs[0].api,
                &mint(root, &owner, nonce as u64 + 1, &spec.key, 1_000),
            );
        }
        let network = Network {
            specs,
            nodes,
            root,
            runtime,
        };
        for spec in &network.specs {
            let host = spec.host();
            eventually("every host registered", || {
                get(network.specs[0].api, &format!("/root/hosts/{host}")).0 == 200
            });
        }
        network
    }

    fn stop(self) {
        for node in self.nodes {
            self.runtime.block_on(node.stop()).unwrap();
        }
    }
}

#[test]
fn a_host_finds_its_peers_in_the_directory_and_validates_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::start(dir.path());
    let specs = &network.specs;
    // Hosts 1–3 validate a chain; host 3 was told only of host 0.
    let owner: SecretKey = key(20);
    let validators: Vec<_> = specs[1..].iter().map(|s| (s.host(), 1)).collect();
    let genesis = genesis(&owner, &validators, 1);
    let chain = genesis.genesis.chain_id();
    let (status, body) = create_chain(specs[3].api, &genesis);
    assert_eq!(status, 201, "{body}");
    for spec in &specs[1..3] {
        eventually("the chain's genesis reached every validator", || {
            get(spec.api, &format!("/chains/{chain}")).0 == 200
        });
    }
    committed(specs[3].api, &mint(chain, &owner, 1, &key(21), 7));
    let (_, body) = get(specs[1].api, &format!("/chains/{chain}"));
    assert_eq!(body["height"].as_u64(), Some(1));
    // And the root anchors it.
    eventually("the chain anchored", || {
        let (status, body) = get(specs[0].api, &format!("/root/chains/{chain}"));
        status == 200 && body["height"].as_u64() == Some(1)
    });
    let _ = network.root;
    network.stop();
}
