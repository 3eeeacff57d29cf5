//! An exchanger against one in-process host with two chains, pass by pass: a lock recorded
//! in its journal but never sent (a crash in between) is sent again after a restart, the
//! same transaction, never another; pricing from the reference rate less a spread; quotes
//! sized by inventory, and a pair left unquoted once its payout chain is spent down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::Ordering;

use myriad_client::client::Client;
use myriad_client::genesis::now_ms;
use myriad_client::transaction::SendOptions;
use myriad_exchanger::{Exchanger, ExchangerConfig, InventoryConfig, Journal, PairConfig, Record};
use myriad_node::Node;
use myriad_testing::{config, create_chain, genesis_now, key, mint, quote, specs, submit};
use myriad_types::{
    ChainId, EscrowId, EscrowState, Memo, Secret, SecretKey, SignedTransaction, Transaction, TxKind,
};

const WAIT: SendOptions = SendOptions {
    wait: true,
    nonce: None,
};

struct Setup {
    runtime: tokio::runtime::Runtime,
    node: Option<Node>,
    api: std::net::SocketAddr,
    client: Client,
    a: ChainId,
    b: ChainId,
    owner: SecretKey,
    dir: tempfile::TempDir,
}

impl Setup {
    /// One host validating chains A and B (2 decimals each), the desk funded with 30.00 B.
    fn start(desk: &SecretKey) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let specs = specs(dir.path(), 1);
        let node = runtime.block_on(Node::start(config(&specs, 0))).unwrap();
        let api = node.api_address;
        let owner = key(40);
        let mut chains = Vec::new();
        for salt in 0..2 {
            let signed = genesis_now(&owner, &[(specs[0].host(), 1)], 100 + salt);
            assert_eq!(create_chain(api, &signed).0, 201);
            chains.push(signed.genesis.chain_id());
        }
        let (a, b) = (chains[0], chains[1]);
        let (status, body) = submit(api, &mint(b, &owner, 1, desk, 3_000), true);
        assert_eq!(status, 200, "{body}");
        Setup {
            runtime,
            node: Some(node),
            api,
            client: Client::new(&api.to_string()),
            a,
            b,
            owner,
            dir,
        }
    }

    fn config(&self, pair: PairConfig, reserve: &str) -> ExchangerConfig {
        ExchangerConfig {
            wallet: self.dir.path().join("unused-wallet.json"),
            passphrase_file: None,
            key: "desk".into(),
            hosts: vec![self.client.url().to_owned()],
            journal: self.dir.path().join("desk.journal"),
            status: "127.0.0.1:0".parse().unwrap(),
            refresh_ms: 1,
            quote_lifetime_ms: 60_000,
            poll_ms: 10,
            swap_ms_max: 3_600_000,
            pairs: vec![pair],
            inventory: vec![InventoryConfig {
                chain: self.b,
                reserve: reserve.into(),
            }],
        }
    }

    fn pair(&self, rate: Option<&str>, spread_bps: Option<u32>, min: &str) -> PairConfig {
        PairConfig {
            give: self.a,
            get: self.b,
            rate: rate.map(str::to_owned),
            spread_bps,
            min: min.into(),
            max: "50".into(),
        }
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(node) = self.node.take() {
            let _ = self.runtime.block_on(node.stop());
        }
    }
}

#[test]
fn a_recorded_lock_is_sent_again_after_a_crash_and_never_another() {
    let desk = key(41);
    let setup = Setup::start(&desk);
    let (a, b) = (setup.a, setup.b);
    let holder = key(42);
    let (status, body) = submit(setup.api, &mint(a, &setup.owner, 1, &holder, 10_000), true);
    assert_eq!(status, 200, "{body}");
    let config = setup.config(setup.pair(Some("0.5"), None, "1"), "10");
    let exchanger = Exchanger::open(config.clone(), desk.clone()).unwrap();

    // Pass 1 publishes the quote; the holder takes it.
    exchanger.pass().unwrap();
    let quotes = setup.client.quotes(&a, &b, 5).unwrap();
    assert_eq!(quotes.len(), 1);
    let quote = &quotes[0];
    assert_eq!(quote.quote.exchanger, desk.address());
    let secret = Secret([5; 32]);
    let lock = TxKind::Lock {
        to: quote.quote.give_account,
        amount: 1_000,
        hash_lock: secret.hash_lock(),
        expires_at_ms: now_ms() + 600_000,
        memo: Memo::new(quote.hash().0.to_vec()).unwrap(),
    };
    let sent = setup.client.send(&a, &holder, lock, WAIT).unwrap();
    assert_eq!(sent.status.status, "committed");
    let escrow = EscrowId::derive(&a, &holder.address(), sent.nonce);
    // Pass 2 takes the swap (the lock is for the next pass).
    exchanger.pass().unwrap();
    let status = exchanger.status();
    assert_eq!(status.swaps.len(), 1);
    assert_eq!(status.swaps[0].payout, "500");
    assert_eq!(status.swaps[0].counter, None);
    exchanger.stop();
    drop(exchanger);

    // The crash: its lock recorded, never sent.
    let lock = SignedTransaction::sign(
        Transaction {
            chain_id: b,
            sender: desk.address(),
            nonce: 1,
            kind: TxKind::Lock {
                to: holder.address(),
                amount: 500,
                hash_lock: secret.hash_lock(),
                expires_at_ms: now_ms() + 300_000,
                memo: Memo::default(),
            },
        },
        &desk,
    );
    let (mut journal, _) = Journal::open(&config.journal).unwrap();
    journal
        .append(&[Record::Lock {
            escrow,
            tx: lock.clone(),
        }])
        .unwrap();
    drop(journal);

    // After the restart: that very lock is sent, and no other.
    let exchanger = Exchanger::open(config, desk.clone()).unwrap();
    exchanger.pass().unwrap();
    let counter = EscrowId::derive(&b, &desk.address(), 1);
    let info = setup.client.chain(&b).unwrap();
    let locked = setup.client.committed_escrow(&b, &info, &counter).unwrap();
    assert_eq!((locked.amount, locked.to), (500, holder.address()));
    assert_eq!(
        locked.expires_at_ms,
        match &lock.tx.kind {
            TxKind::Lock { expires_at_ms, .. } => *expires_at_ms,
            _ => unreachable!(),
        }
    );
    exchanger.pass().unwrap();
    let locks = |who: &SecretKey| {
        setup
            .client
            .history(&b, &who.address(), None, 100)
            .unwrap()
            .txs
            .iter()
            .filter(|e| e.tx.kind == "lock" && e.tx.sender == who.address().to_string())
            .count()
    };
    assert_eq!(locks(&desk), 1);
    assert_eq!(
        exchanger.status().swaps[0].counter,
        Some(counter.to_string())
    );

    // The holder claims with her secret; the exchanger claims hers with it.
    let claim = TxKind::Claim {
        escrow: counter,
        secret,
    };
    assert_eq!(
        setup
            .client
            .send(&b, &holder, claim, WAIT)
            .unwrap()
            .status
            .status,
        "committed"
    );
    exchanger.pass().unwrap();
    let info = setup.client.chain(&a).unwrap();
    let claimed = setup.client.committed_escrow(&a, &info, &escrow).unwrap();
    assert!(matches!(claimed.state, EscrowState::Claimed { .. }));
    assert!(exchanger.status().swaps.is_empty());
    assert_eq!(exchanger.stats().claims.load(Ordering::Relaxed), 1);
    assert_eq!(exchanger.stats().swaps_done.load(Ordering::Relaxed), 1);
    assert_eq!(locks(&desk), 1);
}

#[test]
fn quotes_follow_the_reference_rate_less_the_spread_within_the_inventory() {
    let desk = key(51);
    let setup = Setup::start(&desk);
    let (a, b) = (setup.a, setup.b);
    // Without another's quote there is no reference: nothing is quoted.
    let config = setup.config(setup.pair(None, Some(100), "1"), "10");
    let exchanger = Exchanger::open(config, desk.clone()).unwrap();
    exchanger.pass().unwrap();
    assert!(exchanger.status().quotes.is_empty());
    assert_eq!(exchanger.stats().pairs_skipped.load(Ordering::Relaxed), 1);

    // Another exchanger quotes 0.5; this one quotes 1% below it, for at most what 20.00 B
    // above its reserve pays: 40.40 A.
    let other = quote(&key(52), (a, b), (2, 1), 1, now_ms() + 60_000);
    setup.client.post_quote(&other).unwrap();
    exchanger.pass().unwrap();
    let status = exchanger.status();
    assert_eq!(status.quotes.len(), 1, "{status:?}");
    assert_eq!(status.quotes[0].price, "0.495000000000");
    assert_eq!(status.quotes[0].max_give, "4040");
    assert_eq!(status.inventory[0].available, "2000");
    drop(exchanger);

    // A reserve that leaves less than the least swap pays: the pair is not quoted.
    let config = setup.config(setup.pair(None, Some(100), "20"), "25");
    let exchanger = Exchanger::open(config, desk).unwrap();
    exchanger.pass().unwrap();
    let live: Vec<_> = exchanger
        .status()
        .quotes
        .into_iter()
        .filter(|q| q.min_give == "2000")
        .collect();
    assert!(live.is_empty(), "{live:?}");
    assert_eq!(exchanger.stats().pairs_skipped.load(Ordering::Relaxed), 1);
}
