//! Applying one transfer, and updating the state root of a chain of 1,000,000 accounts.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use myriad_ledger::tree::AccountTree;
use myriad_ledger::{apply, ChainState};
use myriad_testing::{genesis, key, mint, transfer};
use myriad_types::{Hash, SecretKey};

fn chain() -> (SecretKey, ChainState) {
    let owner = key(1);
    let genesis = genesis(&owner, &[(key(2).host_id(), 1)], 0);
    let mut state = ChainState::from_genesis(&genesis).unwrap();
    let mint = mint(state.chain_id(), &owner, 1, &owner, 1_000_000);
    apply(&mut state, &mint).unwrap();
    (owner, state)
}

fn apply_transfer(c: &mut Criterion) {
    let (owner, state) = chain();
    let transfer = transfer(state.chain_id(), &owner, 2, &key(9), 10);
    c.bench_function("apply one transfer", |b| {
        b.iter_batched_ref(
            || state.clone(),
            |state| apply(state, &transfer).unwrap(),
            BatchSize::SmallInput,
        )
    });
}

fn root_update(c: &mut Criterion) {
    const ACCOUNTS: u32 = 1_000_000;
    let mut tree = AccountTree::default();
    for n in 0..ACCOUNTS {
        tree.insert(
            Hash::digest(&n.to_le_bytes()),
            Hash::digest(&n.to_be_bytes()),
        );
    }
    let mut n = 0u32;
    c.bench_function("state root update, 1 of 1,000,000 accounts", |b| {
        b.iter(|| {
            n = (n + 7919) % ACCOUNTS;
            tree.insert(
                Hash::digest(&n.to_le_bytes()),
                Hash::digest(&n.to_ne_bytes()),
            );
            tree.root()
        })
    });
}

criterion_group!(benches, apply_transfer, root_update);
criterion_main!(benches);
