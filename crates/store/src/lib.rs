//! Myriad's storage: the interfaces the host writes through and readers read from, the
//! embedded redb implementation (one file per host, one fsync per committed batch), and an
//! in-memory one with the same atomicity for the simulator and tests.

mod journal;
mod mem_store;
mod redb_store;
mod tables;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Bound, RangeInclusive};

use borsh::{BorshDeserialize, BorshSerialize};
use myriad_ledger::{ChainMeta, ChainState, Receipt};
use myriad_types::{
    decode, encode, Account, Address, Block, Certificate, ChainId, ChannelId, DecodeError,
    EscrowId, Hash, Height, LockProof, Object, ObjectKey, SetChange, SignedGenesis, SignerState,
    ValidatorSet,
};

pub use mem_store::MemStore;
pub use redb_store::{RedbStore, CHECKPOINT_BYTES, CHECKPOINT_MS, JOURNALED_MAX_BYTES};

/// The version of the on-disk layout this build reads and writes.
pub const SCHEMA_VERSION: u64 = 10;

/// A failure of the store, saying what was being done and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store at {path}: it is in use by another process (is another host running on this data directory?)")]
    Locked { path: String },
    #[error("cannot open store at {path}: it has schema version {found}, this build reads version {expected}; use a build that matches it, or move it away to start afresh")]
    SchemaVersion {
        path: String,
        found: u64,
        expected: u64,
    },
    #[error("store {what}: {source}")]
    Backend {
        what: &'static str,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot open store at {path}: it is a database of something else, not a Myriad store")]
    Foreign { path: String },
    #[error("store is corrupt: {0}")]
    Corrupt(String),
}

impl From<DecodeError> for StoreError {
    fn from(error: DecodeError) -> StoreError {
        StoreError::Corrupt(error.to_string())
    }
}

/// A chain's latest committed position: its metadata, last block, and the roots of its
/// accounts and objects trees, which with the metadata give its state root.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChainHead {
    pub meta: ChainMeta,
    /// The hash of the block at `meta.height`; zero at genesis.
    pub block_hash: Hash,
    pub accounts_root: Hash,
    pub objects_root: Hash,
}

impl ChainHead {
    /// The state root of the chain at its head, as its block's header carries it.
    pub fn state_root(&self) -> Hash {
        myriad_ledger::state_root(&self.accounts_root, &self.objects_root, &self.meta.hash())
    }
}

/// The validator set in force at a height of a chain, and the heights it is in force for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorSpan {
    /// The first height of the set: 0 for the genesis's set, `h + 1` for a set chosen by the
    /// block at height `h`.
    pub from: Height,
    /// The first height of the set that follows, if one is recorded.
    pub until: Option<Height>,
    pub set: ValidatorSet,
}

/// Changes to many chains that become durable together, with one fsync, or not at all.
/// Dropping a batch without committing it writes nothing.
///
/// Each table's changes are kept by key: a key written twice in one batch (a chain's signer
/// state at its prevote and its precommit of one tick) is written once, with its last value,
/// and the store inserts them in key order, the order its trees are laid out in.
#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct WriteBatch {
    pub(crate) geneses: BTreeMap<ChainId, Vec<u8>>,
    pub(crate) heads: BTreeMap<ChainId, Vec<u8>>,
    pub(crate) accounts: BTreeMap<(ChainId, Address), Option<Vec<u8>>>,
    /// (chain, the object's tree key) → the object, `None` once removed.
    pub(crate) objects: BTreeMap<(ChainId, Hash), Option<Vec<u8>>>,
    /// (chain, height) → the block and its certificate.
    pub(crate) blocks: BTreeMap<(ChainId, Height), Vec<u8>>,
    pub(crate) txs: BTreeMap<Hash, (ChainId, Height)>,
    /// (chain, account, height, position in the block) → transaction hash.
    pub(crate) account_txs: BTreeMap<(ChainId, Address, Height, u32), Hash>,
    /// (an account, escrow or channel id, a chain on which a transaction concerned it): which
    /// chains to look on for an id, as a search by id finds them.
    pub(crate) id_chains: BTreeSet<([u8; 32], ChainId)>,
    pub(crate) signers: BTreeMap<ChainId, Vec<u8>>,
    /// (chain, height) → the `SetChange` of a block after which the validator set changed.
    pub(crate) set_changes: BTreeMap<(ChainId, Height), Vec<u8>>,
    /// (chain, the first height of a validator set) → the set's hash.
    pub(crate) validators: BTreeMap<(ChainId, Height), Hash>,
    /// A validator set's hash → the set, stored once however many chains it validates.
    pub(crate) validator_sets: BTreeMap<Hash, Vec<u8>>,
}

/// What a host's signer guard last allowed for a chain and the proof of its newest lock
/// there: what the host must not contradict after a restart. Written together, in one row,
/// whenever either changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignerRecord {
    pub state: Option<SignerState>,
    pub lock_proof: Option<LockProof>,
}

impl WriteBatch {
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Records a new chain's genesis.
    pub fn put_genesis(&mut self, genesis: &SignedGenesis) {
        self.geneses
            .insert(genesis.genesis.chain_id(), encode(genesis));
    }

    /// Records a chain's state after its block `block_hash` (zero at genesis): its head and
    /// every account and object changed since the state was last marked persisted.
    pub fn put_chain_state(&mut self, state: &ChainState, block_hash: Hash) {
        let chain = state.chain_id();
        let head = ChainHead {
            meta: state.meta().clone(),
            block_hash,
            accounts_root: state.accounts_root(),
            objects_root: state.objects_root(),
        };
        self.heads.insert(chain, encode(&head));
        for (address, account) in state.changed_accounts() {
            let value = (account != Account::default()).then(|| encode(&account));
            self.accounts.insert((chain, address), value);
        }
        for (key, object) in state.changed_objects() {
            self.objects
                .insert((chain, key.tree_key()), object.map(encode));
        }
    }

    /// Records a decided block with its certificate, where each of its transactions was
    /// committed, and which accounts each one concerns (from its receipt, one per
    /// transaction in order).
    pub fn put_block(&mut self, block: &Block, certificate: &Certificate, receipts: &[Receipt]) {
        let header = &block.header;
        assert_eq!(
            (
                certificate.chain_id,
                certificate.height,
                certificate.block_hash
            ),
            (header.chain_id, header.height, block.hash()),
            "a block is stored only with its own certificate"
        );
        self.blocks.insert(
            (header.chain_id, header.height),
            // The bytes of a `(Block, Certificate)`.
            encode(&(block, certificate)),
        );
        debug_assert!(
            receipts.len() == block.txs.len()
                && receipts
                    .iter()
                    .zip(block.txs.iter())
                    .all(|(receipt, tx)| receipt.tx_hash == tx.hash()),
            "a block is stored with its own receipts"
        );
        for (position, receipt) in (0u32..).zip(receipts) {
            let hash = receipt.tx_hash;
            self.txs.insert(hash, (header.chain_id, header.height));
            for account in &receipt.accounts {
                self.account_txs
                    .insert((header.chain_id, *account, header.height, position), hash);
                self.id_chains.insert((account.0, header.chain_id));
            }
            for object in &receipt.objects {
                if let ObjectKey::Escrow(EscrowId(id)) | ObjectKey::Channel(ChannelId(id)) = object
                {
                    self.id_chains.insert((*id, header.chain_id));
                }
            }
        }
    }

    /// Records a block after which its chain's validator set changed, with what proves the
    /// next set to the root (see [`SetChange`]).
    pub fn put_set_change(&mut self, change: &SetChange) {
        let header = &change.header;
        self.set_changes
            .insert((header.chain_id, header.height), encode(change));
    }

    /// Records that `set` validates a chain from height `from` on: the genesis's set from 0,
    /// and a set a block chose from the height after it, in the batch of that block.
    pub fn put_validators(&mut self, chain: ChainId, from: Height, set: &ValidatorSet) {
        let hash = set.hash();
        self.validators.insert((chain, from), hash);
        self.validator_sets
            .entry(hash)
            .or_insert_with(|| encode(set));
    }

    /// Records what a host's signer guard last allowed for a chain and the proof of its
    /// newest lock there (see `myriad-consensus`): both whole, whichever changed.
    pub fn put_signer(
        &mut self,
        chain: ChainId,
        state: Option<&SignerState>,
        lock_proof: Option<&LockProof>,
    ) {
        // The bytes of a `SignerRecord`, without cloning its parts into one.
        self.signers.insert(chain, encode(&(state, lock_proof)));
    }

    /// How many rows the batch writes.
    fn rows(&self) -> usize {
        self.geneses.len()
            + self.heads.len()
            + self.accounts.len()
            + self.objects.len()
            + self.blocks.len()
            + self.signers.len()
            + self.txs.len()
            + self.account_txs.len()
            + self.id_chains.len()
            + self.set_changes.len()
            + self.validators.len()
            + self.validator_sets.len()
    }

    /// The bytes of the values the batch holds.
    fn value_bytes(&self) -> usize {
        fn values<K>(table: &BTreeMap<K, Vec<u8>>) -> usize {
            table.values().map(Vec::len).sum()
        }
        values(&self.geneses)
            + values(&self.heads)
            + values(&self.blocks)
            + values(&self.signers)
            + values(&self.set_changes)
            + values(&self.validator_sets)
            + self.validators.len() * 32
            + self
                .accounts
                .values()
                .chain(self.objects.values())
                .flatten()
                .map(Vec::len)
                .sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.geneses.is_empty()
            && self.heads.is_empty()
            && self.accounts.is_empty()
            && self.objects.is_empty()
            && self.blocks.is_empty()
            && self.signers.is_empty()
            && self.set_changes.is_empty()
            && self.validators.is_empty()
    }
}

/// What both the host and the readers read of a store: a chain's genesis, head, state and
/// blocks. Reads see only committed batches.
pub trait ChainStore: std::fmt::Debug + Send + Sync {
    fn genesis(&self, chain: &ChainId) -> Result<Option<SignedGenesis>, StoreError>;

    fn chain_head(&self, chain: &ChainId) -> Result<Option<ChainHead>, StoreError>;

    /// How many chains have a stored genesis.
    fn chain_count(&self) -> Result<u64, StoreError>;

    /// Rebuilds a chain's state from its head, accounts and objects, read from one snapshot, and
    /// checks it against the stored state root.
    fn chain_state(&self, chain: &ChainId) -> Result<Option<ChainState>, StoreError>;

    /// A block with its certificate, stored together.
    fn certified_block(
        &self,
        chain: &ChainId,
        height: Height,
    ) -> Result<Option<(Block, Certificate)>, StoreError>;

    /// A block without its certificate.
    fn block(&self, chain: &ChainId, height: Height) -> Result<Option<Block>, StoreError> {
        Ok(self.certified_block(chain, height)?.map(|(block, _)| block))
    }

    /// The heads of the chains after `after` in chain id order, at most `limit` of them.
    fn chains(
        &self,
        after: Option<&ChainId>,
        limit: usize,
    ) -> Result<Vec<(ChainId, ChainHead)>, StoreError>;

    /// The blocks of a chain from height `from` on after which its validator set changed,
    /// with their proofs, in height order: at most [`myriad_types::SET_CHANGES_MAX`].
    fn set_changes(&self, chain: &ChainId, from: Height) -> Result<Vec<SetChange>, StoreError>;
}

/// What the host needs of its store besides the chain reads: one atomic, durable write per
/// tick, and what its signer guard and locks recorded before a restart.
pub trait HostStore: ChainStore {
    /// Makes every change in `batch` durable (fsynced) at once, or none of them.
    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError>;

    /// What the host's signer guard and lock last recorded for `chain`; the default (nothing
    /// signed, no lock) if nothing was.
    fn signer_record(&self, chain: &ChainId) -> Result<SignerRecord, StoreError>;

    /// What the store's journal and its checkpoints have done; nothing for a store without
    /// a journal.
    fn journal_stats(&self) -> JournalStats {
        JournalStats::default()
    }
}

/// What a store's journal and its checkpoints into the file have done, for the host's
/// metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// Checkpoints written into the file since the store was opened.
    pub checkpoints: u64,
    /// Commits that waited for a checkpoint: the journaled layer had reached
    /// `JOURNALED_MAX_BYTES`.
    pub stalls: u64,
    /// About how many bytes of journaled batches are held in memory, not yet in the file.
    pub journaled_bytes: u64,
}

/// What readers (the API) need besides the chain reads: listings and indexes.
pub trait ReadStore: ChainStore {
    /// An account's entry; the default entry if it holds nothing.
    fn account(&self, chain: &ChainId, address: &Address) -> Result<Account, StoreError>;

    /// Every non-empty account of a chain.
    fn accounts(&self, chain: &ChainId) -> Result<Vec<(Address, Account)>, StoreError>;

    /// The chain and height at which a transaction was committed, if it was.
    fn tx_location(&self, tx: &Hash) -> Result<Option<(ChainId, Height)>, StoreError>;

    /// The chains, from `after` on (excluded) in chain id order and at most `limit` of
    /// them, on which a committed transaction concerned `id`: an account (as sender or
    /// recipient), an escrow or a channel.
    fn chains_of(
        &self,
        id: &[u8; 32],
        after: Option<&ChainId>,
        limit: usize,
    ) -> Result<Vec<ChainId>, StoreError>;

    /// The committed transactions from `from` on in hash order, at most `limit` of them,
    /// each with the chain and height it was committed at: what a search by the start of a
    /// hash reads.
    fn txs_from(
        &self,
        from: &Hash,
        limit: usize,
    ) -> Result<Vec<(Hash, ChainId, Height)>, StoreError>;

    /// An account's committed transactions on a chain (as sender or recipient), newest
    /// first, at most `limit` of them, each as (height, position in its block, transaction
    /// hash); with `before`, only those that come before that (height, position).
    fn account_txs(
        &self,
        chain: &ChainId,
        address: &Address,
        before: Option<(Height, u32)>,
        limit: usize,
    ) -> Result<Vec<(Height, u32, Hash)>, StoreError>;

    /// The validator set in force at `height` of a chain: the one recorded last at or
    /// below it. `None` if the store records none for the chain.
    fn validators_at(
        &self,
        chain: &ChainId,
        height: Height,
    ) -> Result<Option<ValidatorSpan>, StoreError>;
}

/// A store both the host and its readers use.
pub trait Store: HostStore + ReadStore {}

impl<S: HostStore + ReadStore> Store for S {}

/// The key of a chain (or of the account history index: chain, account, height, position).
type ChainKey = [u8; 32];
type AccountTxKey = (ChainKey, [u8; 32], u64, u32);
/// The key of the id index: (an account, escrow or channel id, a chain).
type IdChainKey = ([u8; 32], ChainKey);

/// The keys of the chains an id was seen on after `after`, in both stores.
fn id_chains_after(
    id: &[u8; 32],
    after: Option<&ChainId>,
) -> (Bound<IdChainKey>, Bound<IdChainKey>) {
    let start = match after {
        Some(chain) => Bound::Excluded((*id, chain.0)),
        None => Bound::Included((*id, [0; 32])),
    };
    (start, Bound::Included((*id, [u8::MAX; 32])))
}

/// The keys of one chain's entries of a kind, (chain, address or object key), in both stores.
fn entries_of(chain: &ChainId) -> RangeInclusive<(ChainKey, [u8; 32])> {
    (chain.0, [0u8; 32])..=(chain.0, [0xff; 32])
}

/// The chain keys after `after` (all of them without), for paging through chains.
fn chains_after(after: Option<&ChainId>) -> (Bound<ChainKey>, Bound<ChainKey>) {
    let start = match after {
        Some(after) => Bound::Excluded(after.0),
        None => Bound::Unbounded,
    };
    (start, Bound::Unbounded)
}

/// The keys of an account's history on a chain that come before `before` (all of it
/// without), for paging newest first.
fn account_txs_before(
    chain: &ChainId,
    address: &Address,
    before: Option<(Height, u32)>,
) -> (Bound<AccountTxKey>, Bound<AccountTxKey>) {
    let end = match before {
        Some((height, position)) => Bound::Excluded((chain.0, address.0, height.0, position)),
        None => Bound::Included((chain.0, address.0, u64::MAX, u32::MAX)),
    };
    (Bound::Included((chain.0, address.0, 0, 0)), end)
}

/// The rows of a chain's entries of one kind: (key, encoded entry), in key order.
pub(crate) type EntryRows = Vec<([u8; 32], Vec<u8>)>;

/// A chain's entries of one kind decoded, from their rows in key order.
pub(crate) fn decode_entries<T: BorshDeserialize>(
    rows: impl IntoIterator<Item = ([u8; 32], Vec<u8>)>,
    what: &'static str,
) -> Result<Vec<([u8; 32], T)>, StoreError> {
    rows.into_iter()
        .map(|(key, bytes)| Ok((key, decode(what, &bytes)?)))
        .collect()
}

/// A chain's state rebuilt from what was stored (its head, and the rows of its accounts and
/// of its objects), refused if it does not match the state root stored beside it.
pub(crate) fn rebuild_chain_state(
    chain: &ChainId,
    head: ChainHead,
    accounts: EntryRows,
    objects: EntryRows,
) -> Result<ChainState, StoreError> {
    let accounts = decode_entries::<Account>(accounts, "stored account")?;
    let objects = decode_entries::<Object>(objects, "stored object")?;
    let state = ChainState::from_parts(
        head.meta,
        accounts
            .into_iter()
            .map(|(address, account)| (Address(address), account)),
        objects.into_iter().map(|(_, object)| object),
    );
    let roots = (state.accounts_root(), state.objects_root());
    if roots != (head.accounts_root, head.objects_root) {
        return Err(StoreError::Corrupt(format!(
            "chain {chain}: accounts and objects have roots {} and {}, the head records {} and {}",
            roots.0, roots.1, head.accounts_root, head.objects_root
        )));
    }
    Ok(state)
}

/// The validator set recorded under `hash`, decoded and checked against it.
pub(crate) fn validator_set(hash: &[u8; 32], bytes: &[u8]) -> Result<ValidatorSet, StoreError> {
    let set: ValidatorSet = decode("stored validator set", bytes)?;
    if set.hash().0 != *hash {
        return Err(StoreError::Corrupt(format!(
            "validator set {} is stored under {}",
            set.hash(),
            Hash(*hash)
        )));
    }
    Ok(set)
}
