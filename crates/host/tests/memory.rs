//! Hosts over the in-memory transport: a host's policy on chains, a flood of unfunded
//! transfers refused while a holder's transfer commits, a transaction behind a nonce gap
//! that starts no height until the gap fills, a claim that lost its escrow to another
//! refused as the winner's block decides, and a host cut off from the others
//! that falls behind and, once joined again, catches up by block sync and validates the next
//! block.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use myriad_host::{
    AdmitError, Command, CreateError, HostConfig, Policy, RunningHost, SubmitError, TxStatus,
    GENESIS_CLOCK_SKEW_MS,
};
use myriad_net::MemoryNetwork;
use myriad_testing::{genesis_now, key, keys, mint, now_ms, transfer, tx, unsigned_genesis};
use myriad_types::{
    ChainId, EscrowId, Genesis, Height, Memo, Secret, SecretKey, SignedGenesis, SignedTransaction,
    TxKind,
};
use tokio::sync::oneshot;

use common::memory_host;

async fn commit(host: &RunningHost, tx: SignedTransaction) -> Height {
    let (reply, answer) = oneshot::channel();
    assert!(host.handle.send(Command::Submit {
        tx,
        wait: true,
        reply
    }));
    match answer.await.unwrap().unwrap() {
        TxStatus::Committed { height, .. } => height,
        other => panic!("not committed: {other:?}"),
    }
}

async fn submit(host: &RunningHost, tx: SignedTransaction) -> Result<TxStatus, SubmitError> {
    let (reply, answer) = oneshot::channel();
    assert!(host.handle.send(Command::Submit {
        tx,
        wait: false,
        reply
    }));
    answer.await.unwrap()
}

/// A host validating alone over the in-memory transport, ticking every 5 ms, its
/// configuration adjusted by `configure`.
fn lone_host(
    dir: &std::path::Path,
    key: &SecretKey,
    configure: impl FnOnce(&mut HostConfig),
) -> RunningHost {
    memory_host(dir, &MemoryNetwork::new(), key, configure)
}

/// A lone host whose rounds time out quickly, so that a height started for nothing shows in
/// its timeouts within a few hundred milliseconds.
fn quick_host(dir: &std::path::Path, key: &SecretKey) -> RunningHost {
    lone_host(dir, key, |config| {
        config.consensus.propose_ms = 20;
        config.consensus.prevote_ms = 20;
        config.consensus.precommit_ms = 20;
        config.consensus.round_increase_ms = 10;
    })
}

/// The consensus timeouts a host has fired, of every kind.
fn timeouts_fired(host: &RunningHost) -> u64 {
    host.handle
        .metrics
        .render()
        .lines()
        .filter(|line| line.starts_with("myriad_timeouts_fired_total"))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

async fn create(host: &RunningHost, genesis: SignedGenesis) -> Result<ChainId, CreateError> {
    let (reply, answer) = oneshot::channel();
    assert!(host.handle.send(Command::CreateChain { genesis, reply }));
    answer.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_policy_decides_which_chains_it_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let (welcome, stranger, other) = (key(2), key(3), key(4));
    let key = key(1);
    let host = lone_host(dir.path(), &key, |config| {
        config.policy = Policy {
            owners: Some(vec![welcome.address()]),
            chains_max: Some(1),
        };
    });
    assert_eq!(
        create(&host, genesis_now(&welcome, &[(other.host_id(), 1)], 0)).await,
        Err(CreateError::NotNamed(key.host_id()))
    );
    assert_eq!(
        create(&host, genesis_now(&stranger, &[(key.host_id(), 1)], 0)).await,
        Err(CreateError::OwnerRefused(stranger.address().to_string()))
    );
    let first = genesis_now(&welcome, &[(key.host_id(), 1)], 0);
    assert_eq!(
        create(&host, first.clone()).await,
        Ok(first.genesis.chain_id())
    );
    assert_eq!(
        create(&host, first.clone()).await,
        Ok(first.genesis.chain_id()),
        "an accepted chain again"
    );
    assert_eq!(
        create(&host, genesis_now(&welcome, &[(key.host_id(), 1)], 1)).await,
        Err(CreateError::Full(1))
    );
    assert_eq!(host.handle.store.chain_count().unwrap(), 1);
    host.stop().await.unwrap();
}

/// A client's genesis is taken only if it was created within `GENESIS_CLOCK_SKEW_MS` of the
/// host's clock, either way, and the refusal says how far off it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_genesis_must_be_created_near_the_host_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (owner, key) = (key(2), key(1));
    let host = lone_host(dir.path(), &key, |_| {});
    let at = |created_at_ms: u64, salt: u64| {
        let genesis = Genesis {
            created_at_ms,
            ..unsigned_genesis(owner.address(), &[(key.host_id(), 1)], salt)
        };
        SignedGenesis::sign(genesis, &owner)
    };
    // A minute of slack for the time between reading the clock here and the host's tick.
    let slack = 60_000;
    for (salt, created_at_ms) in [
        (1, now_ms() - GENESIS_CLOCK_SKEW_MS - slack),
        (2, now_ms() + GENESIS_CLOCK_SKEW_MS + slack),
        (3, 0),
    ] {
        match create(&host, at(created_at_ms, salt)).await {
            Err(CreateError::Clock {
                created_at_ms: said,
                now_ms,
            }) => {
                assert_eq!(said, created_at_ms);
                assert!(said.abs_diff(now_ms) > GENESIS_CLOCK_SKEW_MS);
            }
            other => panic!("a genesis created at {created_at_ms} ms was not refused: {other:?}"),
        }
    }
    let error = create(&host, at(0, 3)).await.unwrap_err().to_string();
    assert!(error.contains("before this host's clock"), "{error}");
    assert!(
        error.contains("build it again with the current time"),
        "{error}"
    );
    let error = create(&host, at(now_ms() + 2 * GENESIS_CLOCK_SKEW_MS, 4))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("after this host's clock"), "{error}");

    for (salt, created_at_ms) in [
        (5, now_ms() - GENESIS_CLOCK_SKEW_MS + slack),
        (6, now_ms() + GENESIS_CLOCK_SKEW_MS - slack),
    ] {
        let genesis = at(created_at_ms, salt);
        assert_eq!(
            create(&host, genesis.clone()).await,
            Ok(genesis.genesis.chain_id())
        );
    }
    assert_eq!(host.handle.store.chain_count().unwrap(), 2);
    host.stop().await.unwrap();
}

/// More strangers' transfers than the chain's mempool holds — from keys that hold nothing,
/// of more than exists, with nonces next or far ahead — are all refused with their reason,
/// and a funded holder's transfer still commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unfunded_transfers_leaves_room_for_a_holder() {
    let dir = tempfile::tempdir().unwrap();
    let (owner, holder) = (key(2), key(3));
    let key = key(1);
    let places = 32;
    let host = lone_host(dir.path(), &key, |config| {
        config.limits.mempool_txs_per_chain = places;
    });
    let genesis = genesis_now(&owner, &[(key.host_id(), 1)], 0);
    let chain = create(&host, genesis).await.unwrap();
    commit(&host, mint(chain, &owner, 1, &holder, 100)).await;

    let flood = 2 * places as u64;
    for i in 0..flood {
        let mut seed = [0xee; 32];
        seed[..8].copy_from_slice(&i.to_le_bytes());
        let stranger = SecretKey::from_seed(seed);
        let nonce = if i % 2 == 0 { 1 } else { 1_000_000_000_000 };
        let tx = transfer(chain, &stranger, nonce, &holder, 1_000_000_000_000_000);
        match submit(&host, tx).await {
            Err(SubmitError::Admit(AdmitError::UnknownSender { sender, .. })) => {
                assert_eq!(nonce, 1);
                assert_eq!(sender, stranger.address());
            }
            Err(SubmitError::Admit(AdmitError::NonceTooFar { got, next })) => {
                assert_eq!((got, next), (nonce, 1));
            }
            other => panic!("a stranger's transfer was answered {other:?}"),
        }
    }
    let height = commit(&host, transfer(chain, &holder, 1, &owner, 40)).await;
    assert_eq!(height, Height(2));
    let metrics = host.handle.metrics.render();
    for reason in ["unknown_sender", "nonce_too_far"] {
        let line = format!(
            "myriad_admit_refusals_total{{reason=\"{reason}\",origin=\"client\"}} {}",
            flood / 2
        );
        assert!(metrics.contains(&line), "no `{line}` in\n{metrics}");
    }
    host.stop().await.unwrap();
}

/// A transaction behind a nonce gap waits without starting a height: one would only run
/// rounds without a proposal (nothing can go in a block) until the gap fills or it expires.
/// Once the missing nonce arrives, both commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_behind_a_nonce_gap_starts_no_height() {
    let dir = tempfile::tempdir().unwrap();
    let (owner, holder) = (key(2), key(3));
    let key = key(1);
    let host = quick_host(dir.path(), &key);
    let chain = create(&host, genesis_now(&owner, &[(key.host_id(), 1)], 0))
        .await
        .unwrap();
    commit(&host, mint(chain, &owner, 1, &holder, 100)).await;
    // The first height's timers run out.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = timeouts_fired(&host);

    let gapped = transfer(chain, &holder, 2, &owner, 10);
    assert!(matches!(
        submit(&host, gapped).await,
        Ok(TxStatus::Pending { .. })
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        timeouts_fired(&host),
        before,
        "rounds ran for a transaction that cannot go in a block"
    );
    let metrics = host.handle.metrics.render();
    assert!(
        metrics.contains("myriad_blocks_committed_total 1\n"),
        "{metrics}"
    );

    commit(&host, transfer(chain, &holder, 1, &owner, 10)).await;
    let height = commit(&host, transfer(chain, &holder, 3, &owner, 10)).await;
    assert!(
        height >= Height(3),
        "nonce 3 commits after 1 and 2, at {height:?}"
    );
    host.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_that_lost_its_escrow_is_refused_as_the_winning_block_decides() {
    let dir = tempfile::tempdir().unwrap();
    let (owner, maker, taker, watcher) = (key(2), key(3), key(4), key(5));
    let key = key(1);
    let host = quick_host(dir.path(), &key);
    let chain = create(&host, genesis_now(&owner, &[(key.host_id(), 1)], 0))
        .await
        .unwrap();
    commit(&host, mint(chain, &owner, 1, &maker, 100)).await;
    let secret = Secret([7; 32]);
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let lock = TxKind::Lock {
        to: taker.address(),
        amount: 40,
        hash_lock: secret.hash_lock(),
        expires_at_ms: now_ms + 120_000,
        memo: Memo::default(),
    };
    commit(&host, tx(chain, &maker, 1, lock)).await;
    let escrow = EscrowId::derive(&chain, &maker.address(), 1);

    // The taker and a watcher claim the one escrow at once: one claim wins, and the other
    // is refused when that block decides, with its reason, holding no height open.
    let claim = TxKind::Claim { escrow, secret };
    let mut answers = Vec::new();
    for claimer in [&taker, &watcher] {
        let (reply, answer) = oneshot::channel();
        let tx = tx(chain, claimer, 1, claim.clone());
        assert!(host.handle.send(Command::Submit {
            tx,
            wait: true,
            reply
        }));
        answers.push(answer);
    }
    let mut committed = 0;
    for answer in answers {
        match answer.await.unwrap().unwrap() {
            TxStatus::Committed { .. } => committed += 1,
            TxStatus::Rejected { reason, .. } => {
                assert!(reason.contains("is already claimed"), "{reason}");
            }
            other => panic!("neither committed nor refused: {other:?}"),
        }
    }
    assert_eq!(committed, 1);
    // The winning claim's height's timers run out; then nothing runs.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = timeouts_fired(&host);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        timeouts_fired(&host),
        before,
        "rounds ran for a claim that can never apply"
    );
    host.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_host_catches_up_by_block_sync() {
    let dir = tempfile::tempdir().unwrap();
    let network = MemoryNetwork::new();
    let keys = keys(4);
    let mut hosts = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let data_dir = dir.path().join(format!("host{i}"));
        hosts.push(memory_host(&data_dir, &network, key, |_| {}));
    }
    let owner = key(9);
    let genesis = genesis_now(
        &owner,
        &keys.iter().map(|k| (k.host_id(), 1)).collect::<Vec<_>>(),
        0,
    );
    let chain = genesis.genesis.chain_id();
    assert_eq!(create(&hosts[0], genesis).await, Ok(chain));
    let height_of = |host: &RunningHost| {
        host.handle
            .store
            .chain_head(&chain)
            .unwrap()
            .map(|h| h.meta.height.0)
    };
    for host in &hosts {
        while height_of(host).is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    assert_eq!(
        commit(&hosts[0], mint(chain, &owner, 1, &owner, 1)).await,
        Height(1)
    );
    // Host 3 is cut off; three of four still commit.
    network.set_isolated(keys[3].host_id(), true);
    for nonce in 2..=6 {
        commit(&hosts[0], mint(chain, &owner, nonce, &owner, 1)).await;
    }
    let top = height_of(&hosts[0]).unwrap();
    assert!(height_of(&hosts[3]).unwrap() < top);
    // Joined again, it learns of the missing blocks from the next round's messages.
    network.set_isolated(keys[3].host_id(), false);
    let next = commit(&hosts[1], mint(chain, &owner, 7, &owner, 1)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while [&hosts[0], &hosts[3]]
        .iter()
        .any(|host| height_of(host).unwrap() < next.0)
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "host 3 never caught up, or host 0 never committed the block host 1 did"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for h in 1..=next.0 {
        let block = |host: &RunningHost| {
            host.handle
                .store
                .block(&chain, Height(h))
                .unwrap()
                .unwrap()
                .hash()
        };
        assert_eq!(block(&hosts[3]), block(&hosts[0]), "height {h}");
    }
    assert!(network.penalties().is_empty(), "{:?}", network.penalties());
    for host in hosts {
        host.stop().await.unwrap();
    }
}
