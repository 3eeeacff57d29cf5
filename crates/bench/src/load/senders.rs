//! The chains under load and the accounts that send on them: how many senders each chain is
//! given for its share of the load, their funding by the chain's owner, and the schedule of a
//! step's transactions over them (see the `load` module's documentation).

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{bail, Result};
use myriad_api_types::SubmitResult;
use myriad_client::client::Client;
use myriad_host::SENDER_TXS_MAX;
use myriad_types::{
    encode, Address, Amount, ChainId, Hash, Memo, SecretKey, SignedTransaction, Transaction, TxKind,
};
use rand_chacha::rand_core::RngCore;

/// The finality the schedule plans for: a sender is given at most [`SENDER_TXS_MAX`]
/// transactions (what admission holds pending for it) due within any span this long.
pub const FINALITY_PLANNED: Duration = Duration::from_secs(1);
/// The transactions one sender is planned to carry per [`FINALITY_PLANNED`]: half of what
/// admission holds pending for it, which leaves room for the bursts of a random draw.
pub const SENDER_TXS_PLANNED: usize = SENDER_TXS_MAX / 2;
/// The most senders one chain is given; what a hotter chain would need beyond them shows as
/// the bench's own limit (transactions not sent because every sender was full).
pub const SENDERS_PER_CHAIN_MAX: usize = 4096;
/// What the owner mints each sender it funds: more than all the transfers of a run (each
/// moves one unit).
const SENDER_FUNDS: Amount = 1 << 40;
/// The key index of a chain's owner among the senders.
const OWNER: usize = 0;
/// The account every load transaction pays.
const RECIPIENT: Address = Address([9; 32]);

/// How many senders a chain with `share` of the load needs at `rate` transactions per second:
/// its transactions per [`FINALITY_PLANNED`] over [`SENDER_TXS_PLANNED`], at least one (the
/// owner), at most [`SENDERS_PER_CHAIN_MAX`].
pub fn senders_wanted(share: f64, rate: f64) -> usize {
    let per_finality = share * rate * FINALITY_PLANNED.as_secs_f64();
    ((per_finality / SENDER_TXS_PLANNED as f64).ceil() as usize).clamp(1, SENDERS_PER_CHAIN_MAX)
}

/// Sender `key`'s secret (`key` ≥ 1): a fixed seed of its number. The senders hold only what
/// the bench mints them on its own devnet.
fn sender_key(key: usize) -> SecretKey {
    let mut seed = [0x5e; 32];
    seed[..8].copy_from_slice(&(key as u64).to_le_bytes());
    SecretKey::from_seed(seed)
}

/// One live sender of one chain.
#[derive(Debug)]
struct Sender {
    key: usize,
    next_nonce: u64,
    /// When this step's transactions of it within the last [`FINALITY_PLANNED`] are due, in
    /// seconds from the step's start; at most [`SENDER_TXS_MAX`].
    recent: VecDeque<f64>,
}

impl Sender {
    fn new(key: usize) -> Sender {
        Sender {
            key,
            next_nonce: 1,
            recent: VecDeque::with_capacity(SENDER_TXS_MAX),
        }
    }

    /// Takes a transaction due at `due` seconds if it keeps within [`SENDER_TXS_MAX`] due
    /// within [`FINALITY_PLANNED`]; answers its nonce.
    fn take(&mut self, due: f64) -> Option<u64> {
        while self
            .recent
            .front()
            .is_some_and(|first| due - first >= FINALITY_PLANNED.as_secs_f64())
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= SENDER_TXS_MAX {
            return None;
        }
        self.recent.push_back(due);
        self.next_nonce += 1;
        Some(self.next_nonce - 1)
    }
}

/// One transaction of a step's schedule, before it is signed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Planned {
    /// Its place in the step: it is due at `index / rate` seconds from the start.
    pub index: usize,
    pub chain: usize,
    /// Its sender's key index (0: the chain's owner).
    pub key: usize,
    pub nonce: u64,
}

/// One transaction signed and ready to send.
pub struct Prepared {
    pub planned: Planned,
    pub host: usize,
    pub hash: Hash,
    pub hex: String,
}

/// Picks by weight (a Zipf law over the chains' ranks) with one uniform draw.
struct Picker {
    cdf: Vec<f64>,
}

impl Picker {
    fn new(weights: impl Iterator<Item = f64>) -> Picker {
        let mut total = 0.0;
        let cdf: Vec<f64> = weights
            .map(|weight| {
                total += weight;
                total
            })
            .collect();
        Picker {
            cdf: cdf.into_iter().map(|c| c / total).collect(),
        }
    }

    /// The index picked by a uniform draw in [0, 1).
    fn pick(&self, uniform: f64) -> usize {
        self.cdf
            .partition_point(|c| *c <= uniform)
            .min(self.cdf.len().saturating_sub(1))
    }
}

fn uniform(rng: &mut impl RngCore) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// The chains under load: where each one's transactions go, its share of the load, and its
/// senders.
pub struct Chains {
    ids: Vec<ChainId>,
    /// Index of the host whose API takes the chain's transactions.
    host: Vec<usize>,
    /// The chain's Zipf weight, 1 / rank^zipf (chain `i` has rank `i + 1`).
    weight: Vec<f64>,
    /// The chain's live senders, in key order (the owner first while it is live). A sender
    /// with a transaction that failed may hold a nonce gap, and is retired.
    senders: Vec<Vec<Sender>>,
    /// The next of the chain's senders in turn.
    turn: Vec<usize>,
    /// The keys given to the chain so far (the owner's included): keys `0..funded`.
    funded: Vec<usize>,
    /// Chains with a live sender, in rank order.
    live: Vec<usize>,
    /// The secret of each key index: the owner's, then the senders'.
    keys: Vec<SecretKey>,
}

impl Chains {
    /// Chains `ids` (in rank order), each sent to its host, with `zipf` as the exponent of
    /// their shares, each with its owner as its only sender.
    pub fn new(ids: Vec<ChainId>, host: Vec<usize>, zipf: f64, owner: SecretKey) -> Chains {
        let count = ids.len();
        Chains {
            weight: (1..=count).map(|rank| (rank as f64).powf(-zipf)).collect(),
            senders: (0..count).map(|_| vec![Sender::new(OWNER)]).collect(),
            turn: vec![0; count],
            funded: vec![1; count],
            live: (0..count).collect(),
            keys: vec![owner],
            ids,
            host,
        }
    }

    /// How many senders each chain is to have at `rate` (0 for a retired chain), by its share
    /// of the live chains' weight.
    pub fn senders_wanted(&self, rate: f64) -> Vec<usize> {
        let total: f64 = self.live.iter().map(|c| self.weight[*c]).sum();
        let mut wanted = vec![0; self.ids.len()];
        for chain in &self.live {
            wanted[*chain] = senders_wanted(self.weight[*chain] / total, rate);
        }
        wanted
    }

    /// The owner's mints of one round of funding: for each chain short of its `wanted`
    /// senders whose owner is live, up to [`SENDER_TXS_MAX`] of them (the most admission holds
    /// pending for the owner), with the chain and the key funded.
    fn funding_round(&mut self, wanted: &[usize]) -> Vec<Mint> {
        let mut mints = Vec::new();
        for chain in self.live.clone() {
            let first = self.funded[chain];
            let last = wanted[chain].min(first + SENDER_TXS_MAX);
            while self.keys.len() < last {
                self.keys.push(sender_key(self.keys.len()));
            }
            let Some(owner) = self.senders[chain].first_mut().filter(|s| s.key == OWNER) else {
                continue;
            };
            for key in first..last {
                let tx = Transaction {
                    chain_id: self.ids[chain],
                    sender: self.keys[OWNER].address(),
                    nonce: owner.next_nonce,
                    kind: TxKind::Mint {
                        to: self.keys[key].address(),
                        amount: SENDER_FUNDS,
                    },
                };
                owner.next_nonce += 1;
                mints.push((chain, key, SignedTransaction::sign(tx, &self.keys[OWNER])));
            }
        }
        mints
    }

    /// Funds senders until each live chain whose owner is live has the senders its share of
    /// `rate` needs: the owner mints to them in rounds (see [`Chains::funding_round`]), sent
    /// in batches to each chain's host, each round waiting for its commits. Answers how many
    /// senders were funded.
    pub fn fund(&mut self, clients: &[Client], rate: f64) -> Result<usize> {
        let wanted = self.senders_wanted(rate);
        let mut funded = 0;
        for _round in 0..SENDERS_PER_CHAIN_MAX.div_ceil(SENDER_TXS_MAX) {
            let mints = self.funding_round(&wanted);
            if mints.is_empty() {
                break;
            }
            let mut per_host: Vec<Vec<Mint>> = (0..clients.len()).map(|_| Vec::new()).collect();
            for mint in mints {
                per_host[self.host[mint.0]].push(mint);
            }
            for (client, mints) in clients.iter().zip(per_host) {
                for ((chain, key, _), result) in submit_until_taken(client, mints)? {
                    let status = result.tx.as_ref().map(|tx| tx.status.as_str());
                    if status != Some("committed") {
                        bail!(
                            "funding sender {key} of chain {}: {} {}",
                            self.ids[chain],
                            result.code,
                            result
                                .error
                                .or(result.tx.and_then(|tx| tx.reason))
                                .unwrap_or_default()
                        );
                    }
                    self.senders[chain].push(Sender::new(key));
                    self.funded[chain] = key + 1;
                    funded += 1;
                }
            }
        }
        Ok(funded)
    }

    /// Plans a step of `count` transactions at `rate` (see [`Planned`]): each on a chain
    /// drawn by the Zipf law over the live chains, from the chain's senders in turn, the
    /// first that has fewer than [`SENDER_TXS_MAX`] transactions due within
    /// [`FINALITY_PLANNED`]. A transaction for which no sender of its chain has room is not
    /// planned: answers how many were not, the bench's own limit.
    pub fn plan(&mut self, count: usize, rate: f64, rng: &mut impl RngCore) -> (Vec<Planned>, u64) {
        let picker = Picker::new(self.live.iter().map(|c| self.weight[*c]));
        for sender in self.senders.iter_mut().flatten() {
            sender.recent.clear();
        }
        let mut planned = Vec::with_capacity(count);
        let mut senders_full = 0;
        for index in 0..count {
            let chain = self.live[picker.pick(uniform(rng))];
            let due = index as f64 / rate;
            let senders = &mut self.senders[chain];
            let taken = (0..senders.len()).find_map(|step| {
                let at = (self.turn[chain] + step) % senders.len();
                let nonce = senders[at].take(due)?;
                self.turn[chain] = (at + 1) % senders.len();
                Some((senders[at].key, nonce))
            });
            match taken {
                Some((key, nonce)) => planned.push(Planned {
                    index,
                    chain,
                    key,
                    nonce,
                }),
                None => senders_full += 1,
            }
        }
        (planned, senders_full)
    }

    /// Signs the planned transactions ahead of the step, on every core, so that signing does
    /// not compete with the hosts while it runs. The owner mints to the recipient (it needs
    /// no funds); the other senders transfer to it.
    pub fn sign(&self, planned: &[Planned]) -> Vec<Prepared> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let per = planned.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            let parts: Vec<_> = planned
                .chunks(per)
                .map(|part| {
                    scope.spawn(move || part.iter().map(|p| self.prepare(p)).collect::<Vec<_>>())
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|part| part.join().unwrap_or_default())
                .collect()
        })
    }

    fn prepare(&self, planned: &Planned) -> Prepared {
        let key = &self.keys[planned.key];
        let kind = if planned.key == OWNER {
            TxKind::Mint {
                to: RECIPIENT,
                amount: 1,
            }
        } else {
            TxKind::Transfer {
                to: RECIPIENT,
                amount: 1,
                memo: Memo::default(),
            }
        };
        let tx = Transaction {
            chain_id: self.ids[planned.chain],
            sender: key.address(),
            nonce: planned.nonce,
            kind,
        };
        let tx = SignedTransaction::sign(tx, key);
        Prepared {
            planned: *planned,
            host: self.host[planned.chain],
            hash: tx.hash(),
            hex: hex::encode(encode(&tx)),
        }
    }

    /// Retires the senders of transactions that failed (each `(chain, key)`), and the chains
    /// left without a sender.
    pub fn retire(&mut self, failed: &[(usize, usize)]) -> Result<()> {
        for (chain, key) in failed {
            self.senders[*chain].retain(|s| s.key != *key);
            self.turn[*chain] = 0;
        }
        let senders = &self.senders;
        self.live.retain(|c| !senders[*c].is_empty());
        if self.live.is_empty() {
            bail!("every chain's every sender had a failed transaction; nothing is left to load");
        }
        Ok(())
    }

    /// The senders funded beyond the owners: in all, on how many chains, and the most on one.
    pub fn funded(&self) -> FundedSenders {
        let extra = self.funded.iter().map(|f| f - 1);
        FundedSenders {
            senders: extra.clone().sum::<usize>() as u64,
            chains: extra.clone().filter(|e| *e > 0).count() as u64,
            most_on_one_chain: extra.max().unwrap_or(0) + 1,
        }
    }
}

/// The accounts the owners funded to send on their chains.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FundedSenders {
    /// Accounts funded beyond the owners (each sends on one chain).
    pub senders: u64,
    /// Chains given more senders than their owner.
    pub chains: u64,
    /// The most senders one chain has, its owner included.
    pub most_on_one_chain: usize,
}

/// An owner's mint funding a sender: the chain, the sender's key, the transaction.
type Mint = (usize, usize, SignedTransaction);

/// How many times funding sends again the mints a busy host refused (503).
const FUNDING_ATTEMPTS_MAX: usize = 60;
/// How long funding waits after a busy answer: the API's `Retry-After`.
const FUNDING_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Submits `mints` to one host with `?wait=true`, sending again after `Retry-After` what it
/// refused as busy (right after creating many chains a host is still behind); answers each
/// mint with its last result.
fn submit_until_taken(client: &Client, mut mints: Vec<Mint>) -> Result<Vec<(Mint, SubmitResult)>> {
    let mut answered = Vec::with_capacity(mints.len());
    for attempt in 1..=FUNDING_ATTEMPTS_MAX {
        let txs: Vec<SignedTransaction> = mints.iter().map(|m| m.2.clone()).collect();
        let results = client.submit_many(&txs, true)?;
        let mut busy = Vec::new();
        for (mint, result) in mints.into_iter().zip(results) {
            if result.code == 503 && attempt < FUNDING_ATTEMPTS_MAX {
                busy.push(mint);
            } else {
                answered.push((mint, result));
            }
        }
        if busy.is_empty() {
            break;
        }
        mints = busy;
        std::thread::sleep(FUNDING_RETRY_AFTER);
    }
    Ok(answered)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn chains(count: usize, zipf: f64) -> Chains {
        let ids = (0..count).map(|i| ChainId([i as u8; 32])).collect();
        Chains::new(ids, vec![0; count], zipf, SecretKey::from_seed([1; 32]))
    }

    #[test]
    fn only_hot_chains_get_senders_beyond_their_owner() {
        // 100,000 chains, Zipf 1, 5,000 tx/s: the hottest takes 1 / H(100000) ≈ 8.3%,
        // about 413 tx/s, which needs 52 senders of 8 transactions per second.
        let chains = chains(100_000, 1.0);
        let wanted = chains.senders_wanted(5000.0);
        assert_eq!(wanted[0], 52);
        assert_eq!(wanted[1], 26);
        assert!(wanted.windows(2).all(|w| w[0] >= w[1]), "hotter needs more");
        let hot = wanted.iter().filter(|w| **w > 1).count();
        assert!(
            (40..60).contains(&hot),
            "{hot} chains need more than the owner"
        );
        assert_eq!(wanted[99_999], 1, "a cold chain's owner is its one sender");
        assert_eq!(senders_wanted(1.0, 1e9), SENDERS_PER_CHAIN_MAX);
    }

    #[test]
    fn funding_mints_from_the_owner_within_its_pending_share() {
        let mut chains = chains(3, 1.0);
        // Chain 0's share is 6/11 of 80 tx/s: 44 per second, 6 senders.
        let wanted = chains.senders_wanted(80.0);
        assert_eq!(wanted, [6, 3, 2]);
        let round = chains.funding_round(&wanted);
        let funded: Vec<(usize, usize, u64)> = round
            .iter()
            .map(|(chain, key, tx)| (*chain, *key, tx.tx.nonce))
            .collect();
        assert_eq!(
            funded,
            [
                (0, 1, 1),
                (0, 2, 2),
                (0, 3, 3),
                (0, 4, 4),
                (0, 5, 5),
                (1, 1, 1),
                (1, 2, 2),
                (2, 1, 1)
            ]
        );
        for (chain, key, tx) in &round {
            assert_eq!(tx.tx.sender, chains.keys[OWNER].address());
            assert!(
                matches!(tx.tx.kind, TxKind::Mint { to, .. } if to == chains.keys[*key].address())
            );
            assert_eq!(tx.tx.chain_id, chains.ids[*chain]);
        }
        let mut big = super::tests::chains(1, 1.0);
        let round = big.funding_round(&[40]);
        assert_eq!(
            round.len(),
            SENDER_TXS_MAX,
            "one round holds the owner's share"
        );
    }

    #[test]
    fn a_step_is_spread_over_senders_and_what_none_can_take_is_counted() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut one = chains(1, 1.0);
        // One sender, 40 transactions in one second: 16 fit within FINALITY_PLANNED.
        let (planned, full) = one.plan(40, 40.0, &mut rng);
        assert_eq!((planned.len(), full), (16, 24));
        let nonces: Vec<u64> = planned.iter().map(|p| p.nonce).collect();
        assert_eq!(nonces, (1..=16).collect::<Vec<_>>(), "nonces without a gap");

        let mut two = chains(1, 1.0);
        two.senders[0].push(Sender::new(1));
        two.senders[0].push(Sender::new(2));
        let (planned, full) = two.plan(30, 30.0, &mut rng);
        assert_eq!((planned.len(), full), (30, 0));
        let keys: Vec<usize> = planned.iter().take(4).map(|p| p.key).collect();
        assert_eq!(keys, [0, 1, 2, 0], "senders in turn");
        two.retire(&[(0, 0), (0, 2)]).unwrap();
        let (planned, _) = two.plan(2, 1.0, &mut rng);
        assert!(planned.iter().all(|p| p.key == 1));
        assert_eq!(planned[0].nonce, 11, "sender 1 continues its nonces");
        assert!(two.retire(&[(0, 1)]).is_err(), "nothing left to load");
    }
}
