//! A scratch view of a chain's state: transactions applied to it by the ledger's own rules,
//! without changing the state or copying it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use myriad_types::{Account, Address, Object, ObjectKey, SignedTransaction};

use crate::apply::{apply_to, TxError};
use crate::modules::BlockContext;
use crate::state::{ChainMeta, ChainState, StateView};

/// Transactions applied on top of a chain's state, which stays as it is, as if in its next
/// block: reads fall through to the state, writes stay here. It holds only what the
/// transactions applied to it wrote (their accounts' entries and objects, and the chain's
/// metadata once changed), so checking a few transactions costs a few entries whatever the
/// size of the chain.
#[derive(Debug)]
pub struct Scratch<'a> {
    base: &'a ChainState,
    context: BlockContext,
    meta: Cow<'a, ChainMeta>,
    /// The entries written here, the default one included: each hides the state's.
    accounts: BTreeMap<Address, Account>,
    /// The objects written here, removals included: each hides the state's.
    objects: BTreeMap<ObjectKey, Option<Object>>,
}

impl<'a> Scratch<'a> {
    /// A scratch over `base` for its next block, of time `time_ms`.
    pub fn new(base: &'a ChainState, time_ms: u64) -> Scratch<'a> {
        Scratch {
            base,
            context: BlockContext::next(base.meta(), time_ms),
            meta: Cow::Borrowed(base.meta()),
            accounts: BTreeMap::new(),
            objects: BTreeMap::new(),
        }
    }

    /// An account's entry, with what was applied here.
    pub fn account(&self, address: &Address) -> Account {
        match self.accounts.get(address) {
            Some(account) => *account,
            None => self.base.account(address),
        }
    }

    /// An object, with what was applied here.
    pub fn object(&self, key: &ObjectKey) -> Option<Object> {
        match self.objects.get(key) {
            Some(object) => object.clone(),
            None => self.base.object(key).cloned(),
        }
    }

    /// Applies a transaction here exactly as [`apply`](crate::apply) would to the state; a
    /// rejected one changes nothing.
    pub fn apply(&mut self, signed: &SignedTransaction) -> Result<(), TxError> {
        let context = self.context;
        apply_to(&context, self, signed).map(drop)
    }

    /// [`Scratch::apply`] as if the transaction's nonce were its sender's next: the
    /// transactions of the nonces in between are taken to change nothing but the nonce.
    /// For a mempool, which checks what a transaction spends after its sender's other
    /// pending ones before the nonces between them have arrived.
    pub fn apply_as_next(&mut self, signed: &SignedTransaction) -> Result<(), TxError> {
        let sender = signed.tx.sender;
        let before = self.account(&sender);
        let Some(previous) = signed.tx.nonce.checked_sub(1) else {
            return Err(TxError::BadNonce {
                expected: before.nonce.saturating_add(1),
                got: signed.tx.nonce,
            });
        };
        self.accounts.insert(
            sender,
            Account {
                nonce: previous,
                ..before
            },
        );
        let applied = self.apply(signed);
        if applied.is_err() {
            self.accounts.insert(sender, before);
        }
        applied
    }
}

impl StateView for Scratch<'_> {
    fn meta(&self) -> &ChainMeta {
        &self.meta
    }

    fn meta_mut(&mut self) -> &mut ChainMeta {
        self.meta.to_mut()
    }

    fn account(&self, address: &Address) -> Account {
        Scratch::account(self, address)
    }

    fn set_account(&mut self, address: Address, account: Account) {
        self.accounts.insert(address, account);
    }

    fn object(&self, key: &ObjectKey) -> Option<Object> {
        Scratch::object(self, key)
    }

    fn set_object(&mut self, key: ObjectKey, object: Option<Object>) {
        self.objects.insert(key, object);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use myriad_testing::{genesis, key, mint, transfer};

    use super::*;
    use crate::apply;

    #[test]
    fn a_scratch_applies_after_a_gap_and_leaves_its_state_alone() {
        let (owner, alice, bob) = (key(1), key(2), key(3));
        let mut state =
            ChainState::from_genesis(&genesis(&owner, &[(key(9).host_id(), 1)], 0)).unwrap();
        let chain = state.chain_id();
        apply(&mut state, 1, &mint(chain, &owner, 1, &alice, 100)).unwrap();
        let root = state.state_root();

        let mut scratch = Scratch::new(&state, 1);
        // Nonce 3 while the account's next is 1: nonces 1 and 2 are taken to spend nothing.
        scratch
            .apply_as_next(&transfer(chain, &alice, 3, &bob, 60))
            .unwrap();
        assert_eq!(
            scratch.account(&alice.address()),
            Account {
                balance: 40,
                nonce: 3
            }
        );
        assert_eq!(scratch.account(&bob.address()).balance, 60);
        // What is left after it is what the next one can spend; a rejection changes nothing.
        assert_eq!(
            scratch.apply_as_next(&transfer(chain, &alice, 2, &bob, 50)),
            Err(TxError::InsufficientBalance { have: 40, need: 50 })
        );
        assert_eq!(
            scratch.account(&alice.address()),
            Account {
                balance: 40,
                nonce: 3
            }
        );
        assert_eq!(
            scratch.apply_as_next(&transfer(chain, &alice, 0, &bob, 1)),
            Err(TxError::BadNonce {
                expected: 4,
                got: 0
            })
        );
        // Without the gap allowance, the nonce rule is the ledger's.
        assert_eq!(
            scratch.apply(&transfer(chain, &alice, 5, &bob, 1)),
            Err(TxError::BadNonce {
                expected: 4,
                got: 5
            })
        );
        // Only the owner mints, on the scratch as on the state.
        assert!(matches!(
            scratch.apply_as_next(&mint(chain, &alice, 4, &alice, 1)),
            Err(TxError::NotOwner { .. })
        ));
        assert_eq!(state.state_root(), root);
        assert_eq!(
            state.account(&alice.address()),
            Account {
                balance: 100,
                nonce: 0
            }
        );
    }
}
