//! The checkers: what must hold in every run, whatever the faults. They follow every chain
//! with a reference copy built from the honest hosts' decisions, and look into each host's
//! store whenever the host says something is durable.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use myriad_consensus::Equivocation;
use myriad_ledger::{check_block, ChainState};
use myriad_store::{ChainStore, MemStore, ReadStore};
use myriad_types::{
    encode, Block, Certificate, ChainId, Hash, Height, HostId, Object, ObjectKey, Round,
    SignedGenesis, TxKind, ValidatorSet,
};

/// A broken rule, with what broke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub rule: &'static str,
    pub detail: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.detail)
    }
}

/// A chain as the honest hosts decided it, block by block.
#[derive(Debug)]
struct Reference {
    state: ChainState,
    head: Hash,
    /// Each decided height's block hash and the validator set that certified it.
    decided: Vec<(Hash, Arc<ValidatorSet>)>,
    /// When the head was decided (the genesis: when it was made).
    head_at_ms: u64,
}

/// What a first decision changed, for the clients and the counters.
#[derive(Debug, Default)]
pub struct Advance {
    pub txs: Vec<Hash>,
    pub validator_changes: u64,
    /// Heads the block anchored, on the root.
    pub anchors: u64,
}

/// What a host signed: one of a round's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Signed {
    Proposal,
    Prevote,
    Precommit,
}

#[derive(Debug, Default)]
pub struct Checker {
    chains: BTreeMap<ChainId, Reference>,
    /// Every message an honest host signed: what it signed for each step.
    signed: BTreeMap<(HostId, ChainId, Height, Round, Signed), Option<Hash>>,
    /// Certificates already verified against a set, by the hash of both.
    verified: BTreeSet<Hash>,
    /// The root chain, whose anchors must each name a block its chain decided.
    pub root: Option<ChainId>,
    /// Anchors of heights the honest hosts had not decided yet when the root took them (a
    /// byzantine validator may decide first): each must name the block they decide.
    early_anchors: BTreeMap<(ChainId, Height), Hash>,
    pub failures: Vec<Failure>,
}

impl Checker {
    fn fail(&mut self, rule: &'static str, detail: String) {
        if self.failures.len() < 32 {
            self.failures.push(Failure { rule, detail });
        }
    }

    /// Follows a new chain from its genesis.
    pub fn add_chain(&mut self, genesis: &SignedGenesis) {
        let chain = genesis.genesis.chain_id();
        match ChainState::from_genesis(genesis) {
            Ok(state) => {
                self.chains.insert(
                    chain,
                    Reference {
                        state,
                        head: Hash::ZERO,
                        decided: Vec::new(),
                        head_at_ms: genesis.genesis.created_at_ms,
                    },
                );
            }
            Err(error) => self.unexpected(format!("the workload made a bad genesis: {error}")),
        }
    }

    /// The hosts that validate `chain` now, and those that will from its next height.
    pub fn validators(&self, chain: &ChainId) -> Vec<HostId> {
        self.chains
            .get(chain)
            .map(|r| r.state.validator_hosts())
            .unwrap_or_default()
    }

    /// Whether a validator set change is decided but not yet in force.
    pub fn changing_validators(&self, chain: &ChainId) -> bool {
        self.chains
            .get(chain)
            .is_some_and(|r| r.state.meta().next_validators.is_some())
    }

    /// The state after the chain's last decided block.
    pub fn state(&self, chain: &ChainId) -> Option<&ChainState> {
        self.chains.get(chain).map(|r| &r.state)
    }

    /// The anchoring's liveness: `chain`'s head, if it was decided before `before_ms` and
    /// the root has not anchored it, with the height the root anchored (if any).
    pub fn unanchored(&self, chain: &ChainId, before_ms: u64) -> Option<(Height, Option<Height>)> {
        let root = self.chains.get(&self.root?)?;
        let reference = self.chains.get(chain)?;
        let head = reference.state.meta().height;
        if Some(*chain) == self.root || reference.head_at_ms >= before_ms {
            return None;
        }
        let anchored = match root.state.object(&ObjectKey::Anchor(*chain)) {
            Some(Object::Anchor(anchor)) => Some(anchor.height),
            _ => None,
        };
        (anchored < Some(head)).then_some((head, anchored))
    }

    /// The set in force on `chain` now.
    pub fn validator_set(&self, chain: &ChainId) -> Option<Arc<ValidatorSet>> {
        let reference = self.chains.get(chain)?;
        Some(reference.state.meta().validators.clone())
    }

    fn certificate_holds(&mut self, certificate: &Certificate, set: &ValidatorSet) -> bool {
        let id = Hash::of_parts(&[&encode(certificate), &set.hash().0]);
        if self.verified.contains(&id) {
            return true;
        }
        let holds = certificate.verify(set).is_ok();
        if holds {
            self.verified.insert(id);
        }
        holds
    }

    /// Agreement and validity of one honest host's decision at `now_ms`, read back from its
    /// store. The first decision of a height moves the reference chain on; it is returned.
    pub fn decision(
        &mut self,
        host: usize,
        block: &Block,
        certificate: &Certificate,
        now_ms: u64,
    ) -> Advance {
        let chain = block.header.chain_id;
        let height = block.header.height;
        let hash = block.hash();
        let Some(reference) = self.chains.get(&chain) else {
            self.unexpected(format!("host {host} decided on unknown chain {chain}"));
            return Advance::default();
        };
        let next = reference.state.next_height();
        let earlier = reference
            .decided
            .get(height.0.wrapping_sub(1) as usize)
            .cloned();
        if certificate.block_hash != hash || certificate.height != height {
            self.fail(
                "validity",
                format!("host {host} chain {chain} height {height}: the certificate names another block"),
            );
        }
        if let Some((first, set)) = earlier {
            if first != hash {
                self.fail(
                    "agreement",
                    format!(
                        "chain {chain} height {height}: decided {first} and {hash} (host {host})"
                    ),
                );
            } else if !self.certificate_holds(certificate, &set) {
                self.fail(
                    "validity",
                    format!(
                        "host {host} chain {chain} height {height}: certificate does not verify"
                    ),
                );
            }
            return Advance::default();
        }
        if height > next {
            self.unexpected(format!(
                "host {host} decided chain {chain} height {height} before any honest host decided height {next}"
            ));
            return Advance::default();
        }
        self.advance(host, block, certificate, now_ms)
    }

    fn advance(
        &mut self,
        host: usize,
        block: &Block,
        certificate: &Certificate,
        now_ms: u64,
    ) -> Advance {
        let chain = block.header.chain_id;
        let height = block.header.height;
        let Some(reference) = self.chains.get(&chain) else {
            return Advance::default();
        };
        // Every host reads the simulation's clock, so a block decided with the prevotes of
        // correct hosts, each of which found it timely, is at most the precision ahead.
        let time = block.header.timestamp_ms;
        let precision = reference.state.meta().params.precision_ms;
        let set = reference.state.meta().validators.clone();
        let checked = check_block(&reference.state, &reference.head, block);
        if time > now_ms.saturating_add(precision) {
            self.fail(
                "block time",
                format!("chain {chain} height {height}: decided at {now_ms} ms with block time {time} ms, more than {precision} ms ahead"),
            );
        }
        if !self.certificate_holds(certificate, &set) {
            self.fail(
                "validity",
                format!("host {host} chain {chain} height {height}: certificate does not verify"),
            );
        }
        let mut post = match checked {
            Ok(outcome) => outcome.state,
            Err(error) => {
                self.fail(
                    "validity",
                    format!("host {host} decided an invalid block at chain {chain} height {height}: {error}"),
                );
                return Advance::default();
            }
        };
        self.conservation(&format!("chain {chain} height {height}"), &post);
        let anchors = match self.root {
            Some(root) if root == chain => self.anchoring(&post),
            _ => 0,
        };
        post.clear_changed();
        let advance = Advance {
            anchors,
            txs: block.txs.iter().map(|tx| tx.hash()).collect(),
            validator_changes: block
                .txs
                .iter()
                .filter(|tx| matches!(tx.tx.kind, TxKind::SetValidators { .. }))
                .count() as u64,
        };
        if let Some(reference) = self.chains.get_mut(&chain) {
            reference.state = post;
            reference.head = block.hash();
            reference.decided.push((block.hash(), set));
            reference.head_at_ms = now_ms;
        }
        if let Some(anchored) = self.early_anchors.remove(&(chain, height)) {
            self.anchored_as_decided(chain, height, anchored, Some(block.hash()));
        }
        advance
    }

    /// The root never anchors a head its chain did not decide, and sees no fork: every
    /// anchor a root block wrote names the block its chain decided at that height. Returns
    /// the heads anchored.
    fn anchoring(&mut self, root: &ChainState) -> u64 {
        let mut heads = 0;
        for (_, object) in root.changed_objects() {
            let Some(Object::Anchor(anchor)) = object else {
                continue;
            };
            let chain = anchor.chain_id;
            if let Some(forked) = anchor.forked_at {
                self.fail(
                    "anchoring",
                    format!("the root marked chain {chain} forked at height {forked}"),
                );
            }
            if anchor.height.0 == 0 {
                continue;
            }
            heads += 1;
            let Some(reference) = self.chains.get(&chain) else {
                self.anchored_as_decided(chain, anchor.height, anchor.block_hash, None);
                continue;
            };
            match reference.decided.get(anchor.height.0 as usize - 1) {
                Some((decided, _)) => {
                    let decided = Some(*decided);
                    self.anchored_as_decided(chain, anchor.height, anchor.block_hash, decided);
                }
                None => {
                    self.early_anchors
                        .insert((chain, anchor.height), anchor.block_hash);
                }
            }
        }
        heads
    }

    fn anchored_as_decided(
        &mut self,
        chain: ChainId,
        height: Height,
        anchored: Hash,
        decided: Option<Hash>,
    ) {
        if decided != Some(anchored) {
            self.fail(
                "anchoring",
                format!("the root anchored block {anchored} at height {height} of chain {chain}; its chain decided {decided:?}"),
            );
        }
    }

    /// At the end of a run: every anchor the root took before the honest hosts decided its
    /// height names a block they have decided since.
    pub fn early_anchors_decided(&mut self) {
        for ((chain, height), anchored) in std::mem::take(&mut self.early_anchors) {
            self.anchored_as_decided(chain, height, anchored, None);
        }
    }

    /// An honest host released a signature on one step of a round.
    pub fn signed(
        &mut self,
        host: HostId,
        chain: ChainId,
        (height, round, step): (Height, Round, Signed),
        block: Option<Hash>,
    ) {
        match self.signed.get(&(host, chain, height, round, step)) {
            Some(earlier) if *earlier != block => self.fail(
                "never sign twice",
                format!("honest host {host} signed {earlier:?} and {block:?} for chain {chain} height {height} round {round} {step:?}"),
            ),
            Some(_) => {}
            None => {
                self.signed.insert((host, chain, height, round, step), block);
            }
        }
    }

    /// Evidence must only ever implicate the byzantine host.
    pub fn evidence(&mut self, evidence: &Equivocation, byzantine: Option<HostId>) {
        let accused = evidence.first.voter;
        if Some(accused) != byzantine {
            self.fail(
                "evidence",
                format!("honest host {accused} accused of equivocation"),
            );
        }
    }

    /// A host penalized a peer: never an honest one.
    pub fn penalty(&mut self, by: usize, peer: HostId, reason: &str, byzantine: Option<HostId>) {
        if Some(peer) != byzantine {
            self.fail(
                "evidence",
                format!("host {by} penalized honest host {peer}: {reason}"),
            );
        }
    }

    /// The ledger's invariants (supply = minted − burned = the sum of all balances, …).
    fn conservation(&mut self, at: &str, state: &ChainState) {
        if let Err(error) = state.check_invariants() {
            self.fail("conservation", format!("{at}: {error}"));
        }
    }

    /// A host told its subscribers that a block is committed: it must be in its store.
    pub fn durable_block(&mut self, host: usize, store: &MemStore, at: (ChainId, Height, Hash)) {
        let (chain, height, hash) = at;
        let stored = store.block(&chain, height).ok().flatten().map(|b| b.hash());
        if stored != Some(hash) {
            self.fail(
                "durability",
                format!("host {host} acknowledged chain {chain} height {height} ({hash}) but its store holds {stored:?}"),
            );
        }
    }

    /// A host told a client its transaction is committed: it must be in the host's store, in
    /// the block the honest hosts decided at that height.
    pub fn acknowledged_tx(
        &mut self,
        host: usize,
        store: &MemStore,
        tx: Hash,
        at: (ChainId, Height),
    ) {
        let (chain, height) = at;
        let located = store.tx_location(&tx).ok().flatten();
        let block = store.block(&chain, height).ok().flatten();
        let in_block = block
            .as_ref()
            .is_some_and(|b| b.txs.iter().any(|t| t.hash() == tx));
        if located != Some(at) || !in_block {
            self.fail(
                "acknowledged",
                format!("host {host} told a client tx {tx} committed at chain {chain} height {height}, but its store places it at {located:?}"),
            );
            return;
        }
        let decided = self
            .chains
            .get(&chain)
            .and_then(|r| r.decided.get(height.0 as usize - 1))
            .map(|(hash, _)| *hash);
        let hash = block.map(|b| b.hash());
        if decided.is_some() && decided != hash {
            self.fail(
                "acknowledged",
                format!("host {host} acknowledged tx {tx} in block {hash:?}, the honest hosts decided {decided:?}"),
            );
        }
    }

    /// A host's store, reopened: every chain's state rebuilds, matches its head's state root
    /// and the root of the head block, and conserves supply.
    pub fn store_reopens(&mut self, host: usize, store: &MemStore) {
        let chains = match store.chains(None, usize::MAX) {
            Ok(chains) => chains,
            Err(error) => return self.fail("store", format!("host {host}: {error}")),
        };
        for (chain, head) in chains {
            let state = match store.chain_state(&chain) {
                Ok(Some(state)) => state,
                Ok(None) => {
                    return self.fail("store", format!("host {host} chain {chain}: no state"))
                }
                Err(error) => {
                    return self.fail("store", format!("host {host} chain {chain}: {error}"))
                }
            };
            let height = head.meta.height;
            let block_root = match height.0 {
                0 => Some(head.state_root()),
                _ => store
                    .block(&chain, height)
                    .ok()
                    .flatten()
                    .map(|b| b.header.state_root),
            };
            if state.state_root() != head.state_root() || block_root != Some(head.state_root()) {
                self.fail(
                    "store",
                    format!("host {host} chain {chain} height {height}: state root {} head {} block {block_root:?}", state.state_root(), head.state_root()),
                );
            }
            self.conservation(&format!("host {host} store chain {chain}"), &state);
        }
    }

    /// A swap that broke its promise to one side: the maker's funds claimed without the
    /// taker's (the secret came out some other way), or an escrow claimed once expired or
    /// refunded before (which takes away the other side's time to act).
    pub fn swap_atomicity(&mut self, detail: String) {
        self.fail("swap atomicity", detail);
    }

    pub fn liveness(&mut self, detail: String) {
        self.fail("liveness", detail);
    }

    pub fn unexpected(&mut self, detail: String) {
        self.fail("unexpected", detail);
    }
}
