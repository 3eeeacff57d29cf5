//! Blocks as the ledger sees them: building the next one from candidate transactions, and
//! checking one a proposer offers.

use myriad_types::{
    encode, tx_root, Block, BlockHeader, BoundedVec, ChainId, Hash, Height, HostId,
    SignedTransaction, BLOCK_TXS_MAX, MESSAGE_BYTES_MAX,
};

use crate::apply::{execute_block, Receipt, TxError};
use crate::scratch::Scratch;
use crate::state::ChainState;

/// The most bytes of encoded transactions one block may carry: half the message limit, so a
/// block fits in a message with whatever wraps it (a signed proposal, a lock proof).
pub const BLOCK_TX_BYTES_MAX: usize = MESSAGE_BYTES_MAX / 2;

/// How many passes [`build_block`] makes over the candidates, so that a transaction can
/// follow one that funds it whatever their order.
const BUILD_PASSES: usize = 4;

/// What a proposer puts in the header besides what the chain's state dictates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockTemplate {
    /// The hash of the chain's last block (zero after genesis).
    pub prev_hash: Hash,
    /// The proposer's clock; the block's time is one millisecond after its parent's if the
    /// clock is not past that.
    pub timestamp_ms: u64,
    pub proposer: HostId,
}

/// What executing a block gives: the state after it and a receipt per transaction.
#[derive(Debug, Clone)]
pub struct BlockOutcome {
    pub state: ChainState,
    pub receipts: Vec<Receipt>,
}

/// Why a proposed block is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("block is for chain {got}, not {expected}")]
    WrongChain { expected: ChainId, got: ChainId },
    #[error("block is at height {got}, the chain's next height is {expected}")]
    WrongHeight { expected: Height, got: Height },
    #[error("block extends {got}, the chain's last block is {expected}")]
    WrongParent { expected: Hash, got: Hash },
    #[error("block time {got} ms is not after its parent's, {parent} ms")]
    TimeNotAfterParent { parent: u64, got: u64 },
    #[error("block time {got} ms is not after its chain's genesis, created at {genesis} ms")]
    TimeNotAfterGenesis { genesis: u64, got: u64 },
    #[error("block names validator set {got}, the chain's is {expected}")]
    WrongValidators { expected: Hash, got: Hash },
    #[error("block's tx_root does not match its transactions")]
    WrongTxRoot,
    #[error("block carries {bytes} bytes of transactions, over the limit of {BLOCK_TX_BYTES_MAX}")]
    TooLarge { bytes: usize },
    #[error("block transaction {index} is rejected: {error}")]
    Rejected { index: usize, error: TxError },
    #[error("block claims state root {claimed}, executing it gives {computed}")]
    WrongStateRoot { claimed: Hash, computed: Hash },
}

/// Builds the block after `state` from `candidates`: those that apply, taken in (nonce, hash)
/// order, at most `txs_max` (and [`BLOCK_TXS_MAX`]) and [`BLOCK_TX_BYTES_MAX`] bytes of them.
/// Returns the block and what it gives, or `None` when nothing applies: no empty blocks.
pub fn build_block(
    state: &ChainState,
    candidates: &[SignedTransaction],
    template: BlockTemplate,
    txs_max: usize,
) -> Option<(Block, BlockOutcome)> {
    let mut candidates: Vec<&SignedTransaction> = candidates.iter().collect();
    candidates.sort_by_key(|tx| (tx.tx.nonce, tx.hash()));
    let txs_max = txs_max.min(BLOCK_TXS_MAX);
    let timestamp_ms = state.next_block_time(template.timestamp_ms);
    // Choosing on a scratch copies only the entries the candidates touch; the chosen ones
    // are then executed once on the state that the block leaves.
    let mut scratch = Scratch::new(state, timestamp_ms);
    let mut chosen: Vec<SignedTransaction> = Vec::new();
    let mut bytes = 0;
    for _ in 0..BUILD_PASSES {
        candidates.retain(|tx| {
            let size = encode(*tx).len();
            if chosen.len() >= txs_max || bytes + size > BLOCK_TX_BYTES_MAX {
                return true;
            }
            let applied = scratch.apply(tx).is_ok();
            if applied {
                chosen.push((*tx).clone());
                bytes += size;
            }
            !applied
        });
    }
    if chosen.is_empty() {
        return None;
    }
    let validators_hash = state.meta().validators.hash();
    let height = state.next_height();
    let (after, receipts, state_root) = execute_block(state.clone(), timestamp_ms, &chosen);
    // Each was applied in the same order on the scratch, by the same rules.
    let receipts = receipts.into_iter().collect::<Result<Vec<_>, _>>().ok()?;
    let header = BlockHeader {
        chain_id: state.chain_id(),
        height,
        prev_hash: template.prev_hash,
        timestamp_ms,
        proposer: template.proposer,
        tx_root: tx_root(&chosen),
        state_root,
        validators_hash,
    };
    let txs = BoundedVec::new(chosen).ok()?;
    let outcome = BlockOutcome {
        state: after,
        receipts,
    };
    Some((Block { header, txs }, outcome))
}

/// Checks a block offered as the one after `state`, whose last block is `head_hash`, and
/// returns what it gives. Everything is checked but the transactions' signatures: the
/// host verifies those in one batch with the rest of its tick (see `check_stateless`).
pub fn check_block(
    state: &ChainState,
    head_hash: &Hash,
    block: &Block,
) -> Result<BlockOutcome, BlockError> {
    let header = &block.header;
    let meta = state.meta();
    if header.chain_id != meta.chain_id {
        return Err(BlockError::WrongChain {
            expected: meta.chain_id,
            got: header.chain_id,
        });
    }
    let expected = state.next_height();
    if header.height != expected {
        return Err(BlockError::WrongHeight {
            expected,
            got: header.height,
        });
    }
    if header.prev_hash != *head_hash {
        return Err(BlockError::WrongParent {
            expected: *head_hash,
            got: header.prev_hash,
        });
    }
    // The time of height 0 is the genesis's creation time, so no block is ever older than
    // its chain's genesis.
    if header.timestamp_ms <= meta.time_ms {
        let got = header.timestamp_ms;
        return Err(if meta.height == Height(0) {
            BlockError::TimeNotAfterGenesis {
                genesis: meta.time_ms,
                got,
            }
        } else {
            BlockError::TimeNotAfterParent {
                parent: meta.time_ms,
                got,
            }
        });
    }
    let validators = meta.validators.hash();
    if header.validators_hash != validators {
        return Err(BlockError::WrongValidators {
            expected: validators,
            got: header.validators_hash,
        });
    }
    if header.tx_root != tx_root(&block.txs) {
        return Err(BlockError::WrongTxRoot);
    }
    let bytes: usize = block.txs.iter().map(|tx| encode(tx).len()).sum();
    if bytes > BLOCK_TX_BYTES_MAX {
        return Err(BlockError::TooLarge { bytes });
    }
    let (after, results, computed) = execute_block(state.clone(), header.timestamp_ms, &block.txs);
    let mut receipts = Vec::with_capacity(results.len());
    for (index, result) in results.into_iter().enumerate() {
        receipts.push(result.map_err(|error| BlockError::Rejected { index, error })?);
    }
    if computed != header.state_root {
        return Err(BlockError::WrongStateRoot {
            claimed: header.state_root,
            computed,
        });
    }
    Ok(BlockOutcome {
        state: after,
        receipts,
    })
}
