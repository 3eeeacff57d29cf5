//! The signer guard: per chain, the last (height, round, step, block) this host signed. It
//! refuses any signature that could conflict with one already given.
//!
//! The protocol is persist-then-release: [`SignerGuard::approve_vote`] (or `_proposal`)
//! returns an [`Approval`] whose [`Approval::state`] the host writes to its store and fsyncs
//! in the same write as the tick; only then does [`Approval::release`] hand over the message,
//! whose leaf ([`Approval::leaf`]) the host's one signature of the tick covers.
//! After a crash the guard is rebuilt from the stored state with [`SignerGuard::recover`],
//! so the host re-signs the same message or nothing.

use myriad_types::{
    tick_leaf, Hash, Height, Lock, Proposal, Round, Signable, SignedStep, SignerState, Vote,
    VoteStep,
};

/// Why the guard refused to sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("already signed {signed:?} for {step:?} at height {height} round {round}; refusing {requested:?}")]
    Conflict {
        height: Height,
        round: Round,
        step: SignedStep,
        signed: Option<Hash>,
        requested: Option<Hash>,
    },
    #[error("already signed at height {signed_height} round {signed_round} {signed_step:?}; refusing an earlier message at height {height} round {round} {step:?}")]
    Stale {
        signed_height: Height,
        signed_round: Round,
        signed_step: SignedStep,
        height: Height,
        round: Round,
        step: SignedStep,
    },
}

/// What one chain's signer has signed so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignerGuard {
    last: Option<SignerState>,
}

/// Permission to sign one message, once its state is durable.
#[derive(Debug)]
#[must_use = "an approval signs nothing until its state is persisted and it is released"]
pub struct Approval<M> {
    message: M,
    state: SignerState,
}

impl<M: Signable> Approval<M> {
    /// What the host must persist, and fsync, before calling [`Approval::release`].
    pub fn state(&self) -> &SignerState {
        &self.state
    }

    /// The approved message's leaf in its tick's signed tree.
    pub fn leaf(&self) -> Hash {
        tick_leaf(&self.message)
    }

    /// The approved message, to sign. Call only after [`Approval::state`] is durable.
    pub fn release(self) -> M {
        self.message
    }
}

impl SignerGuard {
    /// A guard that remembers `last`, as read back from the store.
    pub fn recover(last: Option<SignerState>) -> SignerGuard {
        SignerGuard { last }
    }

    pub fn last(&self) -> Option<&SignerState> {
        self.last.as_ref()
    }

    pub fn approve_vote(&mut self, vote: Vote) -> Result<Approval<Vote>, Refusal> {
        let step = match vote.step {
            VoteStep::Prevote => SignedStep::Prevote,
            VoteStep::Precommit => SignedStep::Precommit,
        };
        let state = self.advance(vote.height, vote.round, step, vote.block_hash)?;
        Ok(Approval {
            message: vote,
            state,
        })
    }

    pub fn approve_proposal(&mut self, proposal: Proposal) -> Result<Approval<Proposal>, Refusal> {
        let state = self.advance(
            proposal.height,
            proposal.round,
            SignedStep::Proposal,
            Some(proposal.block_hash),
        )?;
        Ok(Approval {
            message: proposal,
            state,
        })
    }

    /// Moves the guard to (height, round, step, block) if that cannot conflict with anything
    /// signed before. The guard moves at once, before the state is durable: if persisting
    /// fails, it refuses more than it must, never less.
    fn advance(
        &mut self,
        height: Height,
        round: Round,
        step: SignedStep,
        block_hash: Option<Hash>,
    ) -> Result<SignerState, Refusal> {
        let lock_before = match &self.last {
            Some(last) if last.height == height => {
                let order = (round, step).cmp(&(last.round, last.step));
                match order {
                    std::cmp::Ordering::Less => return Err(self.stale(height, round, step)),
                    std::cmp::Ordering::Equal if last.block_hash != block_hash => {
                        return Err(Refusal::Conflict {
                            height,
                            round,
                            step,
                            signed: last.block_hash,
                            requested: block_hash,
                        })
                    }
                    _ => last.lock,
                }
            }
            Some(last) if last.height > height => return Err(self.stale(height, round, step)),
            _ => None,
        };
        // Tendermint lines 36-41: a precommit for a block locks on it.
        let lock = match (step, block_hash) {
            (SignedStep::Precommit, Some(block_hash)) => Some(Lock { round, block_hash }),
            _ => lock_before,
        };
        let state = SignerState {
            height,
            round,
            step,
            block_hash,
            lock,
        };
        self.last = Some(state.clone());
        Ok(state)
    }

    fn stale(&self, height: Height, round: Round, step: SignedStep) -> Refusal {
        let last = self.last.as_ref();
        Refusal::Stale {
            signed_height: last.map(|l| l.height).unwrap_or_default(),
            signed_round: last.map(|l| l.round).unwrap_or_default(),
            signed_step: last.map(|l| l.step).unwrap_or(SignedStep::Proposal),
            height,
            round,
            step,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use myriad_types::ChainId;
    use proptest::prelude::*;

    fn vote(height: u64, round: u32, step: VoteStep, block: Option<u8>) -> Vote {
        Vote {
            chain_id: ChainId([1; 32]),
            height: Height(height),
            round: Round(round),
            step,
            block_hash: block.map(|b| Hash([b; 32])),
        }
    }

    #[test]
    fn refuses_a_conflicting_vote_and_allows_the_same_one_again() {
        let mut guard = SignerGuard::default();
        let first = guard
            .approve_vote(vote(5, 0, VoteStep::Prevote, Some(1)))
            .unwrap();
        assert_eq!(first.state().round, Round(0));
        assert!(matches!(
            guard.approve_vote(vote(5, 0, VoteStep::Prevote, Some(2))),
            Err(Refusal::Conflict { .. })
        ));
        assert!(matches!(
            guard.approve_vote(vote(5, 0, VoteStep::Prevote, None)),
            Err(Refusal::Conflict { .. })
        ));
        // Re-signing the very same vote gives the very same signature: not a conflict.
        assert!(guard
            .approve_vote(vote(5, 0, VoteStep::Prevote, Some(1)))
            .is_ok());
    }

    #[test]
    fn refuses_anything_earlier_and_keeps_the_lock_within_a_height() {
        let mut guard = SignerGuard::default();
        let precommit = guard
            .approve_vote(vote(5, 1, VoteStep::Precommit, Some(7)))
            .unwrap();
        let lock = Some(Lock {
            round: Round(1),
            block_hash: Hash([7; 32]),
        });
        assert_eq!(precommit.state().lock, lock);
        assert!(matches!(
            guard.approve_vote(vote(5, 1, VoteStep::Prevote, Some(7))),
            Err(Refusal::Stale { .. })
        ));
        assert!(matches!(
            guard.approve_vote(vote(4, 9, VoteStep::Precommit, None)),
            Err(Refusal::Stale { .. })
        ));
        let later = guard
            .approve_vote(vote(5, 2, VoteStep::Prevote, None))
            .unwrap();
        assert_eq!(later.state().lock, lock, "the lock survives later votes");
        let next_height = guard
            .approve_vote(vote(6, 0, VoteStep::Prevote, Some(1)))
            .unwrap();
        assert_eq!(
            next_height.state().lock,
            None,
            "a new height starts unlocked"
        );
    }

    #[test]
    fn a_recovered_guard_refuses_what_the_lost_one_would_have() {
        let mut guard = SignerGuard::default();
        let approval = guard
            .approve_vote(vote(3, 0, VoteStep::Precommit, Some(1)))
            .unwrap();
        let persisted = approval.state().clone();
        let mut recovered = SignerGuard::recover(Some(persisted));
        assert!(recovered
            .approve_vote(vote(3, 0, VoteStep::Precommit, Some(2)))
            .is_err());
        assert!(recovered
            .approve_vote(vote(3, 0, VoteStep::Precommit, Some(1)))
            .is_ok());
    }

    fn request() -> impl Strategy<Value = Vote> {
        (
            0u64..3,
            0u32..3,
            prop_oneof![Just(VoteStep::Prevote), Just(VoteStep::Precommit)],
            proptest::option::of(0u8..3),
        )
            .prop_map(|(h, r, step, block)| vote(h, r, step, block))
    }

    proptest! {
        #[test]
        fn never_approves_two_different_votes_for_one_step(
            requests in proptest::collection::vec(request(), 1..40)
        ) {
            let mut guard = SignerGuard::default();
            let mut signed: std::collections::HashMap<(Height, Round, VoteStep), Option<Hash>> =
                Default::default();
            let mut previous: Option<(Height, Round, SignedStep)> = None;
            for request in requests {
                let key = (request.height, request.round, request.step);
                let block = request.block_hash;
                if let Ok(approval) = guard.approve_vote(request) {
                    let state = approval.state();
                    let position = (state.height, state.round, state.step);
                    prop_assert!(previous.is_none_or(|p| p <= position), "signing went backwards");
                    previous = Some(position);
                    if let Some(earlier) = signed.insert(key, block) {
                        prop_assert_eq!(earlier, block, "two different votes for one step");
                    }
                }
            }
        }
    }
}
