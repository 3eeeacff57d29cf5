//! Applying transactions: stateless checks, then `apply` against a state in a block's
//! context. What every transaction shares — chain, size, signature, nonce, receipt — is
//! here; what each kind does is its module's (see `modules`). A rejected transaction
//! changes nothing; every sum is checked, so an overflow is a rejection.

use myriad_types::{
    encode, Address, Amount, BatchError, ChainId, ChannelId, EscrowId, EvidenceError, Hash, HostId,
    ObjectKey, SignatureError, SignedTransaction, TxKind, ValidatorSetError,
    ALLOWLIST_DELAY_MS_MAX,
};

use crate::modules::{self, AnchorError, BlockContext, Sending, VESTING_MS_MAX};
use crate::state::{ChainState, StateView};

/// The largest encoded signed transaction, in bytes, but for anchors.
pub const TX_BYTES_MAX: usize = 4096;
/// The largest encoded anchor transaction, in bytes: many chains' heads at once.
pub const ANCHOR_TX_BYTES_MAX: usize = 1 << 20;

/// Why a transaction was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    #[error("transaction is for chain {got}, not {expected}")]
    WrongChain { expected: ChainId, got: ChainId },
    #[error("transaction is {size} bytes, over the limit of {max}")]
    TooLarge { size: usize, max: usize },
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
    #[error("expiry {expires_at_ms} ms is outside the chain's lock bounds for this block: {earliest} to {latest} ms")]
    LockExpiry {
        expires_at_ms: u64,
        earliest: u64,
        latest: u64,
    },
    #[error("{0} already exists")]
    ObjectExists(ObjectKey),
    #[error("there is no {0} on this chain")]
    NoSuchObject(ObjectKey),
    #[error("escrow {escrow} is already {how}")]
    EscrowClosed { escrow: EscrowId, how: &'static str },
    #[error("expired at {expires_at_ms} ms; the block's time is {time_ms} ms")]
    Expired { expires_at_ms: u64, time_ms: u64 },
    #[error("does not expire until {expires_at_ms} ms; the block's time is {time_ms} ms")]
    NotExpired { expires_at_ms: u64, time_ms: u64 },
    #[error("the secret's SHA-256 is not the escrow's hash lock {hash_lock}")]
    WrongSecret { hash_lock: Hash },
    #[error("channel {channel} is already {how}")]
    ChannelClosed {
        channel: ChannelId,
        how: &'static str,
    },
    #[error("only {party} may {action} this channel")]
    NotChannelParty {
        party: Address,
        action: &'static str,
    },
    #[error("the voucher is for channel {channel} (or another chain), not this one")]
    VoucherForAnotherChannel { channel: ChannelId },
    #[error("the voucher pays {cumulative}, more than the channel's {amount}")]
    VoucherOverAmount { cumulative: Amount, amount: Amount },
    #[error("voucher signature: {0}")]
    VoucherSignature(SignatureError),
    #[error("the sender's allowlist does not let it pay {to}")]
    NotAllowlisted { to: Address },
    #[error("allowlist delay {delay_ms} ms is over the limit of {ALLOWLIST_DELAY_MS_MAX} ms")]
    AllowlistDelay { delay_ms: u64 },
    #[error("the allowlist names an address twice")]
    AllowlistDuplicate,
    #[error("the sender has no allowlist to clear")]
    NoAllowlist,
    #[error("vesting over {vesting_ms} ms is longer than the limit of {VESTING_MS_MAX} ms")]
    VestingTooLong { vesting_ms: u64 },
    #[error("host {0} is not a validator of this chain")]
    NotAValidator(HostId),
    #[error("nothing of the bond of host {0} has vested that was not paid")]
    NothingVested(HostId),
    #[error("only the root chain takes this transaction")]
    RootOnly,
    #[error("host announcement: {0}")]
    BadAnnouncement(String),
    #[error("a bond of {bond} is below the root's minimum of {min}")]
    BondTooSmall { bond: Amount, min: Amount },
    #[error("host {0} is not registered in the root's directory")]
    NotRegistered(HostId),
    #[error("the bond of {bond} stays locked until {free_at_ms} ms (or there is none)")]
    StillBonded { bond: Amount, free_at_ms: u64 },
    #[error("anchor of {chain}: {error}")]
    Anchor {
        chain: ChainId,
        error: Box<AnchorError>,
    },
    #[error("anchor batch: {0}")]
    AnchorBatch(BatchError),
    #[error("evidence: {0}")]
    Evidence(EvidenceError),
}

impl TxError {
    /// Whether a transaction refused with this error at the earliest time the chain's next
    /// block may have can never apply from then on: what it acts on is closed for good, its
    /// time has passed (block times only grow), or its secret is not the one locked.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            TxError::EscrowClosed { .. }
                | TxError::ChannelClosed { .. }
                | TxError::Expired { .. }
                | TxError::WrongSecret { .. }
        )
    }
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
    /// Every object the transaction created or changed.
    pub objects: Vec<ObjectKey>,
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
    let max = match signed.tx.kind {
        TxKind::Anchor { .. } => ANCHOR_TX_BYTES_MAX,
        _ => TX_BYTES_MAX,
    };
    if size > max {
        return Err(TxError::TooLarge { size, max });
    }
    modules::check_shape(&signed.tx.kind)
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

/// Applies one transaction whose signature has already been checked (see
/// [`check_stateless`]) as part of the next block, of time `time_ms`. On rejection the
/// state is left exactly as it was.
pub fn apply(
    state: &mut ChainState,
    time_ms: u64,
    signed: &SignedTransaction,
) -> Result<Receipt, TxError> {
    let context = BlockContext::next(state.meta(), time_ms);
    apply_to(&context, state, signed)
}

/// [`apply`] to any view of a chain's state: the one set of transaction rules, for the state
/// itself and for a [`Scratch`](crate::Scratch) over it.
pub(crate) fn apply_to(
    context: &BlockContext,
    state: &mut impl StateView,
    signed: &SignedTransaction,
) -> Result<Receipt, TxError> {
    let tx = &signed.tx;
    check_chain(&state.meta().chain_id, signed)?;
    modules::check_shape(&tx.kind)?;
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
    let sending = Sending {
        sender: tx.sender,
        nonce: tx.nonce,
        sender_after: myriad_types::Account {
            nonce: expected,
            ..sender
        },
    };
    let touched = modules::apply(context, state, sending, &tx.kind)?;
    let mut accounts = vec![tx.sender];
    for account in touched.accounts {
        if !accounts.contains(&account) {
            accounts.push(account);
        }
    }
    Ok(Receipt {
        tx_hash: signed.hash(),
        sender: tx.sender,
        nonce: tx.nonce,
        accounts,
        objects: touched.objects,
    })
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
    let context = BlockContext::next(state.meta(), time_ms);
    let receipts = txs
        .iter()
        .map(|tx| apply_to(&context, &mut state, tx))
        .collect();
    let height = context.height;
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
