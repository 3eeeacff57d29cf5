//! Applying one transfer, updating the state root of a chain of 1,000,000 accounts, and
//! building and checking a block of one transfer on a chain of 100,000 accounts.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use myriad_ledger::tree::AccountTree;
use myriad_ledger::{apply, build_block, check_block, BlockTemplate, ChainState};
use myriad_testing::{genesis, key, mint, transfer};
use myriad_types::{Account, Address, Hash, Memo, SecretKey, TxKind};

fn chain() -> (SecretKey, ChainState) {
    let owner = key(1);
    let genesis = genesis(&owner, &[(key(2).host_id(), 1)], 0);
    let mut state = ChainState::from_genesis(&genesis).unwrap();
    let mint = mint(state.chain_id(), &owner, 1, &owner, 1_000_000);
    apply(&mut state, 1, &mint).unwrap();
    (owner, state)
}

fn apply_transfer(c: &mut Criterion) {
    let (owner, state) = chain();
    let transfer = transfer(state.chain_id(), &owner, 2, &key(9), 10);
    c.bench_function("apply one transfer", |b| {
        b.iter_batched_ref(
            || state.clone(),
            |state| apply(state, 1, &transfer).unwrap(),
            BatchSize::SmallInput,
        )
    });
}

fn root_update(c: &mut Criterion) {
    const ACCOUNTS: u32 = 1_000_000;
    let address = |n: u32| Address(Hash::digest(&n.to_le_bytes()).0);
    let account = |n: u32| Account {
        balance: u128::from(n) + 1,
        nonce: 0,
    };
    let mut tree = AccountTree::default();
    for n in 0..ACCOUNTS {
        tree.insert(address(n), account(n));
    }
    let mut n = 0u32;
    c.bench_function("state root update, 1 of 1,000,000 accounts", |b| {
        b.iter(|| {
            n = (n + 7919) % ACCOUNTS;
            tree.insert(address(n), account(n.wrapping_mul(3)));
            tree.root()
        })
    });
}

/// A block costs what it touches: building and checking it works on copies of the chain's
/// state that share its accounts.
fn block_on_a_large_chain(c: &mut Criterion) {
    const ACCOUNTS: u64 = 100_000;
    let (owner, state) = chain();
    let mut state = state;
    let mut nonce = 2;
    let mut txs = Vec::new();
    for n in 0..ACCOUNTS {
        let to = Address(Hash::digest(&n.to_le_bytes()).0);
        txs.push(myriad_testing::tx(
            state.chain_id(),
            &owner,
            nonce,
            TxKind::Transfer {
                to,
                amount: 1,
                memo: Memo::default(),
            },
        ));
        nonce += 1;
        if txs.len() == 1_000 {
            for tx in txs.drain(..) {
                apply(&mut state, 1, &tx).unwrap();
            }
        }
    }
    // As a host holds it: its writes persisted.
    state.clear_changed();
    let transfer = transfer(state.chain_id(), &owner, nonce, &key(9), 10);
    let template = BlockTemplate {
        prev_hash: Hash::ZERO,
        timestamp_ms: 1,
        proposer: key(2).host_id(),
    };
    c.bench_function(
        "build and check a block of one transfer, 100,000 accounts",
        |b| {
            b.iter(|| {
                let (block, _) =
                    build_block(&state, std::slice::from_ref(&transfer), template, 64).unwrap();
                check_block(&state, &Hash::ZERO, &block).unwrap()
            })
        },
    );
}

criterion_group!(benches, apply_transfer, root_update, block_on_a_large_chain);
criterion_main!(benches);
