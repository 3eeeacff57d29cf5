//! Hosts with a root chain over real loopback networking: a host configured with one peer
//! only finds the others through the root's directory and validates a chain with them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use myriad_client::client::Client;
use myriad_client::root::verify_account_via_root;
use myriad_host::{Peer, RootConfig};
use myriad_node::Node;
use myriad_testing::*;
use myriad_types::{ChainId, ChainKind, Genesis, Height, RootParams, SecretKey, SignedGenesis};

const PARAMS: RootParams = RootParams {
    host_bond_min: 100,
    host_lease_ms: 3_600_000,
    unbond_ms: 60_000,
    anchor_interval_ms: 300,
};

/// How long a test waits for what hosts do in the background.
const WAIT: Duration = Duration::from_secs(60);

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
                created_at_ms: now_ms(),
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
            eventually(WAIT, "every host registered", || {
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
    let genesis = genesis_now(&owner, &validators, 1);
    let chain = genesis.genesis.chain_id();
    let (status, body) = create_chain(specs[3].api, &genesis);
    assert_eq!(status, 201, "{body}");
    for spec in &specs[1..3] {
        eventually(WAIT, "the chain's genesis reached every validator", || {
            get(spec.api, &format!("/chains/{chain}")).0 == 200
        });
    }
    committed(specs[3].api, &mint(chain, &owner, 1, &key(21), 7));
    // Host 3 answered once it committed; host 1 commits when the decision reaches it.
    eventually(WAIT, "host 1 committed the block", || {
        get(specs[1].api, &format!("/chains/{chain}")).1["height"].as_u64() == Some(1)
    });
    // And the root anchors it.
    eventually(WAIT, "the chain anchored", || {
        let (status, body) = get(specs[0].api, &format!("/root/chains/{chain}"));
        status == 200 && body["height"].as_u64() == Some(1)
    });

    // The directory over the API: paged, and clear about what it refuses.
    let api = specs[2].api;
    let (status, body) = get(api, "/root/hosts?limit=2");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hosts"].as_array().unwrap().len(), 2);
    let next = body["next"].as_str().unwrap().to_owned();
    let (_, rest) = get(api, &format!("/root/hosts?after={next}&limit=1000"));
    assert_eq!(rest["hosts"].as_array().unwrap().len(), 2);
    assert!(rest["next"].is_null());
    let (status, body) = get(api, "/root/hosts/host1nothing");
    assert_eq!(status, 400, "{body}");
    let stranger = key(99).host_id();
    let (status, body) = get(api, &format!("/root/hosts/{stranger}"));
    assert_eq!(status, 404, "{body}");
    let unknown = ChainId([9; 32]);
    for path in [
        format!("/root/chains/{unknown}"),
        format!("/root/anchors/{unknown}"),
    ] {
        let (status, body) = get(api, &path);
        assert_eq!(status, 404, "{body}");
        assert!(body["error"]
            .as_str()
            .unwrap()
            .contains("not in the root's directory"));
    }
    let mut entry = serde_json::Value::Null;
    eventually(WAIT, "host 2 has the anchor", || {
        let (status, body) = get(api, &format!("/root/chains/{chain}"));
        entry = body;
        status == 200 && entry["height"].as_u64() == Some(1)
    });
    let reach: Vec<&str> = entry["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["entry"]["api_url"].as_str().unwrap())
        .collect();
    assert_eq!(reach.len(), 3);

    // An account checked trusting only the root's committee, through any root host: here
    // the follower, once it has the anchor.
    eventually(WAIT, "the follower has the anchor", || {
        let (status, body) = get(specs[3].api, &format!("/root/chains/{chain}"));
        status == 200 && body["height"].as_u64() == Some(1)
    });
    let root_host = Client::new(&format!("http://{}", specs[3].api));
    let holder = key(21).address();
    let checked =
        verify_account_via_root(&root_host, &network.root, &chain, &holder, None).unwrap();
    assert_eq!((checked.account.balance, checked.height), (7, Height(1)));
    assert!(checked.checked.len() >= 5, "{:?}", checked.checked);
    // A root it was not told of, or a wrong committee, fails loudly at the first step.
    let wrong_root = verify_account_via_root(&root_host, &chain, &chain, &holder, None);
    assert!(wrong_root.is_err());
    let err = verify_account_via_root(&root_host, &unknown, &chain, &holder, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains(&unknown.to_string()), "{err}");
    network.stop();
}
