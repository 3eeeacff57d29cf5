//! Committing one batch that touches 10,000 chains: each chain's head, its changed accounts,
//! and one block with its certificate — one journal record, one fsync, while the checkpoint
//! thread writes the batches before it into the redb file.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use myriad_ledger::{execute_block, ChainState, Receipt};
use myriad_store::{HostStore, RedbStore, WriteBatch};
use myriad_testing::{genesis, key, mint, transfer};
use myriad_types::{
    tx_root, Block, BlockHeader, BoundedVec, Certificate, CommitSignature, Hash, Round, SecretKey,
    SignedGenesis, Vote, VoteStep,
};

const CHAINS: u64 = 10_000;

/// A chain with an owner who holds currency, ready to transfer.
fn chain(salt: u64, owner: &SecretKey, host: &SecretKey) -> (SignedGenesis, ChainState) {
    let genesis = genesis(owner, &[(host.host_id(), 1)], salt);
    let state = ChainState::from_genesis(&genesis).unwrap();
    (genesis, state)
}

/// The next block of `state`: one transfer, executed, with a certificate.
fn next_block(
    state: ChainState,
    owner: &SecretKey,
    host: &SecretKey,
) -> (ChainState, Block, Certificate, Vec<Receipt>) {
    let chain_id = state.chain_id();
    let height = state.next_height();
    let nonce = state.account(&owner.address()).nonce + 1;
    let tx = if height.0 == 1 {
        mint(chain_id, owner, nonce, owner, u128::from(u32::MAX))
    } else {
        transfer(chain_id, owner, nonce, &key(3), 1)
    };
    let txs = vec![tx];
    let validators_hash = state.meta().validators.hash();
    let (state, receipts, state_root) = execute_block(state, height.0, &txs);
    let receipts = receipts.into_iter().map(Result::unwrap).collect();
    let header = BlockHeader {
        chain_id,
        height,
        prev_hash: Hash::ZERO,
        timestamp_ms: height.0,
        proposer: host.host_id(),
        tx_root: tx_root(&txs),
        state_root,
        validators_hash,
    };
    let block = Block {
        header,
        txs: BoundedVec::new(txs).unwrap(),
    };
    let vote = Vote {
        chain_id,
        height,
        round: Round(0),
        step: VoteStep::Precommit,
        block_hash: Some(block.hash()),
    };
    let certificate = Certificate {
        chain_id,
        height,
        round: Round(0),
        block_hash: block.hash(),
        signatures: BoundedVec::new(vec![CommitSignature {
            host: host.host_id(),
            signature: myriad_types::sign_alone(host, &vote),
        }])
        .unwrap(),
    };
    (state, block, certificate, receipts)
}

fn commit_10k_chains(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("host.redb")).unwrap();
    let owner = key(1);
    let host = key(2);

    let mut batch = WriteBatch::new();
    let mut states: Vec<ChainState> = (0..CHAINS)
        .map(|salt| {
            let (genesis, state) = chain(salt, &owner, &host);
            batch.put_genesis(&genesis);
            batch.put_chain_state(&state, Hash::ZERO);
            state
        })
        .collect();
    store.commit(batch).unwrap();

    let mut group = c.benchmark_group("store");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("commit a batch touching 10,000 chains", |b| {
        b.iter_custom(|iterations| {
            let mut spent = Duration::ZERO;
            for _ in 0..iterations {
                // Executing the blocks is the ledger's work, not the store's: not timed.
                let mut blocks = Vec::with_capacity(states.len());
                states = std::mem::take(&mut states)
                    .into_iter()
                    .map(|state| {
                        let (state, block, certificate, receipts) =
                            next_block(state, &owner, &host);
                        blocks.push((block, certificate, receipts));
                        state
                    })
                    .collect();
                let start = Instant::now();
                let mut batch = WriteBatch::new();
                for (state, (block, certificate, receipts)) in states.iter().zip(&blocks) {
                    batch.put_chain_state(state, block.hash());
                    batch.put_block(block, certificate, receipts);
                }
                store.commit(batch).unwrap();
                spent += start.elapsed();
                states.iter_mut().for_each(ChainState::clear_changed);
            }
            spent
        })
    });
    group.finish();
}

criterion_group!(benches, commit_10k_chains);
criterion_main!(benches);
