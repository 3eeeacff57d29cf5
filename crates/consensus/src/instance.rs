//! One Tendermint instance: one height of one chain, as in "The latest gossip on BFT
//! consensus" (Buchman, Kwon, Milosevic, 2018), Algorithm 1. Comments `Lnn` cite its lines.
//!
//! Inputs in, effects out: the instance never signs, reads a clock, a socket or a disk. Its
//! own signed messages come back to it as inputs, like everybody else's.

use std::sync::Arc;

use myriad_types::{
    Block, BoundedVec, Certificate, ChainId, ChainParams, CommitSignature, Equivocation, Hash,
    Height, HostId, Lock, LockProof, Proposal, Round, SignedProposal, SignedStep,
    SignedTransaction, SignedVote, SignerState, ValidatorSet, Vote, VoteStep,
};

use crate::proposer::proposer;
use crate::Config;

/// How many rounds ahead of its own an instance keeps messages for.
pub const ROUNDS_AHEAD_MAX: u32 = 16;
/// How many rounds behind its own an instance keeps votes for (besides its lock and valid rounds).
pub const ROUNDS_KEPT_MAX: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Propose,
    Prevote,
    Precommit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimeoutKind {
    Propose,
    Prevote,
    Precommit,
    /// Re-send this host's own messages of the current round: links may drop them.
    Resend,
}

impl TimeoutKind {
    pub fn name(self) -> &'static str {
        match self {
            TimeoutKind::Propose => "propose",
            TimeoutKind::Prevote => "prevote",
            TimeoutKind::Precommit => "precommit",
            TimeoutKind::Resend => "resend",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timeout {
    pub height: Height,
    pub round: Round,
    pub kind: TimeoutKind,
}

#[derive(Debug, Clone)]
pub enum Input {
    /// This host has transactions for the height: start round 0.
    Start,
    /// A proposal whose signature the host has checked, and when the host received it (by
    /// its own clock, in ms since the Unix epoch): a fresh proposal must be timely.
    Proposal {
        signed: Box<SignedProposal>,
        received_ms: u64,
    },
    /// A vote whose signature the host has checked.
    Vote(SignedVote),
    Timeout(Timeout),
    /// The ledger's verdict on a proposed block ([`Effect::VerifyBlock`]).
    BlockVerdict {
        block_hash: Hash,
        valid: bool,
    },
    /// The answer to [`Effect::BuildProposal`]: a block, or nothing to propose.
    ProposalBuilt {
        round: Round,
        block: Option<Block>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Sign (through the signer guard) and broadcast this proposal, then feed it back.
    SignProposal {
        proposal: Proposal,
        block: Block,
    },
    /// Sign (through the signer guard) and broadcast this vote, then feed it back.
    SignVote(Vote),
    /// Persist this proof of the new lock in the same write as the next signature; hand it
    /// back to [`Instance::new`] after a restart at this height.
    PersistLock(LockProof),
    /// Send these already signed messages again.
    Rebroadcast {
        proposal: Option<SignedProposal>,
        votes: Vec<SignedVote>,
    },
    ScheduleTimeout {
        timeout: Timeout,
        after_ms: u64,
    },
    /// Build a block from the mempool for this round, executed, and answer with
    /// [`Input::ProposalBuilt`].
    BuildProposal {
        round: Round,
    },
    /// Check this proposed block with the ledger and answer with [`Input::BlockVerdict`].
    VerifyBlock(Block),
    Decided {
        block: Block,
        certificate: Certificate,
    },
    Evidence(Equivocation),
}

/// A proposal from the round's proposer, and the ledger's verdict once known.
#[derive(Debug, Clone)]
struct Proposed {
    signed: SignedProposal,
    valid: Option<bool>,
    /// Whether its block's time was within the chain's clock bounds of when it arrived
    /// ([`ChainParams::is_timely`]); only a fresh proposal needs to be.
    timely: bool,
}

/// Which votes a tally counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Any,
    Nil,
    Block(Hash),
}

/// Consensus for one height of one chain.
#[derive(Debug, Clone)]
pub struct Instance {
    chain_id: ChainId,
    height: Height,
    me: HostId,
    validators: Arc<ValidatorSet>,
    params: ChainParams,
    round: Round,
    step: Step,
    locked: Option<Lock>,
    valid: Option<Lock>,
    started: bool,
    decided: bool,
    /// The round for which L34 (prevote timeout) has fired.
    prevote_timeout_round: Option<Round>,
    /// The round for which L47 (precommit timeout) has fired.
    precommit_timeout_round: Option<Round>,
    /// The round for which L36 has fired.
    polka_round: Option<Round>,
    proposals: Vec<Proposed>,
    votes: Vec<SignedVote>,
}

impl Instance {
    /// An instance that starts at round 0 on its first input.
    pub fn new(
        chain_id: ChainId,
        height: Height,
        me: HostId,
        validators: Arc<ValidatorSet>,
        params: ChainParams,
    ) -> Instance {
        Instance {
            chain_id,
            height,
            me,
            validators,
            params,
            round: Round(0),
            step: Step::Propose,
            locked: None,
            valid: None,
            started: false,
            decided: false,
            prevote_timeout_round: None,
            precommit_timeout_round: None,
            polka_round: None,
            proposals: Vec::new(),
            votes: Vec::new(),
        }
    }

    /// The instance of a host that restarts at a height where it already signed `state`
    /// (and, if locked, kept `lock_proof`), both read back from its store. It resumes in the
    /// round and step it had reached, keeps its lock, and sends its last vote again: the
    /// very same vote, which its signer guard allows.
    pub fn recover(
        config: &Config,
        chain_id: ChainId,
        me: HostId,
        validators: Arc<ValidatorSet>,
        params: ChainParams,
        state: &SignerState,
        lock_proof: Option<LockProof>,
    ) -> (Instance, Vec<Effect>) {
        let mut instance = Instance::new(chain_id, state.height, me, validators, params);
        instance.started = true;
        instance.round = state.round;
        instance.locked = state.lock;
        let proof = lock_proof.filter(|proof| {
            let proposal = &proof.proposal.proposal;
            let locked = (proposal.round, proposal.block_hash);
            state
                .lock
                .is_some_and(|lock| (lock.round, lock.block_hash) == locked)
                && proposal.height == state.height
        });
        if let Some(proof) = proof {
            // The locked block was valid: this host precommitted it.
            instance.valid = state.lock;
            instance.votes.extend(proof.prevotes.into_inner());
            // This host prevoted it (or saw its polka), so it was timely then.
            instance.proposals.push(Proposed {
                signed: proof.proposal,
                valid: Some(true),
                timely: true,
            });
        }
        let mut effects = Vec::new();
        instance.schedule(config, TimeoutKind::Resend, &mut effects);
        match state.step {
            SignedStep::Proposal => instance.schedule(config, TimeoutKind::Propose, &mut effects),
            SignedStep::Prevote => {
                instance.step = Step::Prevote;
                instance.vote(VoteStep::Prevote, state.block_hash, &mut effects);
            }
            SignedStep::Precommit => {
                instance.step = Step::Precommit;
                instance.vote(VoteStep::Precommit, state.block_hash, &mut effects);
            }
        }
        (instance, effects)
    }

    pub fn height(&self) -> Height {
        self.height
    }

    pub fn round(&self) -> Round {
        self.round
    }

    pub fn step(&self) -> Step {
        self.step
    }

    pub fn locked(&self) -> Option<Lock> {
        self.locked
    }

    /// How many votes and proposals the instance holds.
    pub fn message_counts(&self) -> (usize, usize) {
        (self.votes.len(), self.proposals.len())
    }

    /// Whether the instance already holds this very vote, signature and all: a copy (a
    /// peer's resend) that needs neither checking nor handling again.
    pub fn holds_vote(&self, signed: &SignedVote) -> bool {
        self.votes.iter().any(|v| v == signed)
    }

    /// Whether the instance already holds this very proposal (compared by its signature,
    /// which covers the block hash).
    pub fn holds_proposal(&self, signed: &SignedProposal) -> bool {
        self.proposals.iter().any(|p| {
            p.signed.proposer == signed.proposer
                && p.signed.proposal == signed.proposal
                && p.signed.signature == signed.signature
        })
    }

    pub fn is_decided(&self) -> bool {
        self.decided
    }

    pub fn validators(&self) -> &Arc<ValidatorSet> {
        &self.validators
    }

    /// Heap bytes this instance holds in its own vectors and the transaction lists of the
    /// blocks it keeps (not counting memos inside transactions; the validator set is shared).
    pub fn heap_bytes(&self) -> usize {
        let blocks: usize = self
            .proposals
            .iter()
            .map(|p| p.signed.block.txs.len() * std::mem::size_of::<SignedTransaction>())
            .sum();
        self.proposals.capacity() * std::mem::size_of::<Proposed>()
            + self.votes.capacity() * std::mem::size_of::<SignedVote>()
            + blocks
    }

    pub fn handle(&mut self, config: &Config, input: Input) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.decided {
            return effects;
        }
        self.start_once(config, &mut effects);
        match input {
            Input::Start => {}
            Input::Proposal {
                signed,
                received_ms,
            } => self.on_proposal(*signed, received_ms, &mut effects),
            Input::Vote(signed) => self.on_vote(signed, &mut effects),
            Input::Timeout(timeout) => self.on_timeout(config, timeout, &mut effects),
            Input::BlockVerdict { block_hash, valid } => {
                for proposed in &mut self.proposals {
                    if proposed.signed.proposal.block_hash == block_hash {
                        proposed.valid = Some(valid);
                    }
                }
            }
            Input::ProposalBuilt { round, block } => self.on_built(round, block, &mut effects),
        }
        self.apply_rules(config, &mut effects);
        effects
    }

    /// L10: upon start, StartRound(0) — or the round after the last one signed in, after a
    /// restart. Any first input starts the instance: a height starts lazily.
    fn start_once(&mut self, config: &Config, effects: &mut Vec<Effect>) {
        if self.started {
            return;
        }
        self.started = true;
        self.schedule(config, TimeoutKind::Resend, effects);
        self.start_round(config, self.round, effects);
    }

    /// L11-21: StartRound.
    fn start_round(&mut self, config: &Config, round: Round, effects: &mut Vec<Effect>) {
        self.round = round;
        self.step = Step::Propose;
        self.forget_old_rounds();
        if self.proposer(round) == self.me {
            match self
                .valid
                .and_then(|valid| self.proposal_with(valid.block_hash))
            {
                // L15-16: re-propose the valid value, with the prevotes that made it valid
                // (peers need them for L28 and may have missed them).
                Some(block) => {
                    let valid_round = self.valid.map(|valid| valid.round);
                    self.propose(round, block, valid_round, effects);
                    effects.push(Effect::Rebroadcast {
                        proposal: None,
                        votes: self.polka(self.valid),
                    });
                }
                // L18: getValue().
                None => effects.push(Effect::BuildProposal { round }),
            }
        }
        // L21. The proposer schedules it too: it may have nothing to propose.
        self.schedule(config, TimeoutKind::Propose, effects);
    }

    fn on_built(&mut self, round: Round, block: Option<Block>, effects: &mut Vec<Effect>) {
        let Some(block) = block else { return };
        if round != self.round || self.step != Step::Propose || self.proposer(round) != self.me {
            return;
        }
        // validRound is -1 here.
        self.propose(round, block, None, effects);
    }

    /// L19: broadcast ⟨PROPOSAL, h, round, proposal, validRound⟩.
    fn propose(
        &self,
        round: Round,
        block: Block,
        valid_round: Option<Round>,
        effects: &mut Vec<Effect>,
    ) {
        effects.push(Effect::SignProposal {
            proposal: Proposal {
                chain_id: self.chain_id,
                height: self.height,
                round,
                block_hash: block.hash(),
                valid_round,
            },
            block,
        });
    }

    fn on_proposal(&mut self, signed: SignedProposal, received_ms: u64, effects: &mut Vec<Effect>) {
        let proposal = &signed.proposal;
        let round = proposal.round;
        let acceptable = proposal.chain_id == self.chain_id
            && proposal.height == self.height
            && self.in_window(round)
            && signed.proposer == self.proposer(round)
            && proposal
                .valid_round
                .is_none_or(|valid_round| valid_round < round)
            && !self
                .proposals
                .iter()
                .any(|p| p.signed.proposal.round == round);
        if !acceptable {
            return;
        }
        let known = self
            .proposals
            .iter()
            .find(|p| p.signed.proposal.block_hash == proposal.block_hash)
            .and_then(|p| p.valid);
        if known.is_none() {
            effects.push(Effect::VerifyBlock(signed.block.clone()));
        }
        let timely = self
            .params
            .is_timely(signed.block.header.timestamp_ms, received_ms, round);
        self.proposals.push(Proposed {
            signed,
            valid: known,
            timely,
        });
    }

    fn on_vote(&mut self, signed: SignedVote, effects: &mut Vec<Effect>) {
        let vote = &signed.vote;
        if vote.chain_id != self.chain_id
            || vote.height != self.height
            || !self.in_window(vote.round)
            || self.validators.power_of(&signed.voter).is_none()
        {
            return;
        }
        let same_step = |v: &&SignedVote| {
            v.voter == signed.voter && v.vote.round == vote.round && v.vote.step == vote.step
        };
        let earlier: Vec<&SignedVote> = self.votes.iter().filter(same_step).collect();
        if earlier.iter().any(|v| v.vote.block_hash == vote.block_hash) {
            return;
        }
        let Some(first) = earlier.first() else {
            self.votes.push(signed);
            return;
        };
        effects.push(Effect::Evidence(Equivocation {
            first: (*first).clone(),
            second: signed.clone(),
        }));
        // An equivocator's vote for a block still counts towards that block's quorums: a
        // polka that holds it is a polka (the voter could have sent that vote alone to
        // everyone). Without it, a host that first got the equivocator's other vote could
        // never see the polka of a value others are locked on, and the height would never
        // end. Kept for a block proposed here, or as the one second vote, so a voter holds
        // at most 2 + the proposals kept per step.
        let proposed = vote.block_hash.is_some_and(|hash| {
            self.proposals
                .iter()
                .any(|p| p.signed.proposal.block_hash == hash)
        });
        if vote.block_hash.is_some() && (proposed || earlier.len() < 2) {
            self.votes.push(signed);
        }
    }

    fn on_timeout(&mut self, config: &Config, timeout: Timeout, effects: &mut Vec<Effect>) {
        if timeout.height != self.height {
            return;
        }
        let current = timeout.round == self.round;
        match timeout.kind {
            // L57-60: OnTimeoutPropose.
            TimeoutKind::Propose if current && self.step == Step::Propose => {
                self.vote(VoteStep::Prevote, None, effects);
                self.step = Step::Prevote;
            }
            // L61-64: OnTimeoutPrevote.
            TimeoutKind::Prevote if current && self.step == Step::Prevote => {
                self.vote(VoteStep::Precommit, None, effects);
                self.step = Step::Precommit;
            }
            // L65-67: OnTimeoutPrecommit.
            TimeoutKind::Precommit if current => {
                self.start_round(config, Round(self.round.0.saturating_add(1)), effects);
            }
            TimeoutKind::Resend => {
                self.rebroadcast(effects);
                self.schedule(config, TimeoutKind::Resend, effects);
            }
            _ => {}
        }
    }

    /// Evaluates the upon-rules until none fires.
    fn apply_rules(&mut self, config: &Config, effects: &mut Vec<Effect>) {
        loop {
            if self.decide(effects) {
                return;
            }
            let fired = self.skip_round(config, effects)
                || self.prevote_on_proposal(config, effects)
                || self.prevote_timeout(config, effects)
                || self.lock_on_polka(effects)
                || self.precommit_nil(effects)
                || self.precommit_timeout(config, effects);
            if !fired {
                return;
            }
        }
    }

    /// L22-33: prevote on the round's proposal.
    fn prevote_on_proposal(&mut self, config: &Config, effects: &mut Vec<Effect>) -> bool {
        if self.step != Step::Propose {
            return false;
        }
        let Some(proposed) = self.proposal_in(self.round) else {
            return false;
        };
        let Some(valid) = proposed.valid else {
            return false; // Waiting for the ledger's verdict.
        };
        let block_hash = proposed.signed.proposal.block_hash;
        let accept = match proposed.signed.proposal.valid_round {
            // L22-23: valid(v) ∧ (lockedRound = −1 ∨ lockedValue = v), and, as in PBTS, a
            // fresh proposal is timely.
            None => {
                valid
                    && Self::timely(config, proposed)
                    && self.lock_allows(config, block_hash, None)
            }
            // L28-29: needs 2f+1 prevotes for v in vr; valid(v) ∧ (lockedRound ≤ vr ∨ lockedValue = v).
            Some(valid_round) => {
                let polka =
                    self.has_quorum(valid_round, VoteStep::Prevote, Choice::Block(block_hash));
                if !polka {
                    return false;
                }
                valid && self.lock_allows(config, block_hash, Some(valid_round))
            }
        };
        // L24/L26 and L30/L32, then L27/L33.
        self.vote(VoteStep::Prevote, accept.then_some(block_hash), effects);
        self.step = Step::Prevote;
        true
    }

    /// Whether a fresh proposal arrived in time for its block's time (PBTS).
    fn timely(config: &Config, proposed: &Proposed) -> bool {
        #[cfg(feature = "canary")]
        if config.canary_ignore_time {
            return true;
        }
        #[cfg(not(feature = "canary"))]
        let _ = config;
        proposed.timely
    }

    /// Whether the lock lets this host prevote `block_hash`, offered with `valid_round`.
    fn lock_allows(&self, config: &Config, block_hash: Hash, valid_round: Option<Round>) -> bool {
        #[cfg(feature = "canary")]
        if config.canary_ignore_lock {
            return true;
        }
        #[cfg(not(feature = "canary"))]
        let _ = config;
        match self.locked {
            None => true,
            Some(lock) => {
                lock.block_hash == block_hash || valid_round.is_some_and(|vr| lock.round <= vr)
            }
        }
    }

    /// L34-35: schedule the prevote timeout, once per round. The paper waits for 2f+1
    /// prevotes first; here the timeout starts when this host enters the prevote step. A
    /// host that crashed may have lost a prevote it sent nowhere, and with it any chance of
    /// such a quorum in that round; starting the timeout anyway keeps every round finite.
    /// This is safe: a timeout only ever leads to a nil precommit or a later round.
    fn prevote_timeout(&mut self, config: &Config, effects: &mut Vec<Effect>) -> bool {
        if self.step != Step::Prevote || self.prevote_timeout_round == Some(self.round) {
            return false;
        }
        self.prevote_timeout_round = Some(self.round);
        self.schedule(config, TimeoutKind::Prevote, effects);
        true
    }

    /// L36-43: a valid proposal with 2f+1 prevotes: lock and precommit it (if still
    /// prevoting), and remember it as the valid value.
    fn lock_on_polka(&mut self, effects: &mut Vec<Effect>) -> bool {
        let round = self.round;
        if self.step < Step::Prevote || self.polka_round == Some(round) {
            return false;
        }
        let Some(proposed) = self.proposal_in(round) else {
            return false;
        };
        let block_hash = proposed.signed.proposal.block_hash;
        if proposed.valid != Some(true)
            || !self.has_quorum(round, VoteStep::Prevote, Choice::Block(block_hash))
        {
            return false;
        }
        let proposal = (self.step == Step::Prevote).then(|| proposed.signed.clone());
        self.polka_round = Some(round);
        let value = Lock { round, block_hash };
        if let Some(proposal) = proposal {
            self.locked = Some(value);
            let proof = LockProof {
                proposal,
                prevotes: BoundedVec::new(self.polka(Some(value))).unwrap_or_default(),
            };
            effects.push(Effect::PersistLock(proof));
            self.vote(VoteStep::Precommit, Some(block_hash), effects);
            self.step = Step::Precommit;
        }
        self.valid = Some(value);
        true
    }

    /// L44-46: 2f+1 nil prevotes: precommit nil.
    fn precommit_nil(&mut self, effects: &mut Vec<Effect>) -> bool {
        if self.step != Step::Prevote
            || !self.has_quorum(self.round, VoteStep::Prevote, Choice::Nil)
        {
            return false;
        }
        self.vote(VoteStep::Precommit, None, effects);
        self.step = Step::Precommit;
        true
    }

    /// L47-48: upon 2f+1 precommits for anything — or, for the reason given at L34, on
    /// entering the precommit step — schedule the precommit timeout, once per round.
    fn precommit_timeout(&mut self, config: &Config, effects: &mut Vec<Effect>) -> bool {
        let due = self.step == Step::Precommit
            || self.has_quorum(self.round, VoteStep::Precommit, Choice::Any);
        if self.precommit_timeout_round == Some(self.round) || !due {
            return false;
        }
        self.precommit_timeout_round = Some(self.round);
        self.schedule(config, TimeoutKind::Precommit, effects);
        true
    }

    /// L49-54: a valid proposal of any round with 2f+1 precommits for it is decided.
    fn decide(&mut self, effects: &mut Vec<Effect>) -> bool {
        let decided = self.proposals.iter().find(|proposed| {
            let proposal = &proposed.signed.proposal;
            proposed.valid == Some(true)
                && self.has_quorum(
                    proposal.round,
                    VoteStep::Precommit,
                    Choice::Block(proposal.block_hash),
                )
        });
        let Some(proposed) = decided else {
            return false;
        };
        let proposal = &proposed.signed.proposal;
        // Just enough precommits for the quorum: each one stored costs a signature and a
        // tick path in every block row.
        let mut power = 0;
        let signatures = self
            .votes_for(
                proposal.round,
                VoteStep::Precommit,
                Choice::Block(proposal.block_hash),
            )
            .take_while(|v| {
                let short = !self.validators.is_quorum(power);
                power += self.validators.power_of(&v.voter).unwrap_or(0);
                short
            })
            .map(|v| CommitSignature {
                host: v.voter,
                signature: v.signature.clone(),
            })
            .collect();
        let certificate = Certificate {
            chain_id: self.chain_id,
            height: self.height,
            round: proposal.round,
            block_hash: proposal.block_hash,
            // One vote per validator per step, and at most VALIDATORS_MAX validators.
            signatures: BoundedVec::new(signatures).unwrap_or_default(),
        };
        effects.push(Effect::Decided {
            block: proposed.signed.block.clone(),
            certificate,
        });
        self.decided = true;
        true
    }

    /// L55-56: f+1 of the power speaking in a higher round: move to it.
    fn skip_round(&mut self, config: &Config, effects: &mut Vec<Effect>) -> bool {
        let mut rounds: Vec<Round> = self
            .votes
            .iter()
            .map(|v| v.vote.round)
            .chain(self.proposals.iter().map(|p| p.signed.proposal.round))
            .filter(|round| *round > self.round)
            .collect();
        rounds.sort_unstable();
        rounds.dedup();
        let target = rounds.into_iter().rev().find(|round| {
            let mut speakers: Vec<HostId> = self
                .votes
                .iter()
                .filter(|v| v.vote.round == *round)
                .map(|v| v.voter)
                .chain(
                    self.proposals
                        .iter()
                        .filter(|p| p.signed.proposal.round == *round)
                        .map(|p| p.signed.proposer),
                )
                .collect();
            speakers.sort_unstable();
            speakers.dedup();
            let power: u64 = speakers
                .iter()
                .filter_map(|host| self.validators.power_of(host))
                .sum();
            u128::from(power) * 3 > u128::from(self.validators.total_power())
        });
        match target {
            Some(round) => {
                self.start_round(config, round, effects);
                true
            }
            None => false,
        }
    }

    fn vote(&self, step: VoteStep, block_hash: Option<Hash>, effects: &mut Vec<Effect>) {
        effects.push(Effect::SignVote(Vote {
            chain_id: self.chain_id,
            height: self.height,
            round: self.round,
            step,
            block_hash,
        }));
    }

    /// Sends again this host's own votes and proposal of the current round only; with a
    /// proposal of a valid value, also the prevotes that made it valid. A peer left in an
    /// earlier round moves up on these (L55: f+1 of the power in a later round); a peer that
    /// missed a decision of an earlier round gets the block by sync once the others decide.
    /// Resending every round kept made the traffic of a stuck chain grow with its rounds,
    /// and with many stuck chains that traffic alone saturated the hosts.
    fn rebroadcast(&self, effects: &mut Vec<Effect>) {
        let mut votes: Vec<SignedVote> = self
            .votes
            .iter()
            .filter(|v| v.voter == self.me && v.vote.round == self.round)
            .cloned()
            .collect();
        let proposal = self
            .proposal_in(self.round)
            .filter(|p| p.signed.proposer == self.me)
            .map(|p| p.signed.clone());
        if let Some(proposal) = &proposal {
            let valid = proposal.proposal.valid_round.map(|round| Lock {
                round,
                block_hash: proposal.proposal.block_hash,
            });
            votes.extend(self.polka(valid));
        }
        if proposal.is_some() || !votes.is_empty() {
            effects.push(Effect::Rebroadcast { proposal, votes });
        }
    }

    /// The prevotes for `value` in its round.
    fn polka(&self, value: Option<Lock>) -> Vec<SignedVote> {
        let Some(value) = value else {
            return Vec::new();
        };
        self.votes_for(
            value.round,
            VoteStep::Prevote,
            Choice::Block(value.block_hash),
        )
        .cloned()
        .collect()
    }

    fn schedule(&self, config: &Config, kind: TimeoutKind, effects: &mut Vec<Effect>) {
        effects.push(Effect::ScheduleTimeout {
            timeout: Timeout {
                height: self.height,
                round: self.round,
                kind,
            },
            after_ms: config.timeout_ms(kind, self.round),
        });
    }

    fn proposer(&self, round: Round) -> HostId {
        proposer(&self.validators, &self.chain_id, self.height, round)
    }

    fn proposal_in(&self, round: Round) -> Option<&Proposed> {
        self.proposals
            .iter()
            .find(|p| p.signed.proposal.round == round)
    }

    fn proposal_with(&self, block_hash: Hash) -> Option<Block> {
        self.proposals
            .iter()
            .find(|p| p.signed.proposal.block_hash == block_hash)
            .map(|p| p.signed.block.clone())
    }

    fn in_window(&self, round: Round) -> bool {
        round.0 <= self.round.0.saturating_add(ROUNDS_AHEAD_MAX)
    }

    /// Drops votes and proposals of rounds long past, keeping those of the lock and valid
    /// rounds: memory stays bounded however many rounds a height takes.
    fn forget_old_rounds(&mut self) {
        let oldest = self.round.0.saturating_sub(ROUNDS_KEPT_MAX);
        let keep = |round: Round, locked: Option<Lock>, valid: Option<Lock>| {
            round.0 >= oldest
                || locked.is_some_and(|l| l.round == round)
                || valid.is_some_and(|v| v.round == round)
        };
        let (locked, valid) = (self.locked, self.valid);
        self.votes.retain(|v| keep(v.vote.round, locked, valid));
        self.proposals
            .retain(|p| keep(p.signed.proposal.round, locked, valid));
    }

    fn votes_for(
        &self,
        round: Round,
        step: VoteStep,
        choice: Choice,
    ) -> impl Iterator<Item = &SignedVote> {
        self.votes.iter().filter(move |v| {
            v.vote.round == round
                && v.vote.step == step
                && match choice {
                    Choice::Any => true,
                    Choice::Nil => v.vote.block_hash.is_none(),
                    Choice::Block(hash) => v.vote.block_hash == Some(hash),
                }
        })
    }

    /// Whether votes for `choice` in (`round`, `step`) hold more than 2/3 of the power, each
    /// voter counted once (an equivocator's two votes are both "any").
    fn has_quorum(&self, round: Round, step: VoteStep, choice: Choice) -> bool {
        let mut voters: Vec<HostId> = self
            .votes_for(round, step, choice)
            .map(|v| v.voter)
            .collect();
        voters.sort_unstable();
        voters.dedup();
        let power: u64 = voters
            .iter()
            .filter_map(|voter| self.validators.power_of(voter))
            .sum();
        self.validators.is_quorum(power)
    }
}
