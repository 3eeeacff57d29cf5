//! Instances of one height wired together over a perfect, in-order network.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use myriad_testing::keys;
use myriad_types::{
    sign_alone, Block, BlockHeader, BoundedVec, Certificate, ChainId, ChainParams, CommitSignature,
    Hash, Height, HostId, Proposal, Round, SecretKey, SignedProposal, SignedVote, Validator,
    ValidatorSet, Vote, VoteStep,
};

use crate::*;

const CHAIN: ChainId = ChainId([7; 32]);
const HEIGHT: Height = Height(1);

fn config() -> Config {
    Config::default()
}

struct Node {
    key: SecretKey,
    instance: Instance,
    guard: SignerGuard,
    timers: Vec<(u64, Timeout)>,
    decided: Option<(Block, Certificate)>,
    evidence: usize,
}

/// A tiny network: one height, every message delivered to every node in order.
struct Net {
    nodes: Vec<Node>,
    /// Nodes that neither send nor receive.
    silent: Vec<usize>,
    /// Blocks the ledger calls invalid.
    invalid: Vec<Hash>,
    queue: VecDeque<(usize, Input)>,
    /// Every message broadcast, in order.
    sent: Vec<Input>,
    now: u64,
}

fn block(proposer: &HostId, round: Round, time_ms: u64) -> Block {
    Block {
        header: BlockHeader {
            chain_id: CHAIN,
            height: HEIGHT,
            prev_hash: Hash::ZERO,
            timestamp_ms: time_ms,
            proposer: *proposer,
            tx_root: Hash::ZERO,
            state_root: Hash::digest(&round.0.to_le_bytes()),
            validators_hash: Hash::ZERO,
        },
        txs: BoundedVec::default(),
    }
}

fn set(keys: &[SecretKey]) -> Arc<ValidatorSet> {
    Arc::new(
        ValidatorSet::new(
            keys.iter()
                .map(|k| Validator {
                    host: k.host_id(),
                    power: 1,
                })
                .collect(),
        )
        .unwrap(),
    )
}

impl Net {
    fn new(count: u8) -> Net {
        let keys = keys(count);
        let validators = set(&keys);
        let nodes = keys
            .into_iter()
            .map(|key| Node {
                instance: Instance::new(
                    CHAIN,
                    HEIGHT,
                    key.host_id(),
                    validators.clone(),
                    ChainParams::default(),
                ),
                key,
                guard: SignerGuard::default(),
                timers: vec![],
                decided: None,
                evidence: 0,
            })
            .collect();
        Net {
            nodes,
            silent: vec![],
            invalid: vec![],
            queue: VecDeque::new(),
            sent: vec![],
            now: 0,
        }
    }

    fn index_of(&self, host: &HostId) -> usize {
        self.nodes
            .iter()
            .position(|n| n.key.host_id() == *host)
            .unwrap()
    }

    fn broadcast(&mut self, input: Input) {
        self.sent.push(input.clone());
        for i in 0..self.nodes.len() {
            self.queue.push_back((i, input.clone()));
        }
    }

    fn effects(&mut self, i: usize, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::SignVote(vote) => {
                    let node = &mut self.nodes[i];
                    if let Ok(approval) = node.guard.approve_vote(vote) {
                        let vote = approval.release();
                        let signature = sign_alone(&node.key, &vote);
                        let voter = node.key.host_id();
                        self.broadcast(Input::Vote(SignedVote {
                            vote,
                            voter,
                            signature,
                        }));
                    }
                }
                Effect::SignProposal { proposal, block } => {
                    let node = &mut self.nodes[i];
                    let approval = node.guard.approve_proposal(proposal).unwrap();
                    let proposal = approval.release();
                    let signature = sign_alone(&node.key, &proposal);
                    let proposer = node.key.host_id();
                    let signed = Box::new(SignedProposal {
                        proposal,
                        proposer,
                        signature,
                        block,
                    });
                    let received_ms = self.now;
                    self.broadcast(Input::Proposal {
                        signed,
                        received_ms,
                    });
                }
                Effect::BuildProposal { round } => {
                    let host = self.nodes[i].key.host_id();
                    let block = Some(block(&host, round, self.now));
                    self.queue
                        .push_back((i, Input::ProposalBuilt { round, block }));
                }
                Effect::VerifyBlock(block) => {
                    let block_hash = block.hash();
                    let valid = !self.invalid.contains(&block_hash);
                    self.queue
                        .push_back((i, Input::BlockVerdict { block_hash, valid }));
                }
                Effect::ScheduleTimeout { timeout, after_ms } => {
                    self.nodes[i].timers.push((self.now + after_ms, timeout));
                }
                Effect::Decided { block, certificate } => {
                    self.nodes[i].decided = Some((block, certificate));
                }
                Effect::Evidence(_) => self.nodes[i].evidence += 1,
                Effect::Rebroadcast { .. } | Effect::PersistLock(_) => {}
            }
        }
    }

    /// Runs until every live node decided or nothing is left to do; returns the virtual time.
    fn run(&mut self) -> u64 {
        for _ in 0..100_000 {
            if let Some((i, input)) = self.queue.pop_front() {
                if self.silent.contains(&i) {
                    continue;
                }
                let effects = self.nodes[i].instance.handle(&config(), input);
                self.effects(i, effects);
                continue;
            }
            let live = (0..self.nodes.len()).filter(|i| !self.silent.contains(i));
            if live.clone().all(|i| self.nodes[i].decided.is_some()) {
                return self.now;
            }
            // Fire the earliest timer of a live node.
            let next = live
                .flat_map(|i| self.nodes[i].timers.iter().map(move |t| (t.0, i, t.1)))
                .filter(|(_, _, t)| t.kind != TimeoutKind::Resend)
                .min();
            let Some((at, i, timeout)) = next else {
                return self.now;
            };
            self.nodes[i].timers.retain(|t| (t.0, t.1) != (at, timeout));
            self.now = self.now.max(at);
            self.queue.push_back((i, Input::Timeout(timeout)));
        }
        panic!("the network did not settle");
    }

    fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.queue.push_back((i, Input::Start));
        }
    }

    fn decisions(&self) -> BTreeMap<Hash, usize> {
        let mut decisions = BTreeMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            if self.silent.contains(&i) {
                continue;
            }
            let (block, certificate) = node.decided.as_ref().expect("a live node decided");
            let validators = node.instance.validators();
            certificate.verify(validators).unwrap();
            assert_eq!(certificate.block_hash, block.hash());
            // Just enough precommits: without its last signer, no quorum.
            let power = |signatures: &[CommitSignature]| -> u64 {
                signatures
                    .iter()
                    .filter_map(|s| validators.power_of(&s.host))
                    .sum()
            };
            let signatures: &[CommitSignature] = &certificate.signatures;
            assert!(!validators.is_quorum(power(&signatures[..signatures.len() - 1])));
            *decisions.entry(block.hash()).or_default() += 1;
        }
        decisions
    }
}

#[test]
fn four_honest_validators_decide_one_block_in_round_zero() {
    let mut net = Net::new(4);
    net.start_all();
    net.run();
    let decisions = net.decisions();
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    let (block, certificate) = net.nodes[0].decided.clone().unwrap();
    assert_eq!(certificate.round, Round(0));
    let proposer = proposer(net.nodes[0].instance.validators(), &CHAIN, HEIGHT, Round(0));
    assert_eq!(block.header.proposer, proposer);
}

#[test]
fn a_certificate_carries_just_enough_precommits() {
    let mut net = Net::new(4);
    net.start_all();
    net.run();
    let (block, _) = net.nodes[0].decided.clone().unwrap();
    let is_precommit =
        |input: &&Input| matches!(input, Input::Vote(v) if v.vote.step == VoteStep::Precommit);
    let precommits: Vec<Input> = net.sent.iter().filter(is_precommit).cloned().collect();
    assert_eq!(precommits.len(), 4);
    let proposal = net
        .sent
        .iter()
        .find(|i| matches!(i, Input::Proposal { .. }));
    // A validator that hears all four precommits before the proposal.
    let late = &net.nodes[0];
    let validators = late.instance.validators().clone();
    let mut instance = Instance::new(
        CHAIN,
        HEIGHT,
        late.key.host_id(),
        validators,
        ChainParams::default(),
    );
    let verdict = Input::BlockVerdict {
        block_hash: block.hash(),
        valid: true,
    };
    let inputs = precommits
        .into_iter()
        .chain(proposal.cloned())
        .chain([verdict]);
    let certificate = inputs
        .flat_map(|input| instance.handle(&config(), input))
        .find_map(|effect| match effect {
            Effect::Decided { certificate, .. } => Some(certificate),
            _ => None,
        })
        .expect("decided");
    assert_eq!(certificate.signatures.len(), 3, "3 of 4 are more than 2/3");
    certificate.verify(instance.validators()).unwrap();
}

#[test]
fn a_silent_proposer_is_skipped_after_its_timeout() {
    let mut net = Net::new(4);
    let first = proposer(net.nodes[0].instance.validators(), &CHAIN, HEIGHT, Round(0));
    let silent = net.index_of(&first);
    net.silent.push(silent);
    net.start_all();
    let took = net.run();
    assert_eq!(net.decisions().len(), 1);
    let (block, certificate) = net.nodes[(silent + 1) % 4].decided.clone().unwrap();
    assert!(certificate.round > Round(0));
    assert_ne!(block.header.proposer, first);
    assert!(
        took >= config().propose_ms,
        "decided only after the propose timeout"
    );
}

#[test]
fn a_block_the_ledger_refuses_is_never_decided() {
    let mut net = Net::new(4);
    let first = proposer(net.nodes[0].instance.validators(), &CHAIN, HEIGHT, Round(0));
    net.invalid.push(block(&first, Round(0), 0).hash());
    net.start_all();
    net.run();
    let decisions = net.decisions();
    assert_eq!(decisions.len(), 1);
    assert!(!decisions.contains_key(&block(&first, Round(0), 0).hash()));
}

#[test]
fn seven_validators_with_two_silent_still_decide() {
    let mut net = Net::new(7);
    net.silent = vec![1, 4];
    net.start_all();
    net.run();
    assert_eq!(net.decisions().values().sum::<usize>(), 5);
    assert_eq!(net.decisions().len(), 1);
}

fn signed_vote(key: &SecretKey, round: u32, step: VoteStep, block: Option<Hash>) -> SignedVote {
    let vote = Vote {
        chain_id: CHAIN,
        height: HEIGHT,
        round: Round(round),
        step,
        block_hash: block,
    };
    SignedVote {
        signature: sign_alone(key, &vote),
        vote,
        voter: key.host_id(),
    }
}

#[test]
fn two_different_votes_from_one_validator_are_evidence() {
    let keys = keys(4);
    let mut instance = Instance::new(
        CHAIN,
        HEIGHT,
        keys[0].host_id(),
        set(&keys),
        ChainParams::default(),
    );
    let first = signed_vote(&keys[2], 0, VoteStep::Prevote, Some(Hash([1; 32])));
    let second = signed_vote(&keys[2], 0, VoteStep::Prevote, None);
    instance.handle(&config(), Input::Vote(first.clone()));
    let effects = instance.handle(&config(), Input::Vote(second.clone()));
    assert!(effects.contains(&Effect::Evidence(Equivocation { first, second })));
    // The same vote again is no evidence.
    let again = signed_vote(&keys[2], 0, VoteStep::Prevote, Some(Hash([1; 32])));
    let effects = instance.handle(&config(), Input::Vote(again));
    assert!(!effects.iter().any(|e| matches!(e, Effect::Evidence(_))));
}

#[test]
fn an_instance_does_nothing_until_its_first_input_and_ignores_other_heights() {
    let keys = keys(4);
    let mut instance = Instance::new(
        CHAIN,
        HEIGHT,
        keys[0].host_id(),
        set(&keys),
        ChainParams::default(),
    );
    assert_eq!(instance.heap_bytes(), 0);
    let mut other_height = signed_vote(&keys[1], 0, VoteStep::Prevote, None);
    other_height.vote.height = Height(2);
    let effects = instance.handle(&config(), Input::Vote(other_height));
    // The first input starts round 0 (a timer at least), but the vote is not kept.
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::ScheduleTimeout { .. })));
    assert_eq!(instance.message_counts().0, 0);
}

/// The proposal of `round`'s proposer, offering a fresh block.
fn fresh_proposal(keys: &[SecretKey], round: Round) -> SignedProposal {
    let proposer_host = proposer(&set(keys), &CHAIN, HEIGHT, round);
    let proposer_key = keys.iter().find(|k| k.host_id() == proposer_host).unwrap();
    let value = block(&proposer_host, round, 0);
    let proposal = Proposal {
        chain_id: CHAIN,
        height: HEIGHT,
        round,
        block_hash: value.hash(),
        valid_round: None,
    };
    SignedProposal {
        signature: sign_alone(proposer_key, &proposal),
        proposal,
        proposer: proposer_host,
        block: value,
    }
}

/// Offers `signed`, received at `received_ms`, and the ledger's verdict that its block is
/// valid; returns what the instance does.
fn offer(instance: &mut Instance, signed: SignedProposal, received_ms: u64) -> Vec<Effect> {
    let block_hash = signed.block.hash();
    let mut effects = instance.handle(
        &config(),
        Input::Proposal {
            signed: Box::new(signed),
            received_ms,
        },
    );
    effects.extend(instance.handle(
        &config(),
        Input::BlockVerdict {
            block_hash,
            valid: true,
        },
    ));
    effects
}

/// The prevote among `effects`, if any: `Some(None)` is a nil prevote.
fn prevote_in(effects: &[Effect]) -> Option<Option<Hash>> {
    effects.iter().find_map(|e| match e {
        Effect::SignVote(vote) if vote.step == VoteStep::Prevote => Some(vote.block_hash),
        _ => None,
    })
}

/// What a validator other than the proposer prevotes for the round-0 proposal (of block
/// time 0), received at `received_ms`.
fn prevote_when_received(keys: &[SecretKey], received_ms: u64) -> Option<Option<Hash>> {
    let round0 = proposer(&set(keys), &CHAIN, HEIGHT, Round(0));
    let me = keys.iter().position(|k| k.host_id() != round0).unwrap();
    let params = ChainParams::default();
    let mut instance = Instance::new(CHAIN, HEIGHT, keys[me].host_id(), set(keys), params);
    let effects = offer(&mut instance, fresh_proposal(keys, Round(0)), received_ms);
    prevote_in(&effects)
}

#[test]
fn a_fresh_proposal_that_is_not_timely_gets_a_nil_prevote() {
    let keys = keys(4);
    let ChainParams {
        precision_ms,
        msg_delay_ms,
        ..
    } = ChainParams::default();
    let value = fresh_proposal(&keys, Round(0)).block.hash();
    let latest = precision_ms + msg_delay_ms;
    assert_eq!(prevote_when_received(&keys, latest), Some(Some(value)));
    assert_eq!(prevote_when_received(&keys, latest + 1), Some(None));
}

/// What a validator prevotes on the round-0 value re-proposed in round 1 with its polka,
/// long after its time; with `equivocator`, one of the polka's voters first sent it a nil
/// prevote in round 0. Returns the prevote and the value.
fn prevote_on_reproposal(equivocator: bool) -> (Option<Option<Hash>>, Hash) {
    let keys = keys(4);
    let validators = set(&keys);
    let round1 = proposer(&validators, &CHAIN, HEIGHT, Round(1));
    let me = keys.iter().position(|k| k.host_id() != round1).unwrap();
    let params = ChainParams::default();
    let mut instance = Instance::new(CHAIN, HEIGHT, keys[me].host_id(), validators, params);
    let others: Vec<&SecretKey> = keys
        .iter()
        .filter(|k| k.host_id() != keys[me].host_id())
        .collect();
    // f+1 votes of round 1 move the instance there.
    for key in &others[..2] {
        instance.handle(
            &config(),
            Input::Vote(signed_vote(key, 1, VoteStep::Prevote, None)),
        );
    }
    assert_eq!(instance.round(), Round(1));
    // The value of round 0, with its polka, re-proposed long after its time.
    let value = fresh_proposal(&keys, Round(0)).block;
    if equivocator {
        instance.handle(
            &config(),
            Input::Vote(signed_vote(others[2], 0, VoteStep::Prevote, None)),
        );
    }
    for key in &others {
        instance.handle(
            &config(),
            Input::Vote(signed_vote(key, 0, VoteStep::Prevote, Some(value.hash()))),
        );
    }
    let proposal = Proposal {
        chain_id: CHAIN,
        height: HEIGHT,
        round: Round(1),
        block_hash: value.hash(),
        valid_round: Some(Round(0)),
    };
    let proposer_key = keys.iter().find(|k| k.host_id() == round1).unwrap();
    let signed = SignedProposal {
        signature: sign_alone(proposer_key, &proposal),
        proposal,
        proposer: round1,
        block: value.clone(),
    };
    let received_ms = 10 * (params.precision_ms + params.msg_delay_ms);
    let effects = offer(&mut instance, signed, received_ms);
    (prevote_in(&effects), value.hash())
}

#[test]
fn a_reproposal_with_a_polka_need_not_be_timely() {
    let (prevote, value) = prevote_on_reproposal(false);
    assert_eq!(prevote, Some(Some(value)));
}

/// Its 3 prevotes of 4 are a polka even though one voter also prevoted nil to this host:
/// counting only each voter's first vote, the host would never see the polka the others
/// are locked on, and the height would never end (simulator seed 103 found it).
#[test]
fn an_equivocators_prevote_counts_towards_the_polka_it_joins() {
    let (prevote, value) = prevote_on_reproposal(true);
    assert_eq!(prevote, Some(Some(value)));
}

/// Drives the instance of `keys[me]` to lock on the round-0 proposal.
fn locked_instance(keys: &[SecretKey], me: usize) -> (Instance, Hash) {
    let mut instance = Instance::new(
        CHAIN,
        HEIGHT,
        keys[me].host_id(),
        set(keys),
        ChainParams::default(),
    );
    let signed = fresh_proposal(keys, Round(0));
    let value = signed.block.clone();
    offer(&mut instance, signed, 0);
    let mut precommitted = false;
    for (_, key) in keys.iter().enumerate().filter(|(i, _)| *i != me) {
        let effects = instance.handle(
            &config(),
            Input::Vote(signed_vote(key, 0, VoteStep::Prevote, Some(value.hash()))),
        );
        precommitted |= effects.contains(&Effect::SignVote(Vote {
            chain_id: CHAIN,
            height: HEIGHT,
            round: Round(0),
            step: VoteStep::Precommit,
            block_hash: Some(value.hash()),
        }));
    }
    assert!(precommitted, "a polka for a valid proposal is precommitted");
    assert_eq!(instance.locked().map(|l| l.block_hash), Some(value.hash()));
    (instance, value.hash())
}

#[test]
fn a_locked_validator_prevotes_nil_for_another_fresh_proposal() {
    let keys = keys(4);
    let validators = set(&keys);
    let second = proposer(&validators, &CHAIN, HEIGHT, Round(1));
    // A node that does not propose round 1 (the proposer would re-propose its own value).
    let me = keys.iter().position(|k| k.host_id() != second).unwrap();
    let (mut instance, locked) = locked_instance(&keys, me);
    // Round 1 starts (the precommit timeout fired), with a different fresh proposal.
    let timeout = Timeout {
        height: HEIGHT,
        round: Round(0),
        kind: TimeoutKind::Precommit,
    };
    instance.handle(&config(), Input::Timeout(timeout));
    assert_eq!(instance.round(), Round(1));
    let signed = fresh_proposal(&keys, Round(1));
    let other = signed.block.clone();
    assert_ne!(other.hash(), locked);
    let effects = offer(&mut instance, signed, 0);
    let prevote = prevote_in(&effects);
    assert_eq!(prevote, Some(None), "locked on another block: prevote nil");
}

#[test]
fn a_restarted_instance_resumes_its_round_with_its_lock_and_resends_its_last_vote() {
    let keys = keys(4);
    let block_hash = Hash([5; 32]);
    let state = myriad_types::SignerState {
        height: HEIGHT,
        round: Round(3),
        step: myriad_types::SignedStep::Prevote,
        block_hash: Some(block_hash),
        lock: Some(myriad_types::Lock {
            round: Round(2),
            block_hash,
        }),
    };
    let (instance, effects) = Instance::recover(
        &config(),
        CHAIN,
        keys[0].host_id(),
        set(&keys),
        ChainParams::default(),
        &state,
        None,
    );
    assert_eq!(
        (instance.round(), instance.step()),
        (Round(3), Step::Prevote)
    );
    assert_eq!(instance.locked(), state.lock);
    let resent = Vote {
        chain_id: CHAIN,
        height: HEIGHT,
        round: Round(3),
        step: VoteStep::Prevote,
        block_hash: Some(block_hash),
    };
    assert!(effects.contains(&Effect::SignVote(resent.clone())));
    // The guard that signed it before the crash allows exactly that vote again.
    let mut guard = SignerGuard::recover(Some(state));
    assert!(guard.approve_vote(resent).is_ok());
}

#[test]
fn f_plus_one_in_a_higher_round_moves_the_instance_there() {
    let keys = keys(4);
    let mut instance = Instance::new(
        CHAIN,
        HEIGHT,
        keys[0].host_id(),
        set(&keys),
        ChainParams::default(),
    );
    instance.handle(&config(), Input::Start);
    instance.handle(
        &config(),
        Input::Vote(signed_vote(&keys[1], 5, VoteStep::Prevote, None)),
    );
    assert_eq!(instance.round(), Round(0), "one of four is not f+1");
    instance.handle(
        &config(),
        Input::Vote(signed_vote(&keys[2], 5, VoteStep::Precommit, None)),
    );
    assert_eq!(instance.round(), Round(5));
}

/// Sizes for the record: run with `--nocapture` to see them.
#[test]
fn instance_memory() {
    for count in [4u8, 7] {
        let keys = keys(count);
        let fresh = Instance::new(
            CHAIN,
            HEIGHT,
            keys[0].host_id(),
            set(&keys),
            ChainParams::default(),
        );
        let mut net = Net::new(count);
        net.nodes.truncate(count as usize);
        // Mid-round: the proposal and every prevote delivered, no precommit yet.
        net.start_all();
        while let Some((i, input)) = net.queue.pop_front() {
            if i != 0 || matches!(&input, Input::Vote(v) if v.vote.step == VoteStep::Precommit) {
                if i != 0 {
                    let effects = net.nodes[i].instance.handle(&config(), input);
                    net.effects(i, effects);
                }
                continue;
            }
            let effects = net.nodes[0].instance.handle(&config(), input);
            net.effects(0, effects);
        }
        let mid = &net.nodes[0].instance;
        assert!(
            mid.message_counts().0 >= usize::from(count),
            "mid-round holds the prevotes"
        );
        println!(
            "validators {count}: size_of Instance {} B; fresh heap {} B; mid-round heap {} B ({} votes, {} proposals)",
            std::mem::size_of::<Instance>(),
            fresh.heap_bytes(),
            mid.heap_bytes(),
            mid.message_counts().0,
            mid.message_counts().1,
        );
        assert!(std::mem::size_of::<Instance>() + fresh.heap_bytes() < 1024);
    }
}

#[test]
fn round_timeouts_grow_then_stop_at_the_cap() {
    let config = Config::default();
    let propose = |round| config.timeout_ms(TimeoutKind::Propose, Round(round));
    assert_eq!(propose(0), config.propose_ms);
    assert_eq!(propose(1), config.propose_ms + config.round_increase_ms);
    assert_eq!(propose(1_000), config.round_timeout_max_ms);
    assert_eq!(propose(u32::MAX), config.round_timeout_max_ms);
    assert_eq!(
        config.timeout_ms(TimeoutKind::Resend, Round(1_000)),
        config.resend_ms
    );
}
