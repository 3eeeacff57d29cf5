//! Signing and verifying: one at a time, and in batches of 64 and 1,024.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use myriad_types::{
    Address, BatchVerifier, ChainId, Memo, SecretKey, SignedTransaction, Transaction, TxKind,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn transfer(seed: u32) -> (SecretKey, Transaction) {
    let mut bytes = [7u8; 32];
    bytes[..4].copy_from_slice(&seed.to_le_bytes());
    let sender = SecretKey::from_seed(bytes);
    let tx = Transaction {
        chain_id: ChainId([1; 32]),
        sender: sender.address(),
        nonce: 1,
        kind: TxKind::Transfer {
            to: Address([2; 32]),
            amount: 100,
            memo: Memo::default(),
        },
    };
    (sender, tx)
}

fn signed(count: u32) -> Vec<SignedTransaction> {
    (0..count)
        .map(|seed| {
            let (sender, tx) = transfer(seed);
            SignedTransaction::sign(tx, &sender)
        })
        .collect()
}

fn signatures(c: &mut Criterion) {
    let (sender, tx) = transfer(0);
    c.bench_function("sign", |b| b.iter(|| sender.sign(&tx)));

    let one = SignedTransaction::sign(tx, &sender);
    c.bench_function("verify one", |b| b.iter(|| one.verify_signature().unwrap()));

    let mut group = c.benchmark_group("batch verify");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for count in [64u32, 1024] {
        let txs = signed(count);
        group.throughput(Throughput::Elements(u64::from(count)));
        group.bench_function(count.to_string(), |b| {
            b.iter_batched(
                || {
                    let mut batch = BatchVerifier::new();
                    for signed in &txs {
                        batch.queue(&signed.tx.sender.0, &signed.tx, &signed.signature);
                    }
                    batch
                },
                |batch| batch.verify(&mut rng).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, signatures);
criterion_main!(benches);
