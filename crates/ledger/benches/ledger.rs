//! Applying one transfer, and updating the state root of a chain of 1,000,000 accounts.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use myriad_ledger::tree::AccountTree;
use myriad_ledger::{apply, ChainState};
use myriad_types::{
    Address, BoundedVec, Genesis, Hash, Memo, SecretKey, SignedGenesis, SignedTransaction, Symbol,
    Transaction, TxKind, Validator,
};

fn chain() -> (SecretKey, ChainState) {
    let owner = SecretKey::from_seed([1; 32]);
    let genesis = Genesis {
        owner: owner.address(),
        symbol: Symbol::new("BENCH").unwrap(),
        decimals: 0,
        max_supply: None,
        validators: BoundedVec::new(vec![Validator {
            host: SecretKey::from_seed([2; 32]).host_id(),
            power: 1,
        }])
        .unwrap(),
        created_at_ms: 0,
        salt: 0,
    };
    let mut state = ChainState::from_genesis(&SignedGenesis::sign(genesis, &owner)).unwrap();
    let mint = Transaction {
        chain_id: state.chain_id(),
        sender: owner.address(),
        nonce: 1,
        kind: TxKind::Mint {
            to: owner.address(),
            amount: 1_000_000,
        },
    };
    apply(&mut state, &SignedTransaction::sign(mint, &owner)).unwrap();
    (owner, state)
}

fn apply_transfer(c: &mut Criterion) {
    let (owner, state) = chain();
    let transfer = SignedTransaction::sign(
        Transaction {
            chain_id: state.chain_id(),
            sender: owner.address(),
            nonce: 2,
            kind: TxKind::Transfer {
                to: Address([9; 32]),
                amount: 10,
                memo: Memo::default(),
            },
        },
        &owner,
    );
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
