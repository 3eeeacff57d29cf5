//! Hosts with a root chain, over the in-memory transport: three hosts validate the root and
//! a fourth follows it; every host registers in the directory with a bond, and the chains
//! they validate are anchored — across a change of their validator set — with no client
//! doing anything but its own transactions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use myriad_host::{Command, Peer, RootConfig, RunningHost, TxStatus};
use myriad_ledger::ChainState;
use myriad_net::MemoryNetwork;
use myriad_testing::{genesis_now, key, mint, now_ms, tx, unsigned_genesis};
use myriad_types::{
    BoundedVec, ChainAnchor, ChainId, ChainKind, Genesis, Height, HostEntry, Object, ObjectKey,
    RootParams, SecretKey, SignedGenesis, SignedTransaction, TxKind, Validator, ValidatorSet,
};
use tokio::sync::oneshot;

use common::memory_host;

const PARAMS: RootParams = RootParams {
    host_bond_min: 100,
    host_lease_ms: 3_600_000,
    unbond_ms: 60_000,
    anchor_interval_ms: 200,
};

fn root_genesis(owner: &SecretKey, validators: &[SecretKey]) -> SignedGenesis {
    let hosts: Vec<_> = validators.iter().map(|k| (k.host_id(), 1)).collect();
    SignedGenesis::sign(
        Genesis {
            kind: ChainKind::Root(PARAMS),
            created_at_ms: now_ms(),
            ..unsigned_genesis(owner.address(), &hosts, 99)
        },
        owner,
    )
}

async fn submit(host: &RunningHost, tx: SignedTransaction) -> TxStatus {
    let (reply, answer) = oneshot::channel();
    assert!(host.handle.send(Command::Submit {
        tx,
        wait: true,
        reply
    }));
    answer.await.unwrap().unwrap()
}

async fn create(host: &RunningHost, genesis: SignedGenesis) -> ChainId {
    let (reply, answer) = oneshot::channel();
    assert!(host.handle.send(Command::CreateChain { genesis, reply }));
    answer.await.unwrap().unwrap()
}

fn root_state(host: &RunningHost, root: &ChainId) -> Option<ChainState> {
    host.handle.store.chain_state(root).unwrap()
}

fn anchor_of(host: &RunningHost, root: &ChainId, chain: &ChainId) -> Option<ChainAnchor> {
    match root_state(host, root)?.object(&ObjectKey::Anchor(*chain)) {
        Some(Object::Anchor(anchor)) => Some(anchor.clone()),
        _ => None,
    }
}

fn directory_entry(host: &RunningHost, root: &ChainId, of: &SecretKey) -> Option<HostEntry> {
    match root_state(host, root)?.object(&ObjectKey::Host(of.host_id())) {
        Some(Object::Host(entry)) => Some(entry.clone()),
        _ => None,
    }
}

/// `who`, funded by the root's owner (with its nonce `owner_nonce`), registers itself in
/// the directory of `root` with `bond`.
async fn register(
    host: &RunningHost,
    root: ChainId,
    (owner, owner_nonce): (&SecretKey, u64),
    who: &SecretKey,
    bond: u128,
) {
    let funding = mint(root, owner, owner_nonce, who, 2 * bond);
    assert!(matches!(
        submit(host, funding).await,
        TxStatus::Committed { .. }
    ));
    let text = |s: &str| myriad_types::BoundedBytes::new(s.as_bytes().to_vec()).unwrap();
    let register = tx(
        root,
        who,
        1,
        TxKind::RegisterHost {
            announcement: myriad_types::HostAnnouncement {
                p2p: BoundedVec::new(vec![text("127.0.0.1:7199")]).unwrap(),
                api_url: text("http://127.0.0.1:8199"),
            },
            bond,
        },
    );
    assert!(matches!(
        submit(host, register).await,
        TxStatus::Committed { .. }
    ));
}

/// The owner's (nonce `nonce`) `SetValidators` that hands `chain` to `to`, power 1 each.
fn hand_over(chain: ChainId, owner: &SecretKey, nonce: u64, to: &[SecretKey]) -> SignedTransaction {
    let validators: Vec<Validator> = to
        .iter()
        .map(|k| Validator {
            host: k.host_id(),
            power: 1,
        })
        .collect();
    let validators = BoundedVec::new(validators).unwrap();
    tx(chain, owner, nonce, TxKind::SetValidators { validators })
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Hosts of keys 1–4 and a root chain that the first three validate; the fourth follows
/// it, told of the first only. The root's owner (key 10, nonces 1–4) gives every host what
/// it bonds. `port` numbers the addresses they announce.
async fn root_network(
    dir: &std::path::Path,
    network: &MemoryNetwork,
    port: u16,
) -> (Vec<SecretKey>, ChainId, Vec<RunningHost>) {
    let hosts: Vec<SecretKey> = (1..=4).map(key).collect();
    let owner = key(10);
    let root = root_genesis(&owner, &hosts[..3]);
    let root_id = root.genesis.chain_id();
    let running: Vec<RunningHost> = hosts
        .iter()
        .enumerate()
        .map(|(i, host)| {
            memory_host(&dir.join(format!("h{i}")), network, host, |config| {
                config.root = Some(RootConfig {
                    chain: root_id,
                    announce_p2p: format!("127.0.0.1:{}", port + i as u16),
                    announce_api: format!("http://127.0.0.1:{}", port + 1000 + i as u16),
                });
                config.peers = vec![Peer {
                    host: hosts[0].host_id(),
                    address: format!("127.0.0.1:{port}").parse().unwrap(),
                }];
            })
        })
        .collect();
    assert_eq!(create(&running[0], root).await, root_id);
    for (nonce, host) in hosts.iter().enumerate() {
        let funding = mint(root_id, &owner, nonce as u64 + 1, host, 1_000);
        assert!(matches!(
            submit(&running[0], funding).await,
            TxStatus::Committed { .. }
        ));
    }
    (hosts, root_id, running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_register_follow_the_root_and_anchor_their_chains_across_a_set_change() {
    let dir = tempfile::tempdir().unwrap();
    let network = MemoryNetwork::new();
    // The root's owner gives every host what it bonds.
    let (hosts, root_id, running) = root_network(dir.path(), &network, 7000).await;
    // Every host registers, the follower too, its transaction relayed to the root's hosts.
    for host in &hosts {
        eventually("every host registered", || {
            directory_entry(&running[0], &root_id, host).is_some_and(|e| e.bond == 100)
        })
        .await;
    }
    let follower = directory_entry(&running[0], &root_id, &hosts[3]).unwrap();
    assert_eq!(
        follower.announcement.api_url_text(),
        "http://127.0.0.1:8003"
    );
    // The follower holds the root's state as its validators do.
    eventually("the follower follows the root", || {
        let (a, b) = (
            root_state(&running[0], &root_id),
            root_state(&running[3], &root_id),
        );
        a.zip(b).is_some_and(|(a, b)| {
            a.meta().height == b.meta().height && a.state_root() == b.state_root()
        })
    })
    .await;

    // A personal chain of hosts 2–4 (the follower among them) is anchored as it grows.
    let user = key(20);
    let validators: Vec<_> = hosts[1..].iter().map(|k| (k.host_id(), 1)).collect();
    let chain = create(&running[1], genesis_now(&user, &validators, 1)).await;
    eventually("the chain entered the directory", || {
        anchor_of(&running[0], &root_id, &chain).is_some()
    })
    .await;
    let status = submit(&running[1], mint(chain, &user, 1, &key(21), 5)).await;
    let TxStatus::Committed { height, .. } = status else {
        panic!("{status:?}");
    };
    eventually("the chain's head anchored", || {
        anchor_of(&running[0], &root_id, &chain).is_some_and(|a| a.height >= height)
    })
    .await;

    // The owner bonds part of its currency to host 4; the directory shows it.
    let status = submit(&running[1], mint(chain, &user, 2, &user, 10)).await;
    assert!(matches!(status, TxStatus::Committed { .. }), "{status:?}");
    let bond = tx(
        chain,
        &user,
        3,
        TxKind::BondValidator {
            host: hosts[3].host_id(),
            amount: 3,
            vesting_ms: 3_600_000,
        },
    );
    assert!(matches!(
        submit(&running[1], bond).await,
        TxStatus::Committed { .. }
    ));
    let owner_bond = |host: &RunningHost| {
        let key = myriad_types::OwnerBond::key_of(&hosts[3].host_id(), &chain);
        match root_state(host, &root_id)?.object(&ObjectKey::OwnerBond(key)) {
            Some(Object::OwnerBond(bond)) => Some(bond.held),
            _ => None,
        }
    };
    eventually("the directory shows the owner's bond to host 4", || {
        owner_bond(&running[0]) == Some(3)
    })
    .await;

    // The chain hands itself to hosts 1–3; the root follows the change.
    let change = hand_over(chain, &user, 4, &hosts[..3]);
    assert!(matches!(
        submit(&running[1], change).await,
        TxStatus::Committed { .. }
    ));
    eventually("host 1 joined the chain", || {
        running[0]
            .handle
            .store
            .chain_head(&chain)
            .unwrap()
            .is_some()
    })
    .await;
    let after = submit(&running[1], mint(chain, &user, 5, &key(21), 5)).await;
    let TxStatus::Committed { height, .. } = after else {
        panic!("{after:?}");
    };
    let new_hash = running[0]
        .handle
        .store
        .chain_head(&chain)
        .unwrap()
        .unwrap()
        .meta
        .validators
        .hash();
    eventually("the head signed by the new set anchored", || {
        anchor_of(&running[0], &root_id, &chain)
            .is_some_and(|a| a.height >= height && a.validators_hash == new_hash)
    })
    .await;
    let anchor = anchor_of(&running[0], &root_id, &chain).unwrap();
    assert!(anchor.validators_from > Height(1));
    // Host 4 left the set: its bond was settled, and the directory no longer shows it.
    eventually("the settled bond leaves the directory", || {
        owner_bond(&running[0]).is_none()
    })
    .await;
    assert_eq!(anchor.forked_at, None);
    // The root's precommits are signed alone: its certificates, which every light-client
    // proof carries, hold no path through the other messages of a tick.
    let root_head = root_state(&running[0], &root_id).unwrap().meta().height;
    let (_, certificate) = running[0]
        .handle
        .store
        .certified_block(&root_id, root_head)
        .unwrap()
        .unwrap();
    assert!(certificate
        .signatures
        .iter()
        .all(|s| s.signature.path.is_empty()));
    for host in running {
        host.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_host_that_equivocates_loses_its_bond() {
    let dir = tempfile::tempdir().unwrap();
    let network = MemoryNetwork::new();
    let hosts: Vec<SecretKey> = (1..=3).map(key).collect();
    let rogue = key(5);
    let owner = key(10);
    let root = root_genesis(&owner, &hosts);
    let root_id = root.genesis.chain_id();
    let running: Vec<RunningHost> = hosts
        .iter()
        .enumerate()
        .map(|(i, host)| {
            memory_host(
                &dir.path().join(format!("h{i}")),
                &network,
                host,
                |config| {
                    config.root = Some(RootConfig {
                        chain: root_id,
                        announce_p2p: format!("127.0.0.1:{}", 7100 + i),
                        announce_api: format!("http://127.0.0.1:{}", 8100 + i),
                    });
                },
            )
        })
        .collect();
    create(&running[0], root).await;
    // The rogue registers itself with a bond of 300.
    register(&running[0], root_id, (&owner, 1), &rogue, 300).await;
    // A chain of the three honest hosts and the rogue; the rogue prevotes two blocks at once.
    let validators: Vec<_> = hosts
        .iter()
        .chain([&rogue])
        .map(|k| (k.host_id(), 1))
        .collect();
    let chain = create(&running[0], genesis_now(&key(20), &validators, 2)).await;
    for host in &running[1..] {
        eventually("every validator holds the chain", || {
            host.handle.store.chain_head(&chain).unwrap().is_some()
        })
        .await;
    }
    let (rogue_net, _inbound) = network.join(rogue.host_id());
    let vote = |block: u8| {
        let vote = myriad_types::Vote {
            chain_id: chain,
            height: Height(1),
            round: myriad_types::Round(0),
            step: myriad_types::VoteStep::Prevote,
            block_hash: Some(myriad_types::Hash([block; 32])),
        };
        myriad_types::SignedVote {
            signature: myriad_types::sign_alone(&rogue, &vote),
            voter: rogue.host_id(),
            vote,
        }
    };
    for host in &hosts {
        let items = [1, 2]
            .into_iter()
            .map(|block| myriad_net::ChainMsg {
                chain,
                msg: myriad_net::Msg::Vote(vote(block)),
            })
            .collect();
        let envelope = myriad_net::Envelope {
            items: BoundedVec::new(items).unwrap(),
        };
        myriad_net::Transport::send(&rogue_net, host.host_id(), envelope).unwrap();
    }
    eventually("the rogue's bond slashed", || {
        directory_entry(&running[0], &root_id, &rogue).is_some_and(|e| e.bond == 0)
    })
    .await;
    let entry = directory_entry(&running[0], &root_id, &rogue).unwrap();
    assert_eq!((entry.slashed, entry.evidence), (300, 1));
    let state = root_state(&running[0], &root_id).unwrap();
    assert!(state
        .object(&ObjectKey::Evidence(entry.last_evidence.unwrap()))
        .is_some());
    assert_eq!(state.check_invariants(), Ok(()));
    for host in running {
        host.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_the_replaced_set_certified_is_shown_as_a_fork_by_the_chains_hosts() {
    fork_shown(Forgery::Head, 7200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_is_shown_though_the_chain_came_back_to_the_set_that_forged() {
    fork_shown(Forgery::HeadAndBack, 7300).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_is_shown_though_the_replaced_set_forged_a_set_change_too() {
    fork_shown(Forgery::SetChange, 7400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_forged_far_above_the_chain_is_shown_once_the_chain_makes_a_later_block() {
    fork_shown(Forgery::FarAbove, 7500).await;
}

/// What the set a chain is about to replace forges, and what the chain does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Forgery {
    /// A block 6 it certifies itself.
    Head,
    /// The same, and the chain later comes back to that set.
    HeadAndBack,
    /// A change at block 5 to a set of its own, which certifies block 6: the set the root
    /// keeps is then the forgers'.
    SetChange,
    /// A block a million blocks up instead of 6, which the chain does not reach: a block it
    /// makes later in time shows the fork.
    FarAbove,
}

/// The set a chain is about to replace certifies a block 6 the chain never decides, and the
/// root anchors it; the chain hands itself over and passes height 6: its hosts show the
/// root the fork.
async fn fork_shown(forgery: Forgery, port: u16) {
    let dir = tempfile::tempdir().unwrap();
    let network = MemoryNetwork::new();
    let (hosts, root_id, running) = root_network(dir.path(), &network, port).await;
    let owner = key(10);
    let forger = key(6);
    register(&running[0], root_id, (&owner, 5), &forger, 100).await;
    for host in &hosts {
        eventually("every host registered", || {
            directory_entry(&running[0], &root_id, host).is_some()
        })
        .await;
    }

    // A chain of hosts 2–4 makes its first block.
    let user = key(20);
    let old_set: Vec<_> = hosts[1..].iter().map(|k| (k.host_id(), 1)).collect();
    let chain = create(&running[1], genesis_now(&user, &old_set, 3)).await;
    eventually("the chain entered the directory", || {
        anchor_of(&running[0], &root_id, &chain).is_some()
    })
    .await;
    let status = submit(&running[1], mint(chain, &user, 1, &key(21), 5)).await;
    assert!(matches!(status, TxStatus::Committed { .. }), "{status:?}");
    let first = running[1]
        .handle
        .store
        .block(&chain, Height(1))
        .unwrap()
        .unwrap()
        .header;

    // The set it is about to replace certifies a block 6 the chain never decides (perhaps
    // after a change of its own), and the root, which knows no other set of the chain yet,
    // anchors it.
    let forged_height = match forgery {
        Forgery::FarAbove => Height(1_000_000),
        _ => Height(6),
    };
    let mut forged = myriad_types::BlockHeader {
        height: forged_height,
        timestamp_ms: first.timestamp_ms + 5_000,
        state_root: myriad_types::Hash([7; 32]),
        ..first.clone()
    };
    let mut changes = Vec::new();
    let mut forgers = hosts[1..].to_vec();
    if forgery == Forgery::SetChange {
        forgers = vec![key(40), key(41), key(42)];
        let theirs = ValidatorSet::new(
            forgers
                .iter()
                .map(|k| Validator {
                    host: k.host_id(),
                    power: 1,
                })
                .collect(),
        )
        .unwrap();
        forged.validators_hash = theirs.hash();
        let state = running[1]
            .handle
            .store
            .chain_state(&chain)
            .unwrap()
            .unwrap();
        let mut meta = state.meta().clone();
        meta.height = Height(5);
        meta.time_ms = first.timestamp_ms + 4_000;
        meta.validators = std::sync::Arc::new(theirs);
        let (accounts_root, objects_root) = (state.accounts_root(), state.objects_root());
        let header = myriad_types::BlockHeader {
            height: Height(5),
            timestamp_ms: meta.time_ms,
            state_root: myriad_ledger::state_root(&accounts_root, &objects_root, &meta.hash()),
            ..first
        };
        changes.push(myriad_types::SetChange {
            certificate: myriad_testing::certify(&header, &hosts[1..]),
            header,
            meta: myriad_types::BoundedBytes::new(myriad_types::encode(&meta)).unwrap(),
            accounts_root,
            objects_root,
        });
    }
    let head = myriad_types::AnchoredHead {
        changes: BoundedVec::new(changes).unwrap(),
        certificate: myriad_testing::certify(&forged, &forgers),
        header: forged.clone(),
        bonds: BoundedVec::default(),
    };
    let entries = vec![myriad_types::AnchorEntry::Head(Box::new(head))];
    let forged_anchor = tx(
        root_id,
        &forger,
        2,
        TxKind::Anchor {
            entries: BoundedVec::new(entries).unwrap(),
        },
    );
    let status = submit(&running[0], forged_anchor).await;
    assert!(matches!(status, TxStatus::Committed { .. }), "{status:?}");
    let anchor = anchor_of(&running[0], &root_id, &chain).unwrap();
    assert_eq!(
        (anchor.height, anchor.block_hash),
        (forged_height, forged.hash())
    );
    let made_after = anchor.anchored_at_ms + myriad_ledger::ANCHOR_CLOCK_SKEW_MS;

    // The chain hands itself to hosts 1–3 and goes on past height 6.
    let change = hand_over(chain, &user, 2, &hosts[..3]);
    let status = submit(&running[1], change).await;
    assert!(matches!(status, TxStatus::Committed { .. }), "{status:?}");
    let back = forgery == Forgery::HeadAndBack;
    if back {
        let change = hand_over(chain, &user, 3, &hosts[1..]);
        let status = submit(&running[1], change).await;
        assert!(matches!(status, TxStatus::Committed { .. }), "{status:?}");
    }
    let mut height = Height(0);
    for nonce in 3 + u64::from(back)..=9 {
        let status = submit(&running[1], mint(chain, &user, nonce, &key(21), 5)).await;
        let TxStatus::Committed { height: at, .. } = status else {
            panic!("{status:?}");
        };
        height = at;
    }
    assert!(height > Height(6), "{height:?}");
    // The chain's own block where the root took a block of the set it replaced: the
    // forgers' change at 5, or the forged head.
    let mut shown = match forgery {
        Forgery::SetChange => Height(5),
        _ => Height(6),
    };
    if forgery == Forgery::FarAbove {
        // A block made once the forged head's time has surely passed.
        tokio::time::sleep(Duration::from_millis(
            made_after.saturating_sub(now_ms()) + 100,
        ))
        .await;
        let status = submit(&running[1], mint(chain, &user, 10, &key(21), 5)).await;
        let TxStatus::Committed { height, .. } = status else {
            panic!("{status:?}");
        };
        shown = height;
    }

    // Its hosts show the root that block of the chain's own (or the later one), certified by
    // the set the change put in force (followed from the set the root trusted before): the
    // root marks the fork, and keeps what it anchored.
    eventually("the root marks the fork", || {
        anchor_of(&running[0], &root_id, &chain).is_some_and(|a| a.forked_at == Some(shown))
    })
    .await;
    let anchor = anchor_of(&running[0], &root_id, &chain).unwrap();
    assert_eq!(
        (anchor.height, anchor.block_hash),
        (forged_height, forged.hash())
    );
    for host in running {
        host.stop().await.unwrap();
    }
}
