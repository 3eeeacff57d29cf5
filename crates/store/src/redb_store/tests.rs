use myriad_ledger::{execute_block, ChainState, Receipt};
use myriad_types::{
    tx_root, Address, BlockHeader, BoundedVec, CommitSignature, EscrowId, Hash, Lock, LockProof,
    Memo, ObjectKey, Proposal, Round, SignedProposal, SignedStep, SignedTransaction, SignedVote,
    SignerState, Transaction, TxKind, Vote, VoteStep,
};

use myriad_testing::key;
use myriad_types::{encode, ValidatorSet};

use super::*;
use crate::journal;
use crate::{MemStore, SignerRecord, Store};

fn genesis(salt: u64) -> SignedGenesis {
    myriad_testing::genesis(&key(1), &[(key(10).host_id(), 1)], salt)
}

/// A block as a host decides it: with its certificate and its transactions' receipts.
struct Decided {
    block: Block,
    certificate: Certificate,
    receipts: Vec<Receipt>,
}

impl Decided {
    fn put(&self, batch: &mut WriteBatch) {
        batch.put_block(&self.block, &self.certificate, &self.receipts);
    }
}

/// A chain one block past genesis, and the block.
fn chain_with_block(salt: u64) -> (SignedGenesis, ChainState, Decided) {
    let genesis = genesis(salt);
    let state = ChainState::from_genesis(&genesis).unwrap();
    let chain_id = state.chain_id();
    let owner = key(1);
    let txs = vec![
        SignedTransaction::sign(
            Transaction {
                chain_id,
                sender: owner.address(),
                nonce: 1,
                kind: TxKind::Mint {
                    to: owner.address(),
                    amount: 1_000,
                },
            },
            &owner,
        ),
        SignedTransaction::sign(
            Transaction {
                chain_id,
                sender: owner.address(),
                nonce: 2,
                kind: TxKind::Transfer {
                    to: key(2).address(),
                    amount: 250,
                    memo: Memo::default(),
                },
            },
            &owner,
        ),
    ];
    let (state, decided) = next_block(state, txs);
    decided
        .certificate
        .verify(&genesis.verify().unwrap())
        .unwrap();
    (genesis, state, decided)
}

/// The next block of `state` with `txs`, executed and certified.
fn next_block(state: ChainState, txs: Vec<SignedTransaction>) -> (ChainState, Decided) {
    let chain_id = state.chain_id();
    let height = state.next_height();
    let validators_hash = state.meta().validators.hash();
    let (state, receipts, state_root) = execute_block(state, height.0, &txs);
    let receipts = receipts.into_iter().map(Result::unwrap).collect();
    let block = Block {
        header: BlockHeader {
            chain_id,
            height,
            prev_hash: Hash::ZERO,
            timestamp_ms: height.0,
            proposer: key(10).host_id(),
            tx_root: tx_root(&txs),
            state_root,
            validators_hash,
        },
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
            host: key(10).host_id(),
            signature: myriad_types::sign_alone(&key(10), &vote),
        }])
        .unwrap(),
    };
    let decided = Decided {
        block,
        certificate,
        receipts,
    };
    (state, decided)
}

fn signer_state(block: &Block) -> SignerState {
    SignerState {
        height: Height(2),
        round: Round(0),
        step: SignedStep::Prevote,
        block_hash: Some(block.hash()),
        lock: Some(Lock {
            round: Round(0),
            block_hash: block.hash(),
        }),
    }
}

/// A lock on `block` at round 0, proven by a proposal and one prevote.
fn lock_proof(block: &Block) -> LockProof {
    let proposer = key(10);
    let proposal = Proposal {
        chain_id: block.header.chain_id,
        height: block.header.height,
        round: Round(0),
        block_hash: block.hash(),
        valid_round: None,
    };
    let prevote = Vote {
        chain_id: block.header.chain_id,
        height: block.header.height,
        round: Round(0),
        step: VoteStep::Prevote,
        block_hash: Some(block.hash()),
    };
    LockProof {
        proposal: SignedProposal {
            signature: myriad_types::sign_alone(&proposer, &proposal),
            proposal,
            proposer: proposer.host_id(),
            block: block.clone(),
        },
        prevotes: BoundedVec::new(vec![SignedVote {
            signature: myriad_types::sign_alone(&proposer, &prevote),
            vote: prevote,
            voter: proposer.host_id(),
        }])
        .unwrap(),
    }
}

fn write_chain(store: &dyn Store, salt: u64) -> (ChainState, Block, Certificate) {
    let (genesis, mut state, decided) = chain_with_block(salt);
    let block = &decided.block;
    let mut batch = WriteBatch::new();
    batch.put_genesis(&genesis);
    batch.put_chain_state(&state, block.hash());
    decided.put(&mut batch);
    batch.put_signer(
        state.chain_id(),
        Some(&signer_state(block)),
        Some(&lock_proof(block)),
    );
    store.commit(batch).unwrap();
    state.clear_changed();
    (state, decided.block, decided.certificate)
}

/// Runs a test that holds for every store against each implementation.
fn each_store(test: impl Fn(&dyn Store)) {
    test(&MemStore::new());
    let dir = tempfile::tempdir().unwrap();
    test(&RedbStore::open(&dir.path().join("host.redb")).unwrap());
}

#[test]
fn written_state_reads_back_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.redb");
    let (state, block, certificate) = write_chain(&RedbStore::open(&path).unwrap(), 7);
    let chain = state.chain_id();

    let store = RedbStore::open(&path).unwrap();
    let loaded = store.chain_state(&chain).unwrap().unwrap();
    assert_eq!(loaded.state_root(), state.state_root());
    assert_eq!(loaded.meta(), state.meta());
    assert_eq!(
        store.account(&chain, &key(2).address()).unwrap().balance,
        250
    );
    assert_eq!(
        store.account(&chain, &key(1).address()).unwrap().balance,
        750
    );
    assert_eq!(store.accounts(&chain).unwrap().len(), 2);
    let head = store.chain_head(&chain).unwrap().unwrap();
    assert_eq!(head.block_hash, block.hash());
    assert_eq!(head.state_root(), block.header.state_root);
    assert_eq!(store.block(&chain, Height(1)).unwrap(), Some(block.clone()));
    assert_eq!(
        store.certified_block(&chain, Height(1)).unwrap(),
        Some((block.clone(), certificate))
    );
    assert_eq!(store.block(&chain, Height(2)).unwrap(), None);
    assert_eq!(
        store.genesis(&chain).unwrap().unwrap().genesis.chain_id(),
        chain
    );
    assert_eq!(
        store.signer_record(&chain).unwrap(),
        SignerRecord {
            state: Some(signer_state(&block)),
            lock_proof: Some(lock_proof(&block)),
        }
    );
    let other = ChainId([9; 32]);
    assert_eq!(
        store.signer_record(&other).unwrap(),
        SignerRecord::default()
    );
    assert_eq!(store.chain_count().unwrap(), 1);
}

#[test]
fn a_spent_account_keeps_its_nonce_and_reloads() {
    each_store(|store| {
        let (state, _, _) = write_chain(store, 8);
        let chain = state.chain_id();
        let holder = key(2);
        let spend = SignedTransaction::sign(
            Transaction {
                chain_id: chain,
                sender: holder.address(),
                nonce: 1,
                kind: TxKind::Burn { amount: 250 },
            },
            &holder,
        );
        let (state, receipts, _) = execute_block(state, 2, &[spend]);
        assert!(receipts[0].is_ok());
        let mut batch = WriteBatch::new();
        batch.put_chain_state(&state, Hash::digest(b"block 2"));
        store.commit(batch).unwrap();
        // The holder sent a transaction, so its entry (nonce 1) stays; the balance is gone.
        assert_eq!(store.account(&chain, &holder.address()).unwrap().nonce, 1);
        assert_eq!(store.account(&chain, &holder.address()).unwrap().balance, 0);
        let loaded = store.chain_state(&chain).unwrap().unwrap();
        assert_eq!(loaded.state_root(), state.state_root());
    });
}

#[test]
fn a_batch_dropped_before_commit_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.redb");
    let store = RedbStore::open(&path).unwrap();
    let (first, _, _) = write_chain(&store, 1);

    let (genesis, second, decided) = chain_with_block(2);
    let mut batch = WriteBatch::new();
    batch.put_genesis(&genesis);
    batch.put_chain_state(&second, decided.block.hash());
    decided.put(&mut batch);
    assert!(!batch.is_empty());
    drop(batch);
    drop(store);

    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.chain_count().unwrap(), 1);
    assert!(store.chain_state(&second.chain_id()).unwrap().is_none());
    assert!(store
        .block(&second.chain_id(), Height(1))
        .unwrap()
        .is_none());
    assert!(store.chain_state(&first.chain_id()).unwrap().is_some());
}

#[test]
fn a_redb_write_dropped_before_commit_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.redb");
    let store = RedbStore::open(&path).unwrap();
    {
        let write = store.shared.db.begin_write().unwrap();
        let mut rows = write.open_table(CHAINS).unwrap();
        let key = row::head(&ChainId([9; 32]));
        rows.insert(key.as_slice(), b"half-written".as_slice())
            .unwrap();
    }
    drop(store);
    let store = RedbStore::open(&path).unwrap();
    assert!(store.chain_head(&ChainId([9; 32])).unwrap().is_none());
}

#[test]
fn a_store_of_another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.redb");
    drop(RedbStore::open(&path).unwrap());
    {
        let db = Database::create(&path).unwrap();
        let write = db.begin_write().unwrap();
        write
            .open_table(META)
            .unwrap()
            .insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION + 1)
            .unwrap();
        write.commit().unwrap();
    }
    let error = RedbStore::open(&path).unwrap_err();
    assert!(
        matches!(error, StoreError::SchemaVersion { found, .. } if found == SCHEMA_VERSION + 1)
    );
    let message = error.to_string();
    let found = format!("schema version {}", SCHEMA_VERSION + 1);
    assert!(message.contains(&found), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn a_store_open_elsewhere_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.redb");
    let _held = RedbStore::open(&path).unwrap();
    let error = RedbStore::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Locked { .. }), "{error}");
    assert!(error.to_string().contains("another process"), "{error}");
}

#[test]
fn accounts_that_disagree_with_the_head_are_reported_as_corruption() {
    each_store(|store| {
        let (state, _, _) = write_chain(store, 3);
        let mut batch = WriteBatch::new();
        let forged = Account {
            balance: 1_000_000,
            nonce: 0,
        };
        batch.accounts.insert(
            (state.chain_id(), Address([5; 32])),
            Some(myriad_types::encode(&forged)),
        );
        store.commit(batch).unwrap();
        let error = store.chain_state(&state.chain_id()).unwrap_err();
        assert!(matches!(error, StoreError::Corrupt(_)), "{error}");
    });
}

#[test]
fn a_database_of_something_else_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.redb");
    {
        let db = Database::create(&path).unwrap();
        let write = db.begin_write().unwrap();
        let other: TableDefinition<u64, u64> = TableDefinition::new("other");
        write.open_table(other).unwrap().insert(1, 2).unwrap();
        write.commit().unwrap();
    }
    let error = RedbStore::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Foreign { .. }), "{error}");
}

#[test]
fn chains_list_in_id_order_page_by_page() {
    each_store(|store| {
        let mut ids: Vec<ChainId> = (0..5)
            .map(|salt| write_chain(store, salt).0.chain_id())
            .collect();
        ids.sort();
        let first = store.chains(None, 3).unwrap();
        let rest = store.chains(Some(&first[2].0), 3).unwrap();
        let listed: Vec<ChainId> = first.iter().chain(&rest).map(|(id, _)| *id).collect();
        assert_eq!(listed, ids);
        assert_eq!(first[0].1, store.chain_head(&ids[0]).unwrap().unwrap());
        assert!(store.chains(Some(&ids[4]), 3).unwrap().is_empty());
    });
}

#[test]
fn an_account_history_follows_the_receipts() {
    each_store(|store| {
        let (genesis, state, mut decided) = chain_with_block(4);
        // A receipt may name an account the transaction's kind does not (an escrow's
        // beneficiary, say): the history follows the receipt.
        let named = key(7).address();
        decided.receipts[1].accounts.push(named);
        let mut batch = WriteBatch::new();
        batch.put_genesis(&genesis);
        batch.put_chain_state(&state, decided.block.hash());
        decided.put(&mut batch);
        store.commit(batch).unwrap();
        let transfer = decided.block.txs[1].hash();
        assert_eq!(
            store
                .account_txs(&state.chain_id(), &named, None, 10)
                .unwrap(),
            vec![(Height(1), 1, transfer)]
        );
    });
}

#[test]
fn an_account_history_holds_what_it_sent_and_received_newest_first() {
    each_store(|store| {
        let (state, block, _) = write_chain(store, 3);
        let chain = state.chain_id();
        let hashes: Vec<Hash> = block.txs.iter().map(SignedTransaction::hash).collect();
        // The owner minted to itself (indexed once) and then paid key 2.
        assert_eq!(
            store
                .account_txs(&chain, &key(1).address(), None, 10)
                .unwrap(),
            vec![(Height(1), 1, hashes[1]), (Height(1), 0, hashes[0])]
        );
        assert_eq!(
            store
                .account_txs(&chain, &key(2).address(), None, 10)
                .unwrap(),
            vec![(Height(1), 1, hashes[1])]
        );
        assert_eq!(
            store
                .account_txs(&chain, &key(1).address(), None, 1)
                .unwrap(),
            vec![(Height(1), 1, hashes[1])]
        );
        assert_eq!(
            store
                .account_txs(&chain, &key(1).address(), Some((Height(1), 1)), 10)
                .unwrap(),
            vec![(Height(1), 0, hashes[0])],
            "the next page starts where the last ended"
        );
        assert!(store
            .account_txs(&chain, &key(3).address(), None, 10)
            .unwrap()
            .is_empty());
        let other = write_chain(store, 4).0.chain_id();
        assert_eq!(
            store
                .account_txs(&other, &key(2).address(), None, 10)
                .unwrap()
                .len(),
            1,
            "one chain's history does not show another's"
        );
    });
}

/// Three chains on which key 2 received a payment, one with an escrow of key 2's besides:
/// the chains of key 2 and of the escrow, by id, and the transactions by hash.
fn check_search_indexes(store: &dyn Store, chains: &[ChainId], escrow: EscrowId, txs: &[Hash]) {
    let payee = key(2).address().0;
    assert_eq!(store.chains_of(&payee, None, 10).unwrap(), chains);
    assert_eq!(store.chains_of(&payee, None, 2).unwrap(), chains[..2]);
    assert_eq!(
        store.chains_of(&payee, Some(&chains[1]), 10).unwrap(),
        chains[2..],
        "the next page starts after the last chain of the page before"
    );
    assert!(store
        .chains_of(&key(3).address().0, None, 10)
        .unwrap()
        .is_empty());
    assert_eq!(store.chains_of(&escrow.0, None, 10).unwrap(), chains[..1]);
    let listed = store.txs_from(&Hash::ZERO, 100).unwrap();
    let hashes: Vec<Hash> = listed.iter().map(|(tx, _, _)| *tx).collect();
    assert_eq!(hashes, txs, "every transaction, in hash order");
    assert!(listed
        .iter()
        .all(|(_, chain, height)| chains.contains(chain) && *height == Height(1)));
    assert_eq!(store.txs_from(&txs[2], 2).unwrap().len(), 2);
    assert_eq!(store.txs_from(&txs[2], 2).unwrap()[0].0, txs[2]);
}

/// Writes three chains (the first in its own batch, so that a checkpoint can come after it)
/// and returns what [`check_search_indexes`] checks.
fn write_search_chains(
    store: &dyn Store,
    between: impl Fn(),
) -> (Vec<ChainId>, EscrowId, Vec<Hash>) {
    let mut chains = Vec::new();
    let mut txs = Vec::new();
    let escrow = EscrowId([9; 32]);
    for salt in 0..3 {
        let (genesis, state, mut decided) = chain_with_block(20 + salt);
        if salt == 0 {
            decided.receipts[1].objects.push(ObjectKey::Escrow(escrow));
        }
        let mut batch = WriteBatch::new();
        batch.put_genesis(&genesis);
        batch.put_chain_state(&state, decided.block.hash());
        decided.put(&mut batch);
        store.commit(batch).unwrap();
        if salt == 0 {
            between();
        }
        chains.push(state.chain_id());
        txs.extend(decided.block.txs.iter().map(SignedTransaction::hash));
    }
    chains.sort();
    txs.sort();
    (chains, escrow, txs)
}

#[test]
fn a_search_finds_the_chains_of_an_id_and_transactions_by_hash() {
    each_store(|store| {
        let (chains, escrow, txs) = write_search_chains(store, || {});
        check_search_indexes(store, &chains, escrow, &txs);
    });
}

#[test]
fn the_search_indexes_split_between_file_and_journal_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.redb");
    let store = RedbStore::open(&path).unwrap();
    let (chains, escrow, txs) = write_search_chains(&store, || store.checkpoint_now().unwrap());
    assert!(store.journal_stats().journaled_bytes > 0);
    check_search_indexes(&store, &chains, escrow, &txs);
    drop(store);
    let store = RedbStore::open(&path).unwrap();
    check_search_indexes(&store, &chains, escrow, &txs);
}

#[test]
fn a_failed_commit_writes_nothing_and_keeps_what_was_committed() {
    let store = MemStore::new();
    let (first, _, _) = write_chain(&store, 1);
    let (genesis, second, decided) = chain_with_block(2);
    let mut batch = WriteBatch::new();
    batch.put_genesis(&genesis);
    batch.put_chain_state(&second, decided.block.hash());
    decided.put(&mut batch);
    store.fail_next_commit(true);
    assert!(store.commit(batch).is_err());
    assert_eq!(store.commits(), 1);
    assert_eq!(store.chain_count().unwrap(), 1);
    assert!(store.chain_state(&second.chain_id()).unwrap().is_none());
    assert!(store
        .block(&second.chain_id(), Height(1))
        .unwrap()
        .is_none());
    assert!(store.chain_state(&first.chain_id()).unwrap().is_some());
    // Only that one commit failed.
    write_chain(&store, 2);
    assert_eq!(store.chain_count().unwrap(), 2);
}

/// Key 2's burn of `amount` on `state`'s chain, its `nonce`th transaction.
fn burn(state: &ChainState, nonce: u64, amount: u128) -> SignedTransaction {
    let holder = key(2);
    SignedTransaction::sign(
        Transaction {
            chain_id: state.chain_id(),
            sender: holder.address(),
            nonce,
            kind: TxKind::Burn { amount },
        },
        &holder,
    )
}

#[test]
fn a_checkpoint_moves_the_journal_into_the_file_and_reads_join_the_two() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.redb");
    let store = RedbStore::open(&path).unwrap();
    let (state, first_block, _) = write_chain(&store, 1);
    let chain = state.chain_id();
    let transfer = first_block.txs[1].hash();
    store.checkpoint_now().unwrap();
    assert_eq!(store.journal_stats().checkpoints, 1);
    assert_eq!(store.journal_stats().journaled_bytes, 0);

    // Chain 1's second block and a second chain, journaled over chain 1's first block in
    // the file.
    let spend = burn(&state, 1, 100);
    let (state, decided) = next_block(state, vec![spend.clone()]);
    let second_block = decided.block.clone();
    let mut batch = WriteBatch::new();
    batch.put_chain_state(&state, second_block.hash());
    decided.put(&mut batch);
    store.commit(batch).unwrap();
    let other = write_chain(&store, 2).0.chain_id();
    assert!(store.journal_stats().journaled_bytes > 0);

    let check = |store: &RedbStore| {
        assert_eq!(store.chain_count().unwrap(), 2);
        let mut ids = vec![chain, other];
        ids.sort();
        let listed: Vec<ChainId> = store
            .chains(None, 10)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(listed, ids);
        assert_eq!(store.chains(None, 1).unwrap().len(), 1);
        let history = store.account_txs(&chain, &key(2).address(), None, 10);
        assert_eq!(
            history.unwrap(),
            vec![(Height(2), 0, spend.hash()), (Height(1), 1, transfer)]
        );
        let page = store.account_txs(&chain, &key(2).address(), Some((Height(2), 0)), 10);
        assert_eq!(page.unwrap(), vec![(Height(1), 1, transfer)]);
        let holder = store.account(&chain, &key(2).address()).unwrap();
        assert_eq!((holder.balance, holder.nonce), (150, 1));
        assert_eq!(store.accounts(&chain).unwrap().len(), 2);
        let loaded = store.chain_state(&chain).unwrap().unwrap();
        assert_eq!(loaded.state_root(), state.state_root());
        assert_eq!(
            store.block(&chain, Height(1)).unwrap(),
            Some(first_block.clone())
        );
        assert_eq!(
            store.block(&chain, Height(2)).unwrap(),
            Some(second_block.clone())
        );
        assert_eq!(
            store.tx_location(&transfer).unwrap(),
            Some((chain, Height(1)))
        );
        assert_eq!(
            store.tx_location(&spend.hash()).unwrap(),
            Some((chain, Height(2)))
        );
        assert!(store.signer_record(&chain).unwrap().state.is_some());
    };
    check(&store);
    drop(store);
    let store = RedbStore::open(&path).unwrap();
    check(&store);
    assert_eq!(
        journal::files(&path).unwrap().len(),
        1,
        "opening puts the journal in the file and starts a new one"
    );
}

#[test]
fn a_store_whose_commits_stop_still_moves_its_journal_into_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.redb");
    let store = RedbStore::open(&path).unwrap();
    let chain = write_chain(&store, 1).0.chain_id();
    assert!(store.journal_stats().journaled_bytes > 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.journal_stats().checkpoints == 0 || store.journal_stats().journaled_bytes > 0 {
        assert!(
            Instant::now() < deadline,
            "no checkpoint {CHECKPOINT_MS} ms after the last commit"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let read = store.shared.db.begin_read().unwrap();
    let geneses = read.open_table(GENESES).unwrap();
    assert!(
        geneses.get(chain.0).unwrap().is_some(),
        "the file holds the chain"
    );
}

#[test]
fn a_record_cut_short_at_the_end_of_the_journal_is_dropped_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.redb");
    let store = RedbStore::open(&path).unwrap();
    let first = write_chain(&store, 1).0.chain_id();
    let second = write_chain(&store, 2).0.chain_id();
    drop(store);
    let files = journal::files(&path).unwrap();
    assert_eq!(files.len(), 1);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&files[0].1)
        .unwrap();
    let length = file.metadata().unwrap().len();
    file.set_len(length - 5).unwrap();
    drop(file);

    let store = RedbStore::open(&path).unwrap();
    assert!(store.chain_state(&first).unwrap().is_some());
    assert!(store.chain_state(&second).unwrap().is_none());
    assert_eq!(store.chain_count().unwrap(), 1);
    let third = write_chain(&store, 3).0.chain_id();
    drop(store);
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.chain_count().unwrap(), 2);
    assert!(store.chain_state(&third).unwrap().is_some());
}

fn validator_set_of(seeds: &[u8]) -> ValidatorSet {
    let validators = seeds
        .iter()
        .map(|seed| myriad_types::Validator {
            host: key(*seed).host_id(),
            power: u64::from(*seed),
        })
        .collect();
    ValidatorSet::new(validators).unwrap()
}

/// A chain's validator sets from its genesis on (0: the genesis's, then a set chosen at
/// height 4 and one chosen at height 8), and another chain sharing one of them; the later
/// set of the first chain comes in a second batch.
fn validator_batches() -> (ChainId, ChainId, [ValidatorSet; 3], WriteBatch, WriteBatch) {
    let (x, y) = (ChainId([1; 32]), ChainId([2; 32]));
    let sets = [
        validator_set_of(&[10]),
        validator_set_of(&[10, 11]),
        validator_set_of(&[12]),
    ];
    let mut first = WriteBatch::new();
    first.put_validators(x, Height(0), &sets[0]);
    first.put_validators(x, Height(5), &sets[1]);
    let mut second = WriteBatch::new();
    second.put_validators(x, Height(9), &sets[2]);
    second.put_validators(y, Height(0), &sets[1]);
    (x, y, sets, first, second)
}

/// What a store must answer for [`validator_batches`].
fn check_validator_history(store: &dyn Store, x: ChainId, y: ChainId, sets: &[ValidatorSet; 3]) {
    let span = |from, until: Option<u64>, set: &ValidatorSet| {
        Some(ValidatorSpan {
            from: Height(from),
            until: until.map(Height),
            set: set.clone(),
        })
    };
    let at = |chain, height| store.validators_at(&chain, Height(height)).unwrap();
    for height in [0, 1, 4] {
        assert_eq!(at(x, height), span(0, Some(5), &sets[0]), "height {height}");
    }
    for height in [5, 8] {
        assert_eq!(at(x, height), span(5, Some(9), &sets[1]), "height {height}");
    }
    for height in [9, 10, u64::MAX] {
        assert_eq!(at(x, height), span(9, None, &sets[2]), "height {height}");
    }
    assert_eq!(at(y, 0), span(0, None, &sets[1]));
    assert_eq!(at(y, 7), span(0, None, &sets[1]));
    assert_eq!(at(ChainId([3; 32]), 0), None, "a chain not stored");
}

#[test]
fn each_store_finds_the_validator_set_in_force_at_any_height() {
    each_store(|store| {
        let (x, y, sets, first, second) = validator_batches();
        store.commit(first).unwrap();
        store.commit(second).unwrap();
        check_validator_history(store, x, y, &sets);
    });
}

#[test]
fn a_validator_history_split_between_file_and_journal_reads_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.redb");
    let store = RedbStore::open(&path).unwrap();
    let (x, y, sets, first, second) = validator_batches();
    store.commit(first).unwrap();
    store.checkpoint_now().unwrap();
    store.commit(second).unwrap();
    assert!(store.journal_stats().journaled_bytes > 0);
    check_validator_history(&store, x, y, &sets);
    drop(store);
    // Opening wrote the replayed journal into the file: all of it is read from there.
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(store.journal_stats().journaled_bytes, 0);
    check_validator_history(&store, x, y, &sets);
}

#[test]
fn a_validator_set_stored_under_another_hash_is_reported_as_corruption() {
    let store = MemStore::new();
    let set = validator_set_of(&[10]);
    let mut batch = WriteBatch::new();
    batch.put_validators(ChainId([1; 32]), Height(0), &set);
    // The set's row holds another set's bytes.
    let hash = set.hash();
    batch
        .validator_sets
        .insert(hash, encode(&validator_set_of(&[11])));
    store.commit(batch).unwrap();
    let error = store
        .validators_at(&ChainId([1; 32]), Height(0))
        .unwrap_err();
    assert!(matches!(error, StoreError::Corrupt(_)), "{error}");
}
