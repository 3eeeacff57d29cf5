//! The order book over the in-memory transport: quotes gossiped to the hosts that share a
//! chain of their pair (and only those), newer quotes replacing older ones everywhere, and a
//! flood of quotes from one peer (valid, expired, forged, malformed) that leaves the book
//! serving the other pairs' best quotes and gets the peer penalized.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use myriad_host::{Admission, BookError, Command, Limits, Pair, QuoteRefused, RunningHost};
use myriad_net::{ChainMsg, Envelope, MemoryNetwork, Msg, Transport};
use myriad_testing::{genesis_now, key, keys, quote};
use myriad_types::{BoundedVec, ChainId, Rate, SecretKey, SignedQuote};
use tokio::sync::oneshot;

use common::memory_host;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn host(dir: &Path, network: &MemoryNetwork, key: &SecretKey, limits: Limits) -> RunningHost {
    memory_host(dir, network, key, |config| config.limits = limits)
}

async fn post(host: &RunningHost, quote: SignedQuote) -> Result<Admission, QuoteRefused> {
    let (reply, answer) = oneshot::channel();
    assert!(host.handle.send(Command::Quote { quote, reply }));
    answer.await.unwrap()
}

/// The rates of a pair's live quotes at `host`, best first.
fn rates(host: &RunningHost, give: ChainId, get: ChainId) -> Vec<Rate> {
    let (live, _) =
        host.handle
            .book
            .lock()
            .unwrap()
            .best(&Pair { give, get }, now_ms(), usize::MAX);
    live.iter().map(|q| q.quote.rate).collect()
}

async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts hosts 0–2 and chains A (hosts 0, 1), B (hosts 1, 2) and C (host 2).
async fn network(
    dir: &std::path::Path,
    limits: Limits,
) -> (MemoryNetwork, Vec<RunningHost>, [ChainId; 3]) {
    let network = MemoryNetwork::new();
    let keys = keys(3);
    let hosts: Vec<RunningHost> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let dir = dir.join(format!("host{i}"));
            host(&dir, &network, key, limits.clone())
        })
        .collect();
    let owner = key(9);
    let mut chains = Vec::new();
    for (salt, validators) in [[0, 1].as_slice(), &[1, 2], &[2]].into_iter().enumerate() {
        let set: Vec<_> = validators.iter().map(|&i| (keys[i].host_id(), 1)).collect();
        let genesis = genesis_now(&owner, &set, salt as u64);
        let chain = genesis.genesis.chain_id();
        let (reply, answer) = oneshot::channel();
        hosts[validators[0]]
            .handle
            .send(Command::CreateChain { genesis, reply });
        assert_eq!(answer.await.unwrap(), Ok(chain));
        for &i in validators {
            let store = hosts[i].handle.store.clone();
            eventually("every validator holds its chain", || {
                store.chain_head(&chain).unwrap().is_some()
            })
            .await;
        }
        chains.push(chain);
    }
    (network, hosts, [chains[0], chains[1], chains[2]])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_reach_the_hosts_that_share_their_chains_and_newer_ones_replace_older() {
    let dir = tempfile::tempdir().unwrap();
    let (network, hosts, [a, b, c]) = network(dir.path(), Limits::default()).await;
    let exchanger = key(20);
    let expires = now_ms() + 60_000;

    // Host 0 validates A: it takes A → C and sends it to host 1, which shares A. Nobody who
    // validates A shares a chain with host 2, so C's host never hears of it: an exchanger
    // posts its quotes to a host of each of its chains.
    assert_eq!(
        post(&hosts[0], quote(&exchanger, (a, c), (10, 20), 1, expires)).await,
        Ok(Admission::Added)
    );
    eventually("host 1 has A → C", || rates(&hosts[1], a, c).len() == 1).await;
    // A → B travels from host 0 to host 1 (A), and from host 1 to host 2 (B).
    assert_eq!(
        post(&hosts[0], quote(&exchanger, (a, b), (10, 20), 1, expires)).await,
        Ok(Admission::Added)
    );
    eventually("host 2 has A → B", || rates(&hosts[2], a, b).len() == 1).await;
    assert!(rates(&hosts[2], a, c).is_empty());
    // A newer quote replaces the older on every host.
    assert_eq!(
        post(&hosts[2], quote(&exchanger, (a, b), (10, 18), 2, expires)).await,
        Ok(Admission::Replaced)
    );
    for host in &hosts {
        eventually("the newer quote everywhere", || {
            rates(host, a, b) == [Rate { give: 10, get: 18 }]
        })
        .await;
    }
    // An older one is refused, naming the sequence held.
    assert_eq!(
        post(&hosts[1], quote(&exchanger, (a, b), (10, 30), 1, expires)).await,
        Err(QuoteRefused::Book(BookError::NotNewer { held: 2, got: 1 }))
    );
    // A pair of chains host 0 does not validate.
    let elsewhere = ChainId([77; 32]);
    assert_eq!(
        post(
            &hosts[0],
            quote(&exchanger, (c, elsewhere), (1, 1), 1, expires)
        )
        .await,
        Err(QuoteRefused::NotHosted {
            give: c,
            get: elsewhere
        })
    );
    // A forged signature.
    let mut forged = quote(&exchanger, (a, b), (10, 99), 3, expires);
    forged.quote.rate.get = 98;
    assert_eq!(
        post(&hosts[0], forged).await,
        Err(QuoteRefused::BadSignature)
    );
    // A quote that expires soon leaves every book when it does.
    let brief = quote(&key(21), (a, b), (10, 50), 1, now_ms() + 300);
    post(&hosts[1], brief).await.unwrap();
    eventually("the brief quote is gone everywhere", || {
        hosts
            .iter()
            .all(|host| rates(host, a, b) == [Rate { give: 10, get: 18 }])
    })
    .await;
    assert!(network.penalties().is_empty(), "{:?}", network.penalties());
    for host in hosts {
        host.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_quotes_from_one_peer_leaves_the_best_quotes_of_other_pairs_served() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        book_quotes: 400,
        book_quotes_per_exchanger: 50,
        ..Limits::default()
    };
    let (network, hosts, [a, b, c]) = network(dir.path(), limits).await;
    let honest = key(30);
    let expires = now_ms() + 60_000;
    post(&hosts[1], quote(&honest, (a, b), (10, 20), 1, expires))
        .await
        .unwrap();
    post(&hosts[1], quote(&honest, (b, a), (20, 9), 1, expires))
        .await
        .unwrap();
    eventually("host 0 has A → B", || rates(&hosts[0], a, b).len() == 1).await;

    // Mallory, a peer, sends host 0 under chain A: valid quotes of 40 exchangers for many
    // pairs with A (2,000), poor ones for A → B, expired ones, malformed ones and forged ones.
    let mallory = key(40);
    let (transport, _inbound) = network.join(mallory.host_id());
    let mut items = Vec::new();
    for n in 0..2_000u32 {
        let exchanger = key(100 + (n % 40) as u8);
        let mut other = [0u8; 32];
        other[..4].copy_from_slice(&n.to_be_bytes());
        items.push(quote(&exchanger, (a, ChainId(other)), (1, 1), 1, expires));
    }
    for n in 0..100u8 {
        items.push(quote(&key(n), (a, b), (10, 1), 1, expires));
        items.push(quote(&key(n), (a, c), (10, 30), 1, now_ms() - 1));
        let mut malformed = quote(&key(n), (a, b), (10, 30), 2, expires);
        malformed.quote.min_give = 0;
        items.push(malformed);
    }
    let mut forged = quote(&key(41), (a, b), (10, 90), 1, expires);
    forged.quote.rate.get = 91;
    items.push(forged);
    for chunk in items.chunks(500) {
        let envelope = Envelope {
            items: BoundedVec::new(
                chunk
                    .iter()
                    .map(|q| ChainMsg {
                        chain: a,
                        msg: Msg::Quote(q.clone()),
                    })
                    .collect(),
            )
            .unwrap(),
        };
        transport.send(hosts[0].handle.host, envelope).unwrap();
    }
    eventually("mallory penalized", || {
        network
            .penalties()
            .iter()
            .any(|(by, against, _)| *by == hosts[0].handle.host && *against == mallory.host_id())
    })
    .await;
    let book = hosts[0].handle.book.clone();
    eventually("the flood handled", || book.lock().unwrap().len() >= 400).await;

    // The book is full and bounded; the honest quotes are served first, as they were.
    assert_eq!(book.lock().unwrap().len(), 400);
    assert_eq!(rates(&hosts[0], a, b)[0], Rate { give: 10, get: 20 });
    assert!(!rates(&hosts[0], a, b).contains(&Rate { give: 10, get: 90 }));
    assert!(!rates(&hosts[0], a, b).contains(&Rate { give: 10, get: 30 }));
    assert!(rates(&hosts[0], a, c).is_empty());
    assert_eq!(rates(&hosts[0], b, a), [Rate { give: 20, get: 9 }]);
    // A full book still takes an exchanger's newer quote for a pair it quotes.
    assert_eq!(
        post(&hosts[0], quote(&honest, (a, b), (10, 21), 2, expires)).await,
        Ok(Admission::Replaced)
    );
    assert_eq!(rates(&hosts[0], a, b)[0], Rate { give: 10, get: 21 });
    let metrics = hosts[0].handle.metrics.render();
    for reason in ["expired", "full", "invalid", "signature"] {
        assert!(
            metrics.contains(&format!("reason=\"{reason}\",origin=\"peer\"")),
            "no peer refusal counted as {reason}:\n{metrics}"
        );
    }
    for host in hosts {
        host.stop().await.unwrap();
    }
}
