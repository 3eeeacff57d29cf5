//! Hosts over the in-memory transport: a host cut off from the others falls behind, and
//! once joined again it catches up by block sync and validates the next block.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use myriad_host::{Command, CreateError, HostConfig, Overrides, Policy, RunningHost, TxStatus};
use myriad_net::MemoryNetwork;
use myriad_store::RedbStore;
use myriad_types::{
    BoundedVec, ChainId, Genesis, Height, SecretKey, SignedGenesis, SignedTransaction, Symbol,
    Transaction, TxKind, Validator,
};
use tokio::sync::oneshot;

fn mint(chain: ChainId, owner: &SecretKey, nonce: u64) -> SignedTransaction {
    let tx = Transaction {
        chain_id: chain,
        sender: owner.address(),
        nonce,
        kind: TxKind::Mint {
            to: owner.address(),
            amount: 1,
        },
    };
    SignedTransaction::sign(tx, owner)
}

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

fn genesis(owner: &SecretKey, hosts: &[&SecretKey], salt: u64) -> SignedGenesis {
    let validators = hosts
        .iter()
        .map(|k| Validator {
            host: k.host_id(),
            power: 1,
        })
        .collect();
    SignedGenesis::sign(
        Genesis {
            owner: owner.address(),
            symbol: Symbol::new("MEM").unwrap(),
            decimals: 0,
            max_supply: None,
            validators: BoundedVec::new(validators).unwrap(),
            created_at_ms: 0,
            salt,
        },
        owner,
    )
}

async fn create(host: &RunningHost, genesis: SignedGenesis) -> Result<ChainId, CreateError> {
    let (reply, answer) = oneshot::channel();
    assert!(host.handle.send(Command::CreateChain { genesis, reply }));
    answer.await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_policy_decides_which_chains_it_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let key = SecretKey::from_seed([1; 32]);
    let (welcome, stranger) = (SecretKey::from_seed([2; 32]), SecretKey::from_seed([3; 32]));
    let overrides = Overrides {
        data_dir: Some(dir.path().to_owned()),
        ..Overrides::default()
    };
    let mut config = HostConfig::load(None, overrides).unwrap();
    config.policy = Policy {
        owners: Some(vec![welcome.address()]),
        chains_max: Some(1),
    };
    let store = Arc::new(RedbStore::open(&config.store_path()).unwrap());
    let (transport, inbound) = MemoryNetwork::new().join(key.host_id());
    let host =
        RunningHost::start(config, key.clone(), store, Arc::new(transport), inbound).unwrap();
    let other = SecretKey::from_seed([4; 32]);
    assert_eq!(
        create(&host, genesis(&welcome, &[&other], 0)).await,
        Err(CreateError::NotNamed(key.host_id()))
    );
    assert_eq!(
        create(&host, genesis(&stranger, &[&key], 0)).await,
        Err(CreateError::OwnerRefused(stranger.address().to_string()))
    );
    let first = genesis(&welcome, &[&key], 0);
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
        create(&host, genesis(&welcome, &[&key], 1)).await,
        Err(CreateError::Full(1))
    );
    assert_eq!(host.handle.store.chain_count().unwrap(), 1);
    host.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_host_catches_up_by_block_sync() {
    let dir = tempfile::tempdir().unwrap();
    let network = MemoryNetwork::new();
    let keys: Vec<SecretKey> = (0..4).map(|i| SecretKey::from_seed([i + 1; 32])).collect();
    let mut hosts = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let data_dir = dir.path().join(format!("host{i}"));
        std::fs::create_dir_all(&data_dir).unwrap();
        let overrides = Overrides {
            data_dir: Some(data_dir),
            tick_ms: Some(5),
            ..Overrides::default()
        };
        let config = HostConfig::load(None, overrides).unwrap();
        let store = Arc::new(RedbStore::open(&config.store_path()).unwrap());
        let (transport, inbound) = network.join(key.host_id());
        hosts.push(
            RunningHost::start(config, key.clone(), store, Arc::new(transport), inbound).unwrap(),
        );
    }
    let owner = SecretKey::from_seed([9; 32]);
    let genesis = genesis(&owner, &keys.iter().collect::<Vec<_>>(), 0);
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

    assert_eq!(commit(&hosts[0], mint(chain, &owner, 1)).await, Height(1));
    // Host 3 is cut off; three of four still commit.
    network.set_isolated(keys[3].host_id(), true);
    for nonce in 2..=6 {
        commit(&hosts[0], mint(chain, &owner, nonce)).await;
    }
    let top = height_of(&hosts[0]).unwrap();
    assert!(height_of(&hosts[3]).unwrap() < top);
    // Joined again, it learns of the missing blocks from the next round's messages.
    network.set_isolated(keys[3].host_id(), false);
    let next = commit(&hosts[1], mint(chain, &owner, 7)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while height_of(&hosts[3]).unwrap() < next.0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "host 3 never caught up"
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
