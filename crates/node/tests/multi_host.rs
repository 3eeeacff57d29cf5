//! Four hosts in one process over real loopback networking: many chains with different
//! validator sets are created, used, read back with proofs; a host restarts and catches up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::Duration;

use myriad_ledger::{verify_account, StateProof};
use myriad_node::Node;
use myriad_testing::*;
use myriad_types::{decode, Account, Address, ChainId, Hash, HostId, SecretKey};
use rand_chacha::rand_core::{RngCore, SeedableRng};

const CHAINS: usize = 100;

struct Chain {
    id: ChainId,
    owner: SecretKey,
    validators: Vec<usize>,
    nonce: u64,
}

/// Checks an account on one host: its balance, and its proof against the state root.
fn balance_with_proof(api: std::net::SocketAddr, chain: &ChainId, who: &Address) -> u128 {
    let (status, body) = get(api, &format!("/chains/{chain}/accounts/{who}"));
    assert_eq!(status, 200, "{body}");
    let balance: u128 = body["balance"].as_str().unwrap().parse().unwrap();
    let account = Account {
        balance,
        nonce: body["nonce"].as_u64().unwrap(),
    };
    let root: Hash = body["state_root"].as_str().unwrap().parse().unwrap();
    let proof: StateProof = decode(
        "proof",
        &hex::decode(body["proof"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(
        verify_account(&root, who, &account, &proof),
        "proof of {who} on {chain}"
    );
    let wrong = Account {
        balance: balance + 1,
        ..account
    };
    assert!(!verify_account(&root, who, &wrong, &proof));
    balance
}

fn height_on(api: std::net::SocketAddr, chain: &ChainId) -> u64 {
    let (status, body) = get(api, &format!("/chains/{chain}"));
    assert_eq!(status, 200, "{body}");
    body["height"].as_u64().unwrap()
}

#[test]
fn four_hosts_many_chains_transfers_with_proofs_and_a_restart() {
    init_logs();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let root = tempfile::tempdir().unwrap();
    let specs = specs(root.path(), 4);
    let mut nodes: Vec<Option<Node>> = specs
        .iter()
        .enumerate()
        .map(|(i, _)| Some(runtime.block_on(Node::start(config(&specs, i))).unwrap()))
        .collect();
    let hosts: Vec<HostId> = specs.iter().map(Spec::host).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);

    // Chains with different validator sets: three or four of the hosts, powers 1 to 3.
    let mut chains = Vec::new();
    for salt in 0..CHAINS {
        let mut members: Vec<usize> = (0..4).collect();
        if rng.next_u32() % 2 == 0 {
            members.remove(rng.next_u32() as usize % 4);
        }
        let set: Vec<(HostId, u64)> = members
            .iter()
            .map(|m| (hosts[*m], 1 + u64::from(rng.next_u32() % 3)))
            .collect();
        let owner = key(salt as u8 + 100);
        let genesis = genesis_now(&owner, &set, salt as u64);
        // Posted to one named host, which passes it on to the others.
        let (status, body) = create_chain(specs[members[0]].api, &genesis);
        assert_eq!(status, 201, "{body}");
        let id: ChainId = body["chain_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(id, genesis.genesis.chain_id());
        chains.push(Chain {
            id,
            owner,
            validators: members,
            nonce: 0,
        });
    }
    for chain in &chains {
        for m in &chain.validators {
            eventually(
                Duration::from_secs(20),
                "every named host to host the chain",
                || get(specs[*m].api, &format!("/chains/{}", chain.id)).0 == 200,
            );
        }
    }

    // Mint to the owner, transfer to a recipient; wait for the transfer's commit.
    let recipient = key(9);
    let mut acked: HashMap<Hash, (ChainId, u64)> = HashMap::new();
    let round = |chains: &mut Vec<Chain>,
                 live: &dyn Fn(usize) -> bool,
                 acked: &mut HashMap<Hash, (ChainId, u64)>| {
        for chain in chains.iter_mut() {
            let via = *chain.validators.iter().find(|m| live(**m)).unwrap();
            let api = specs[via].api;
            let mint = mint(chain.id, &chain.owner, chain.nonce + 1, &chain.owner, 1_000);
            let pay = transfer(chain.id, &chain.owner, chain.nonce + 2, &recipient, 10);
            chain.nonce += 2;
            let (status, body) = submit(api, &mint, false);
            assert_eq!(status, 202, "{body}");
            assert_eq!(body["status"], "pending");
            let (status, body) = submit(api, &pay, true);
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["status"], "committed", "{body}");
            acked.insert(pay.hash(), (chain.id, body["height"].as_u64().unwrap()));
        }
    };
    round(&mut chains, &|_| true, &mut acked);
    for chain in &chains {
        for m in &chain.validators {
            eventually(
                Duration::from_secs(20),
                "the transfer to reach every validator",
                || {
                    height_on(specs[*m].api, &chain.id) >= 1
                        && get(
                            specs[*m].api,
                            &format!("/chains/{}/accounts/{}", chain.id, recipient.address()),
                        )
                        .1["balance"]
                            == "10"
                },
            );
            assert_eq!(
                balance_with_proof(specs[*m].api, &chain.id, &recipient.address()),
                10
            );
            assert_eq!(
                balance_with_proof(specs[*m].api, &chain.id, &chain.owner.address()),
                990
            );
        }
    }

    // Host 3 stops; the chains keep committing where it is not needed for a quorum.
    let stopped = 3;
    runtime
        .block_on(nodes[stopped].take().unwrap().stop())
        .unwrap();
    let quorum_without: Vec<bool> = chains
        .iter()
        .map(|c| !c.validators.contains(&stopped) || c.validators.len() == 4)
        .collect();
    let mut live_chains: Vec<Chain> = Vec::new();
    let mut others = Vec::new();
    for (chain, ok) in chains.into_iter().zip(&quorum_without) {
        if *ok {
            live_chains.push(chain)
        } else {
            others.push(chain)
        }
    }
    // With four validators of power 1..3, one missing may still leave a quorum; only
    // chains where it does are used while the host is down.
    let mut usable = Vec::new();
    for chain in live_chains {
        let (_, body) = get(
            specs[*chain.validators.iter().find(|m| **m != stopped).unwrap()].api,
            &format!("/chains/{}", chain.id),
        );
        let total: u64 = body["validators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["power"].as_u64().unwrap())
            .sum();
        let down: u64 = body["validators"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["host"] == hosts[stopped].to_string())
            .map(|v| v["power"].as_u64().unwrap())
            .sum();
        if 3 * (total - down) > 2 * total {
            usable.push(chain)
        } else {
            others.push(chain)
        }
    }
    assert!(
        usable.len() >= 20,
        "only {} chains keep a quorum without host 3",
        usable.len()
    );
    round(&mut usable, &|m| m != stopped, &mut acked);

    // Host 3 comes back on the same store, catches up by block sync and validates again.
    nodes[stopped] = Some(
        runtime
            .block_on(Node::start(config(&specs, stopped)))
            .unwrap(),
    );
    let mut all: Vec<Chain> = usable.into_iter().chain(others).collect();
    round(&mut all, &|_| true, &mut acked);
    for chain in all.iter().filter(|c| c.validators.contains(&stopped)) {
        let reference = specs[*chain.validators.iter().find(|m| **m != stopped).unwrap()].api;
        eventually(Duration::from_secs(30), "host 3 to catch up", || {
            height_on(specs[stopped].api, &chain.id) == height_on(reference, &chain.id)
        });
    }
    // Nothing acknowledged is lost, on any host that validates the chain (each commits
    // the last round's blocks when their decisions reach it).
    for (hash, (chain, height)) in &acked {
        let c = all.iter().find(|c| c.id == *chain).unwrap();
        for m in &c.validators {
            let mut body = serde_json::Value::Null;
            eventually(Duration::from_secs(30), "every validator to commit", || {
                body = get(specs[*m].api, &format!("/transactions/{hash}")).1;
                body["status"] == "committed"
            });
            assert_eq!(body["height"].as_u64(), Some(*height), "{body}");
        }
    }
    for node in nodes.into_iter().flatten() {
        runtime.block_on(node.stop()).unwrap();
    }
}
