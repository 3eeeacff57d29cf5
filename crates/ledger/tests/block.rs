//! Building blocks from candidate transactions and checking offered blocks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use myriad_ledger::{build_block, check_block, BlockError, BlockTemplate, ChainState, TxError};
use myriad_testing::{burn, genesis, key, mint, transfer, tx, unsigned_genesis};
use myriad_types::{
    encode, BoundedVec, Genesis, Hash, Height, SignedGenesis, SignedTransaction, TxKind, Validator,
    VALIDATORS_MAX,
};

/// A chain owned by key 1 and validated by key 9.
fn chain() -> ChainState {
    ChainState::from_genesis(&genesis(&key(1), &[(key(9).host_id(), 1)], 0)).unwrap()
}

fn template() -> BlockTemplate {
    BlockTemplate {
        prev_hash: Hash::ZERO,
        timestamp_ms: 7,
        proposer: key(9).host_id(),
    }
}

#[test]
fn a_built_block_checks_and_takes_what_applies_in_order() {
    let state = chain();
    let holder = key(2);
    let mint = mint(state.chain_id(), &key(1), 1, &holder, 100);
    // Funded only by the mint: it must come after it although it is listed first.
    let spend = transfer(state.chain_id(), &holder, 1, &key(3), 60);
    let overspend = transfer(state.chain_id(), &holder, 2, &key(3), 60);
    let (block, after) = build_block(
        &state,
        &[overspend, spend.clone(), mint.clone()],
        template(),
        10,
    )
    .unwrap();
    assert_eq!(block.txs.to_vec(), vec![mint, spend]);
    assert_eq!(block.header.height, Height(1));
    let checked = check_block(&state, &Hash::ZERO, &block).unwrap();
    assert_eq!(checked.state.state_root(), after.state.state_root());
    assert_eq!(block.header.state_root, after.state.state_root());
    assert_eq!(after.state.account(&key(3).address()).balance, 60);
    // Each receipt names the accounts its transaction concerns, its sender first.
    let accounts: Vec<_> = after.receipts.iter().map(|r| r.accounts.clone()).collect();
    let (owner, holder, payee) = (key(1).address(), holder.address(), key(3).address());
    assert_eq!(accounts, vec![vec![owner, holder], vec![holder, payee]]);
    assert_eq!(checked.receipts, after.receipts);
}

#[test]
fn a_block_comes_after_its_parent_in_time() {
    let state = chain();
    let created = state.meta().time_ms;
    let mint = |nonce| mint(state.chain_id(), &key(1), nonce, &key(2), 5);
    // A proposer whose clock is behind the genesis still builds a block after it.
    let late = BlockTemplate {
        timestamp_ms: created.saturating_sub(10),
        ..template()
    };
    let (first, outcome) = build_block(&state, &[mint(1)], late, 10).unwrap();
    let after = outcome.state;
    assert_eq!(first.header.timestamp_ms, created + 1);
    assert_eq!(after.meta().time_ms, created + 1);

    let mut same_time = first.clone();
    same_time.header.timestamp_ms = created;
    assert_eq!(
        check_block(&state, &Hash::ZERO, &same_time).unwrap_err(),
        BlockError::TimeNotAfterGenesis {
            genesis: created,
            got: created
        }
    );

    // The next block's time is after the first's, whatever the proposer's clock says.
    let next = BlockTemplate {
        prev_hash: first.hash(),
        ..late
    };
    let (second, _) = build_block(&after, &[mint(2)], next, 10).unwrap();
    assert_eq!(second.header.timestamp_ms, created + 2);
    let mut earlier = second.clone();
    earlier.header.timestamp_ms = created + 1;
    assert_eq!(
        check_block(&after, &first.hash(), &earlier).unwrap_err(),
        BlockError::TimeNotAfterParent {
            parent: created + 1,
            got: created + 1
        }
    );
    assert!(check_block(&after, &first.hash(), &second).is_ok());
}

#[test]
fn no_block_is_older_than_its_genesis() {
    let created = 1_700_000_000_000;
    let owner = key(1);
    let genesis = Genesis {
        created_at_ms: created,
        ..unsigned_genesis(owner.address(), &[(key(9).host_id(), 1)], 0)
    };
    let state = ChainState::from_genesis(&SignedGenesis::sign(genesis, &owner)).unwrap();
    assert_eq!(state.meta().time_ms, created);
    let mint = mint(state.chain_id(), &owner, 1, &key(2), 5);
    // A proposer whose clock is a day behind the genesis builds its first block after it.
    let behind = BlockTemplate {
        timestamp_ms: created - 86_400_000,
        ..template()
    };
    let (block, outcome) = build_block(&state, &[mint], behind, 10).unwrap();
    assert_eq!(block.header.timestamp_ms, created + 1);
    assert_eq!(outcome.state.meta().time_ms, created + 1);
    // One that says so in its block is refused, however its clock came to say it.
    for time in [0, created - 86_400_000, created - 1, created] {
        let mut older = block.clone();
        older.header.timestamp_ms = time;
        assert_eq!(
            check_block(&state, &Hash::ZERO, &older).unwrap_err(),
            BlockError::TimeNotAfterGenesis {
                genesis: created,
                got: time
            }
        );
    }
    assert!(check_block(&state, &Hash::ZERO, &block).is_ok());
}

#[test]
fn nothing_to_apply_builds_no_block() {
    let state = chain();
    let stranger = burn(state.chain_id(), &key(5), 1, 1);
    assert!(build_block(&state, &[stranger], template(), 10).is_none());
    assert!(build_block(&state, &[], template(), 10).is_none());
}

#[test]
fn a_block_that_does_not_fit_the_chain_is_refused_with_the_reason() {
    let state = chain();
    let (block, _) = build_block(
        &state,
        &[mint(state.chain_id(), &key(1), 1, &key(2), 5)],
        template(),
        10,
    )
    .unwrap();

    let mut other = block.clone();
    other.header.height = Height(2);
    assert!(matches!(
        check_block(&state, &Hash::ZERO, &other),
        Err(BlockError::WrongHeight { .. })
    ));
    assert!(matches!(
        check_block(&state, &Hash([1; 32]), &block),
        Err(BlockError::WrongParent { .. })
    ));
    let mut other = block.clone();
    other.header.validators_hash = Hash([2; 32]);
    assert!(matches!(
        check_block(&state, &Hash::ZERO, &other),
        Err(BlockError::WrongValidators { .. })
    ));
    let mut other = block.clone();
    other.header.state_root = Hash([3; 32]);
    let error = check_block(&state, &Hash::ZERO, &other).unwrap_err();
    assert!(
        matches!(error, BlockError::WrongStateRoot { .. }),
        "{error}"
    );
    let mut other = block.clone();
    other.txs = BoundedVec::default();
    assert_eq!(
        check_block(&state, &Hash::ZERO, &other).unwrap_err(),
        BlockError::WrongTxRoot
    );

    // A transaction the ledger rejects makes the whole block invalid.
    let not_owner = mint(state.chain_id(), &key(2), 1, &key(2), 5);
    let mut bad = block.clone();
    bad.txs = BoundedVec::new(vec![not_owner]).unwrap();
    bad.header.tx_root = myriad_types::tx_root(&bad.txs);
    let error = check_block(&state, &Hash::ZERO, &bad).unwrap_err();
    assert!(
        matches!(
            error,
            BlockError::Rejected {
                index: 0,
                error: TxError::NotOwner { .. }
            }
        ),
        "{error}"
    );
}

#[test]
fn blocks_stay_under_the_byte_limit() {
    let state = chain();
    let owner = key(1);
    let validators: Vec<Validator> = (0..VALIDATORS_MAX as u8)
        .map(|i| Validator {
            host: key(100 + i).host_id(),
            power: 1,
        })
        .collect();
    let big: Vec<SignedTransaction> = (1..=900)
        .map(|nonce| {
            let kind = TxKind::SetValidators {
                validators: BoundedVec::new(validators.clone()).unwrap(),
            };
            tx(state.chain_id(), &owner, nonce, kind)
        })
        .collect();
    let size = encode(&big[0]).len();
    assert!(size * big.len() > myriad_ledger::BLOCK_TX_BYTES_MAX);

    let (block, _) = build_block(&state, &big, template(), 4096).unwrap();
    assert_eq!(block.txs.len(), myriad_ledger::BLOCK_TX_BYTES_MAX / size);
    assert!(check_block(&state, &Hash::ZERO, &block).is_ok());

    let mut over = block.clone();
    over.txs = BoundedVec::new(big).unwrap();
    over.header.tx_root = myriad_types::tx_root(&over.txs);
    assert!(matches!(
        check_block(&state, &Hash::ZERO, &over),
        Err(BlockError::TooLarge { .. })
    ));
}
