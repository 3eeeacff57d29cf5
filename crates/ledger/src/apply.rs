//! Applying transactions: stateless checks, then `apply` against a state. A rejected
//! transaction changes nothing; every sum is checked, so an overflow is a rejection.

use std::sync::Arc;

use myriad_types::{
    encode, Account, Address, Amount, ChainId, Hash, SignatureError, SignedTransaction, TxKind,
    ValidatorSet, ValidatorSetError,
};

use crate::state::{ChainState, StateView};

/// The largest encoded signed transaction, in bytes.
pub const TX_BYTES_MAX: usize = 4096;

/// Why a transaction was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("transaction is for chain {got}, not {expected}")]
    WrongChain { expected: ChainId, got: ChainId },
    #[error("transaction is {size} bytes, over the limit of {TX_BYTES_MAX}")]
    TooLarge { size: usize },
    #[error("transaction signature: {0}")]
    BadSignature(SignatureError),
    #[error("nonce {got} is wrong: the sender's next nonce is {expected}")]
    BadNonce { expected: u64, got: u64 },
    #[error("amount must be greater than zero")]
    ZeroAmount,
    #[error("only the chain owner {owner} may {action}")]
    NotOwner {
        owner: Address,
        action: &'static str,
    },
    #[error("insufficient balance: have {have}, need {need}")]
    InsufficientBalance { have: Amount, need: Amount },
    #[error("minting {amount} would bring supply {supply} past the maximum {max}")]
    SupplyCapExceeded {
        max: Amount,
        supply: Amount,
        amount: Amount,
    },
    #[error("{0} would overflow")]
    Overflow(&'static str),
    #[error("new validator set: {0}")]
    InvalidValidators(ValidatorSetError),
}

/// What an accepted transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub tx_hash: Hash,
    pub sender: Address,
    pub nonce: u64,
    /// Every account the transaction concerns, its sender first, each once: those whose
    /// entries it wrote, and one it names without writing (a chain's new owner). A store
    /// indexes each account's history from these.
    pub accounts: Vec<Address>,
}

/// Checks that need no state: chain id, size, signature and the transaction's own shape.
pub fn check_stateless(chain_id: &ChainId, signed: &SignedTransaction) -> Result<(), TxError> {
    check_form(chain_id, signed)?;
    signed.verify_signature().map_err(TxError::BadSignature)
}

/// [`check_stateless`] but the signature, for a host that checks signatures in batches.
pub fn check_form(chain_id: &ChainId, signed: &SignedTransaction) -> Result<(), TxError> {
    check_chain(chain_id, signed)?;
    let size = encode(signed).len();
    if size > TX_BYTES_MAX {
        return Err(TxError::TooLarge { size });
    }
    check_shape(&signed.tx.kind)
}

fn check_chain(chain_id: &ChainId, signed: &SignedTransaction) -> Result<(), TxError> {
    if signed.tx.chain_id != *chain_id {
        return Err(TxError::WrongChain {
            expected: *chain_id,
            got: signed.tx.chain_id,
        });
    }
    Ok(())
}

fn check_shape(kind: &TxKind) -> Result<(), TxError> {
    match kind {
        TxKind::Mint { amount, .. } | TxKind::Transfer { amount, .. } | TxKind::Burn { amount }
            if *amount == 0 =>
        {
            Err(TxError::ZeroAmount)
        }
        TxKind::SetValidators { validators } => ValidatorSet::new(validators.to_vec())
            .map(drop)
            .map_err(TxError::InvalidValidators),
        _ => Ok(()),
    }
}

/// Applies one transaction whose signature has already been checked (see
/// [`check_stateless`]). On rejection the state is left exactly as it was.
pub fn apply(state: &mut ChainState, signed: &SignedTransaction) -> Result<Receipt, TxError> {
    let other = apply_to(state, signed)?;
    let sender = signed.tx.sender;
    let mut accounts = vec![sender];
    accounts.extend(other.filter(|account| *account != sender));
    Ok(Receipt {
        tx_hash: signed.hash(),
        sender,
        nonce: signed.tx.nonce,
        accounts,
    })
}

/// [`apply`] to any view of a chain's state: the one set of transaction rules, for the state
/// itself and for a [`Scratch`](crate::Scratch) over it. Returns the account the
/// transaction concerns besides its sender, if any.
pub(crate) fn apply_to(
    state: &mut impl StateView,
    signed: &SignedTransaction,
) -> Result<Option<Address>, TxError> {
    let tx = &signed.tx;
    check_chain(&state.meta().chain_id, signed)?;
    check_shape(&tx.kind)?;
    let sender = state.account(&tx.sender);
    let expected = sender
        .nonce
        .checked_add(1)
        .ok_or(TxError::Overflow("nonce"))?;
    if tx.nonce != expected {
        return Err(TxError::BadNonce {
            expected,
            got: tx.nonce,
        });
    }
    let sender_after = Account {
        nonce: expected,
        ..sender
    };
    // Every check happens before the first write below.
    match &tx.kind {
        TxKind::Mint { to, amount } => {
            mint(state, tx.sender, sender_after, *to, *amount)?;
            Ok(Some(*to))
        }
        TxKind::Transfer { to, amount, .. } => {
            let balance = debit(sender_after.balance, *amount)?;
            let sender_after = Account {
                balance,
                ..sender_after
            };
            credit(state, tx.sender, sender_after, *to, *amount)?;
            Ok(Some(*to))
        }
        TxKind::Burn { amount } => {
            let balance = debit(sender_after.balance, *amount)?;
            let meta = state.meta();
            let supply = meta
                .supply
                .checked_sub(*amount)
                .ok_or(TxError::Overflow("supply"))?;
            let burned = meta
                .burned
                .checked_add(*amount)
                .ok_or(TxError::Overflow("burned total"))?;
            state.set_account(
                tx.sender,
                Account {
                    balance,
                    ..sender_after
                },
            );
            let meta = state.meta_mut();
            meta.supply = supply;
            meta.burned = burned;
            Ok(None)
        }
        TxKind::SetValidators { validators } => {
            require_owner(state, &tx.sender, "set validators")?;
            let set = ValidatorSet::new(validators.to_vec()).map_err(TxError::InvalidValidators)?;
            state.set_account(tx.sender, sender_after);
            state.meta_mut().next_validators = Some(Arc::new(set));
            Ok(None)
        }
        TxKind::TransferOwnership { new_owner } => {
            require_owner(state, &tx.sender, "transfer ownership")?;
            state.set_account(tx.sender, sender_after);
            state.meta_mut().owner = *new_owner;
            Ok(Some(*new_owner))
        }
    }
}

fn require_owner(
    state: &impl StateView,
    sender: &Address,
    action: &'static str,
) -> Result<(), TxError> {
    let owner = state.meta().owner;
    if *sender != owner {
        return Err(TxError::NotOwner { owner, action });
    }
    Ok(())
}

fn debit(balance: Amount, amount: Amount) -> Result<Amount, TxError> {
    balance
        .checked_sub(amount)
        .ok_or(TxError::InsufficientBalance {
            have: balance,
            need: amount,
        })
}

/// Writes the sender's new entry and adds `amount` to `to` (who may be the sender).
fn credit(
    state: &mut impl StateView,
    sender: Address,
    sender_after: Account,
    to: Address,
    amount: Amount,
) -> Result<(), TxError> {
    let receiver = if to == sender {
        sender_after
    } else {
        state.account(&to)
    };
    let balance = receiver
        .balance
        .checked_add(amount)
        .ok_or(TxError::Overflow("balance"))?;
    state.set_account(sender, sender_after);
    state.set_account(
        to,
        Account {
            balance,
            ..receiver
        },
    );
    Ok(())
}

fn mint(
    state: &mut impl StateView,
    sender: Address,
    sender_after: Account,
    to: Address,
    amount: Amount,
) -> Result<(), TxError> {
    require_owner(state, &sender, "mint")?;
    let meta = state.meta();
    let supply = meta
        .supply
        .checked_add(amount)
        .ok_or(TxError::Overflow("supply"))?;
    if let Some(max) = meta.max_supply {
        if supply > max {
            return Err(TxError::SupplyCapExceeded {
                max,
                supply: meta.supply,
                amount,
            });
        }
    }
    let minted = meta
        .minted
        .checked_add(amount)
        .ok_or(TxError::Overflow("minted total"))?;
    credit(state, sender, sender_after, to, amount)?;
    let meta = state.meta_mut();
    meta.supply = supply;
    meta.minted = minted;
    Ok(())
}

/// Executes the next block, of time `time_ms`, and its transactions in order: each is
/// applied or rejected on its own (a rejected one changes nothing). Then the height and the
/// chain's time advance and a validator set chosen in the block takes over. Returns the new
/// state, one result per transaction, and the root.
pub fn execute_block(
    mut state: ChainState,
    time_ms: u64,
    txs: &[SignedTransaction],
) -> (ChainState, Vec<Result<Receipt, TxError>>, Hash) {
    let receipts = txs.iter().map(|tx| apply(&mut state, tx)).collect();
    let height = state.next_height();
    let meta = state.meta_mut();
    meta.height = height;
    meta.time_ms = time_ms;
    if let Some(next) = meta.next_validators.take() {
        meta.validators = next;
    }
    debug_assert_eq!(state.check_invariants(), Ok(()), "after a block");
    let root = state.state_root();
    (state, receipts, root)
}
