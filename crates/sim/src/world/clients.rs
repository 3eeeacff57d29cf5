//! The clients' side of the world: chains created, transactions submitted and resent,
//! bursts, validator changes, and the hosts' answers.

use std::collections::HashSet;

use myriad_host::{AdmitError, Command, SubmitError, TxStatus, HOST_BUSY};
use myriad_ledger::TxError;
use myriad_testing::unsigned_genesis;
use myriad_types::{
    sign_alone, Address, Amount, AnchorEntry, AnchoredHead, BlockHeader, BoundedVec, Certificate,
    ChainId, ChainKind, ChainParams, CommitSignature, Genesis, Hash, Height, HostId, RootParams,
    Round, SecretKey, SignedGenesis, SignedTransaction, Transaction, TxKind, Validator,
};
use tokio::sync::oneshot;

use crate::workload::Clients;

use super::{Chain, Event, Reply, TxReceiver, World};

/// How often the clients send again what is still pending.
const RESEND_MS: u64 = 500;
/// How long clients leave a host that answered "busy" alone (its `Retry-After`).
const RETRY_AFTER_MS: u64 = 1_000;
/// What each host is minted on the root: the least bond the root asks.
const ROOT_BOND: Amount = 10;
/// How often hosts anchor the chains whose heads changed.
const ROOT_ANCHOR_MS: u64 = 1_000;
/// An overload's transactions go out in slices this far apart.
pub(super) const OVERLOAD_SLICE_MS: u64 = 20;

impl World {
    /// A chain with 4 to 7 validators drawn from the hosts; a byzantine host among them
    /// holds less than a third of the power. Its genesis goes to every validator, or (for
    /// chains created during the run) to some of them, the rest learning it from their peers.
    pub(super) fn create_chain(&mut self, to_all: bool) {
        let mut hosts = self.distinct_hosts();
        let size = self.rng.between(4, hosts.len() as u64) as usize;
        self.rng.shuffle(&mut hosts);
        let powers: Vec<(HostId, u64)> = hosts[..size]
            .iter()
            .map(|host| (*host, self.power_for(*host)))
            .collect();
        let owner = SecretKey::from_seed(self.rng.seed32());
        let genesis = Genesis {
            symbol: self.symbol.clone(),
            created_at_ms: self.now,
            // Locks as short as half a second, so that swaps race their expiries in a run.
            params: ChainParams {
                lock_min_ms: 500,
                ..ChainParams::default()
            },
            ..unsigned_genesis(owner.address(), &powers, self.chains.len() as u64)
        };
        let genesis = SignedGenesis::sign(genesis, &owner);
        self.add_chain((genesis, owner), to_all);
    }

    /// The root chain's genesis: validated by four of `hosts` (or all), anchoring every
    /// `ROOT_ANCHOR_MS`.
    pub(super) fn root_genesis(&mut self, hosts: &[SecretKey]) -> (SignedGenesis, SecretKey) {
        let powers: Vec<(HostId, u64)> =
            hosts.iter().take(4).map(|key| (key.host_id(), 1)).collect();
        let owner = SecretKey::from_seed(self.rng.seed32());
        let genesis = Genesis {
            symbol: self.symbol.clone(),
            kind: ChainKind::Root(RootParams {
                host_bond_min: ROOT_BOND,
                anchor_interval_ms: ROOT_ANCHOR_MS,
                ..RootParams::default()
            }),
            ..unsigned_genesis(owner.address(), &powers, u64::MAX)
        };
        (SignedGenesis::sign(genesis, &owner), owner)
    }

    /// Every host is minted the root's least bond, to register with.
    pub(super) fn fund_hosts(&mut self) {
        let root = self.chains[0].id;
        for host in self.distinct_hosts() {
            let mint = self.chains[0]
                .clients
                .fund(root, Address::from(host), ROOT_BOND);
            self.send_tx(root, mint);
        }
    }

    /// Starts following a chain and hands its genesis to its validators (all of them, or
    /// some when `to_all` is false: the others must get it from their peers).
    pub(super) fn add_chain(&mut self, (genesis, owner): (SignedGenesis, SecretKey), to_all: bool) {
        let powers: Vec<(HostId, u64)> = genesis
            .genesis
            .validators
            .iter()
            .map(|v| (v.host, v.power))
            .collect();
        let id = genesis.genesis.chain_id();
        self.checker.add_chain(&genesis);
        let clients = Clients::new(owner, &mut self.rng);
        let index = self.chains.len();
        self.chains.push(Chain {
            id,
            genesis,
            created: false,
            clients,
        });
        let mut named: Vec<HostId> = powers.iter().map(|(host, _)| *host).collect();
        if !to_all {
            self.stats.chains_created += 1;
            let keep = self.rng.between(1, named.len() as u64) as usize;
            named.truncate(keep);
        }
        self.log(|| format!("chain {id} created, genesis to {} hosts", named.len()));
        for host in named {
            self.post_genesis(index, host);
        }
    }

    pub(super) fn post_genesis(&mut self, index: usize, host: HostId) {
        for node in self.nodes_of(host) {
            let (reply, receiver) = oneshot::channel();
            let command = Command::CreateChain {
                genesis: self.chains[index].genesis.clone(),
                reply,
            };
            self.command(node, command, Reply::Create(index, receiver));
        }
    }

    /// A validator's power: 1 for the byzantine host (one of at least four, so under a
    /// third), 1 to 3 for the others.
    pub(super) fn power_for(&mut self, host: HostId) -> u64 {
        if Some(host) == self.byzantine_host {
            1
        } else {
            self.rng.between(1, 3)
        }
    }

    /// Hands a client's command to a node, if it is up, and wakes it.
    pub(super) fn command(&mut self, node: usize, command: Command, reply: Reply) {
        let n = &mut self.nodes[node];
        if n.host.is_none() {
            return;
        }
        n.commands.push(command);
        n.replies.push(reply);
        self.wake(node, self.now + self.config.host.tick_ms);
    }

    /// Sends a client's transaction to one validator of its chain that is up, with `wait`.
    pub(super) fn send_tx(&mut self, chain: ChainId, tx: SignedTransaction) {
        self.submit_to_validator(chain, tx, Reply::Tx);
    }

    /// Sends a transaction to one validator of its chain that is up and did not just answer
    /// "busy", with `wait`; `reply` says what its answer is for. With none, it stays with its
    /// client for the next resend.
    pub(super) fn submit_to_validator(
        &mut self,
        chain: ChainId,
        tx: SignedTransaction,
        reply: fn(Hash, TxReceiver) -> Reply,
    ) {
        let up: Vec<usize> = self
            .checker
            .validators(&chain)
            .into_iter()
            .flat_map(|host| self.nodes_of(host))
            .filter(|n| self.nodes[*n].host.is_some() && self.nodes[*n].quiet_until <= self.now)
            .collect();
        if up.is_empty() {
            return;
        }
        let node = self.rng.pick(&up);
        let (sender, receiver) = oneshot::channel();
        let hash = tx.hash();
        let command = Command::Submit {
            tx,
            wait: true,
            reply: sender,
        };
        self.command(node, command, reply(hash, receiver));
    }

    pub(super) fn submit(&mut self) {
        if !self.faulty {
            return;
        }
        let index = self.rng.below(self.chains.len() as u64) as usize;
        let chain = self.chains[index].id;
        let tx = self.chains[index].clients.next(chain, &mut self.rng);
        if self.rng.chance(0.05) {
            // A forged copy, which every host must refuse: it exercises the bisection of a
            // failed signature batch.
            let mut forged = tx.clone();
            forged.signature.0[0] ^= 1;
            self.send_tx(chain, forged);
        }
        self.send_tx(chain, tx);
        let next = self.now + self.rng.between(20, 180);
        self.push(next, Event::Submit);
    }

    /// Many transactions for one chain at once: more than its mempools hold.
    pub(super) fn burst(&mut self) {
        let index = self.rng.below(self.chains.len() as u64) as usize;
        let chain = self.chains[index].id;
        self.log(|| format!("burst on chain {chain}"));
        self.stats.bursts += 1;
        for _ in 0..self.config.burst_txs {
            let tx = self.chains[index].clients.next(chain, &mut self.rng);
            self.send_tx(chain, tx);
        }
        for _ in 0..self.config.flood_txs {
            let tx = self.chains[index].clients.stranger(chain, &mut self.rng);
            self.submit_to_validator(chain, tx, Reply::Flood);
        }
    }

    /// One slice of an overload: far more transactions than the hosts can take, over all
    /// chains, for `overload_ms`. The hosts must refuse what they cannot take, stay live,
    /// and commit everything pending within `recovery_ms` of its end.
    pub(super) fn overload(&mut self, started: u64, slices_left: u64) {
        if started == self.now {
            self.log(|| "overload starts".to_owned());
            self.stats.overloads += 1;
        }
        let slices = (self.config.overload_ms / OVERLOAD_SLICE_MS).max(1);
        for _ in 0..self.config.overload_txs / slices as usize {
            let index = self.rng.below(self.chains.len() as u64) as usize;
            let chain = self.chains[index].id;
            let tx = self.chains[index].clients.next(chain, &mut self.rng);
            self.send_tx(chain, tx);
        }
        if !self.resending {
            self.resending = true;
            self.push(self.now + RESEND_MS, Event::Resend);
        }
        if slices_left > 0 {
            let next = Event::Overload {
                started,
                slices_left: slices_left - 1,
            };
            self.push(self.now + OVERLOAD_SLICE_MS, next);
        } else {
            self.push(
                self.now + self.config.recovery_ms,
                Event::Recovered(started),
            );
        }
    }

    /// Checks that the overload at `at` is over: nothing the clients sent is pending.
    pub(super) fn recovered(&mut self, at: u64) {
        let pending: usize = self.chains.iter().map(|c| c.clients.pending.len()).sum();
        if pending > 0 {
            self.checker.liveness(format!(
                "{pending} transactions still pending {} ms after the overload that started at {at} ms ended",
                self.config.recovery_ms
            ));
        }
    }

    /// Sends again every pending transaction no host holds a reply for (a host that admitted
    /// one answers once it commits), and the geneses no host acknowledged yet.
    pub(super) fn resend(&mut self) {
        let awaited: HashSet<Hash> = self
            .nodes
            .iter()
            .flat_map(|n| &n.replies)
            .filter_map(|reply| match reply {
                Reply::Tx(hash, _) | Reply::Swap(hash, _) => Some(*hash),
                _ => None,
            })
            .collect();
        let swaps: Vec<(ChainId, SignedTransaction)> = self
            .swaps
            .iter()
            .filter_map(|swap| swap.in_flight.as_ref())
            .filter(|in_flight| !awaited.contains(&in_flight.tx.hash()))
            .map(|in_flight| (in_flight.chain, in_flight.tx.clone()))
            .collect();
        for (chain, tx) in swaps {
            self.submit_to_validator(chain, tx, Reply::Swap);
        }
        // A swap's transaction in flight keeps the resending going, as a client's does.
        let mut any = self.swaps.iter().any(|swap| swap.in_flight.is_some());
        for index in 0..self.chains.len() {
            let chain = self.chains[index].id;
            if !self.chains[index].created {
                any = true;
                let validators = self.checker.validators(&chain);
                let host = self.rng.pick(&validators);
                self.post_genesis(index, host);
            }
            for tx in self.chains[index].clients.pending.clone() {
                any = true;
                if !awaited.contains(&tx.hash()) {
                    self.send_tx(chain, tx);
                }
            }
        }
        self.resending = any || self.faulty;
        if self.resending {
            self.push(self.now + RESEND_MS, Event::Resend);
        }
    }

    /// The owner of a chain adds a host to its validators (which must then sync the chain)
    /// or removes one, keeping at least four.
    pub(super) fn change_validators(&mut self) {
        if !self.faulty {
            return;
        }
        let index = self.rng.below(self.chains.len() as u64) as usize;
        let chain = self.chains[index].id;
        let Some(set) = self.checker.validator_set(&chain) else {
            return;
        };
        if self.checker.changing_validators(&chain) {
            return;
        }
        let mut validators: Vec<Validator> = set.validators().to_vec();
        let outside: Vec<HostId> = self
            .distinct_hosts()
            .into_iter()
            .filter(|h| validators.iter().all(|v| v.host != *h))
            .collect();
        if !outside.is_empty() && (validators.len() <= 4 || self.rng.chance(0.5)) {
            let host = self.rng.pick(&outside);
            let power = self.power_for(host);
            validators.push(Validator { host, power });
        } else if validators.len() > 4 {
            let gone = self.rng.below(validators.len() as u64) as usize;
            validators.remove(gone);
        } else {
            return;
        }
        validators.sort_by_key(|v| v.host);
        self.log(|| format!("chain {chain}: validators become {validators:?}"));
        let tx = self.chains[index].clients.set_validators(chain, validators);
        self.send_tx(chain, tx);
    }

    /// A host sends the root an anchor of a head its chain never decided, certified by that
    /// host alone: the root must refuse it (and the anchoring checker would see it taken).
    pub(super) fn forge_anchor(&mut self) {
        let Some(root) = self.checker.root else {
            return;
        };
        let others: Vec<usize> = (0..self.chains.len())
            .filter(|i| self.chains[*i].id != root && self.chains[*i].created)
            .collect();
        if others.is_empty() {
            return;
        }
        let chain = self.chains[self.rng.pick(&others)].id;
        let forger = self.rng.below(self.nodes.len() as u64) as usize;
        let key = self.nodes[forger].key.clone();
        let (Some(state), Some(root_state)) =
            (self.checker.state(&chain), self.checker.state(&root))
        else {
            return;
        };
        let height = Height(state.meta().height.0 + 1);
        let validators_hash = state.meta().validators.hash();
        let nonce = root_state.account(&key.address()).nonce + 1;
        let header = BlockHeader {
            chain_id: chain,
            height,
            prev_hash: Hash(self.rng.seed32()),
            timestamp_ms: self.now,
            proposer: key.host_id(),
            tx_root: Hash::ZERO,
            state_root: Hash(self.rng.seed32()),
            validators_hash,
        };
        let mut certificate = Certificate {
            chain_id: chain,
            height,
            round: Round(0),
            block_hash: header.hash(),
            signatures: BoundedVec::default(),
        };
        let signature = CommitSignature {
            host: key.host_id(),
            signature: sign_alone(&key, &certificate.precommit()),
        };
        certificate.signatures = BoundedVec::new(vec![signature]).unwrap_or_default();
        let head = AnchoredHead {
            changes: BoundedVec::default(),
            header,
            certificate,
            bonds: BoundedVec::default(),
        };
        let entries = BoundedVec::new(vec![AnchorEntry::Head(Box::new(head))]).unwrap_or_default();
        let tx = SignedTransaction::sign(
            Transaction {
                chain_id: root,
                sender: key.address(),
                nonce,
                kind: TxKind::Anchor { entries },
            },
            &key,
        );
        self.log(|| {
            format!(
                "host {} anchors a forged head of chain {chain} at {height}",
                key.host_id()
            )
        });
        self.submit_to_validator(root, tx, Reply::ForgedAnchor);
    }

    pub(super) fn collect_replies(&mut self, node: usize) {
        let store = self.nodes[node].store.clone();
        let replies = std::mem::take(&mut self.nodes[node].replies);
        for reply in replies {
            match reply {
                Reply::Tx(hash, mut receiver) => match receiver.try_recv() {
                    Ok(Ok(TxStatus::Committed { chain, height })) => {
                        self.stats.txs_acknowledged += 1;
                        self.checker
                            .acknowledged_tx(node, &store, hash, (chain, height));
                    }
                    Ok(Err(SubmitError::Admit(AdmitError::Busy(what)))) if what == HOST_BUSY => {
                        self.stats.busy_refusals += 1;
                        self.nodes[node].quiet_until = self.now + RETRY_AFTER_MS;
                    }
                    Ok(Err(SubmitError::Admit(AdmitError::Busy(_)))) => {
                        self.stats.mempool_refusals += 1;
                    }
                    Ok(Err(SubmitError::Admit(
                        AdmitError::UnknownSender { .. }
                        | AdmitError::InsufficientBalance { .. }
                        | AdmitError::NonceTooFar { .. }
                        | AdmitError::SenderShareFull { .. }
                        | AdmitError::WouldFail(_),
                    ))) => self.stats.admission_refusals += 1,
                    Ok(Ok(TxStatus::Rejected { .. })) => self.stats.txs_rejected += 1,
                    Ok(Err(SubmitError::Invalid(TxError::BadSignature(_)))) => {
                        self.stats.forgeries_refused += 1;
                    }
                    Ok(_) => {}
                    Err(oneshot::error::TryRecvError::Empty) => {
                        self.nodes[node].replies.push(Reply::Tx(hash, receiver));
                    }
                    Err(oneshot::error::TryRecvError::Closed) => {}
                },
                Reply::Flood(hash, mut receiver) => match receiver.try_recv() {
                    Ok(Err(SubmitError::Admit(
                        AdmitError::UnknownSender { .. } | AdmitError::NonceTooFar { .. },
                    ))) => self.stats.floods_refused += 1,
                    // A validator that has not received the chain's genesis yet, or one too
                    // busy to look.
                    Ok(Err(SubmitError::UnknownChain(_) | SubmitError::ShuttingDown)) => {}
                    Ok(Err(SubmitError::Admit(AdmitError::Busy(what)))) if what == HOST_BUSY => {}
                    Ok(answer) => self.checker.unexpected(format!(
                        "node {node} answered {answer:?} to a stranger's unfunded transfer {hash}"
                    )),
                    Err(oneshot::error::TryRecvError::Empty) => {
                        self.nodes[node].replies.push(Reply::Flood(hash, receiver));
                    }
                    Err(oneshot::error::TryRecvError::Closed) => {}
                },
                Reply::Swap(hash, mut receiver) => match receiver.try_recv() {
                    Err(oneshot::error::TryRecvError::Empty) => {
                        self.nodes[node].replies.push(Reply::Swap(hash, receiver));
                    }
                    // Lost its race: the escrow closed, or the block's time was on the
                    // other side of its expiry.
                    Ok(Ok(TxStatus::Rejected { .. }))
                    | Ok(Err(SubmitError::Admit(AdmitError::WouldFail(_)))) => {
                        self.swap_rejected(&hash);
                    }
                    // Committed (the block says so), or not taken: sent again.
                    _ => {}
                },
                Reply::ForgedAnchor(hash, mut receiver) => match receiver.try_recv() {
                    Err(oneshot::error::TryRecvError::Empty) => {
                        self.nodes[node]
                            .replies
                            .push(Reply::ForgedAnchor(hash, receiver));
                    }
                    Ok(Err(SubmitError::Admit(AdmitError::WouldFail(TxError::Anchor {
                        ..
                    })))) => self.stats.forged_anchors_refused += 1,
                    // Not taken for another reason (a busy host, a nonce in use), or taken:
                    // the anchoring checker judges what the root anchors.
                    _ => {}
                },
                Reply::Create(index, mut receiver) => match receiver.try_recv() {
                    Err(oneshot::error::TryRecvError::Empty) => {
                        self.nodes[node]
                            .replies
                            .push(Reply::Create(index, receiver));
                    }
                    // A byzantine host may keep a genesis to itself: the chain counts as
                    // created once an honest one holds it.
                    Ok(Ok(_)) if self.nodes[node].honest => self.chains[index].created = true,
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => self
                        .checker
                        .unexpected(format!("node {node} refused a chain: {error}")),
                    Err(oneshot::error::TryRecvError::Closed) => {}
                },
            }
        }
    }
}
