//! The checkers: what must hold in every run, whatever the faults.

use std::collections::BTreeMap;
use std::fmt;

use myriad_consensus::Equivocation;

use crate::node::Verified;
use myriad_ledger::ChainState;
use myriad_types::{Block, Certificate, Hash, Height, HostId, Round, ValidatorSet, VoteStep};

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

#[derive(Debug, Default)]
pub struct Checker {
    /// The first block an honest node decided at each (chain, height).
    decided: BTreeMap<(usize, Height), Hash>,
    /// Every vote an honest host signed.
    signed: BTreeMap<(HostId, usize, Height, Round, VoteStep), Option<Hash>>,
    pub failures: Vec<Failure>,
}

impl Checker {
    fn fail(&mut self, rule: &'static str, detail: String) {
        if self.failures.len() < 32 {
            self.failures.push(Failure { rule, detail });
        }
    }

    /// Agreement and validity of one honest decision, made with `validators` in force.
    pub fn decision(
        &mut self,
        chain: usize,
        block: &Block,
        certificate: &Certificate,
        validators: &ValidatorSet,
        verified: &mut Verified,
    ) {
        let height = block.header.height;
        let hash = block.hash();
        if !verified.certificate(certificate, validators) {
            let error = certificate.verify(validators).err();
            self.fail(
                "validity",
                format!("chain {chain} height {height}: {error:?}"),
            );
        }
        if certificate.block_hash != hash
            || certificate.height != height
            || block.header.validators_hash != validators.hash()
        {
            self.fail(
                "validity",
                format!("chain {chain} height {height}: certificate or header names another block or set"),
            );
        }
        match self.decided.get(&(chain, height)) {
            Some(first) if *first != hash => self.fail(
                "agreement",
                format!("chain {chain} height {height}: decided {first} and {hash}"),
            ),
            Some(_) => {}
            None => {
                self.decided.insert((chain, height), hash);
            }
        }
    }

    /// An honest host released a signature on this vote.
    pub fn signed_vote(
        &mut self,
        host: HostId,
        chain: usize,
        height: Height,
        round: Round,
        step: VoteStep,
        block: Option<Hash>,
    ) {
        let key = (host, chain, height, round, step);
        match self.signed.get(&key) {
            Some(earlier) if *earlier != block => self.fail(
                "never sign twice",
                format!("honest host {host} signed {earlier:?} and {block:?} for chain {chain} height {height} round {round} {step:?}"),
            ),
            Some(_) => {}
            None => {
                self.signed.insert(key, block);
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

    /// supply = minted − burned = the sum of all balances.
    pub fn conservation(&mut self, chain: usize, state: &ChainState) {
        let meta = state.meta();
        let total = state
            .accounts()
            .try_fold(0u128, |sum, (_, account)| sum.checked_add(account.balance));
        if meta.minted.checked_sub(meta.burned) != Some(meta.supply) || total != Some(meta.supply) {
            self.fail(
                "conservation",
                format!(
                    "chain {chain} height {}: supply {} minted {} burned {} balances {total:?}",
                    meta.height, meta.supply, meta.minted, meta.burned
                ),
            );
        }
    }

    /// Every block a node acknowledged is in what it synced.
    pub fn durability(
        &mut self,
        node: usize,
        acked: &[(usize, Height, Hash)],
        synced: &BTreeMap<usize, Vec<(Block, Certificate)>>,
    ) {
        for (chain, height, hash) in acked {
            let stored = synced
                .get(chain)
                .and_then(|blocks| blocks.get(height.0 as usize - 1))
                .map(|(block, _)| block.hash());
            if stored != Some(*hash) {
                self.fail(
                    "durability",
                    format!("node {node} acknowledged chain {chain} height {height} but holds {stored:?}"),
                );
            }
        }
    }

    pub fn liveness(&mut self, detail: String) {
        self.fail("liveness", detail);
    }

    pub fn unexpected(&mut self, detail: String) {
        self.fail("unexpected", detail);
    }

    /// Whether a block at (chain, height) was decided by an honest node.
    pub fn decided_block(&self, chain: usize, height: Height) -> Option<Hash> {
        self.decided.get(&(chain, height)).copied()
    }
}
