//! The embedded store: one redb file per host, with a journal in front of it. The byte
//! layout of every table and of the journal is written down in `docs/storage.md`.
//!
//! A committed batch is appended to the journal and synced, then kept in memory in the
//! newest of two layers of tables above the file, where reads find it first. When that layer
//! has grown past [`CHECKPOINT_BYTES`] or lived [`CHECKPOINT_MS`], it is frozen and a
//! background thread writes it into the file in one durable redb transaction that also
//! records the last journal record it holds; then the journal files it covered are deleted.
//! A checkpoint rewrites each page of the file it touches once for a second of batches,
//! where a redb transaction per batch rewrote it at every tick that touched it (a chain's
//! signer record is written at each of its votes). Opening the store replays the journal
//! past the last checkpoint.

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use myriad_ledger::ChainState;
use myriad_types::{
    decode, Account, Address, Block, Certificate, ChainId, Hash, Height, SetChange, SignedGenesis,
    SET_CHANGES_MAX,
};
use redb::{
    Database, DatabaseError, Durability, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition,
};

use crate::journal::{self, Journal};
use crate::tables::{Entries, Tables, ValidatorsAround};
use crate::{
    account_txs_before, chains_after, decode_entries, entries_of, id_chains_after,
    rebuild_chain_state, validator_set, ChainHead, ChainKey, ChainStore, EntryRows, HostStore,
    IdChainKey, JournalStats, ReadStore, SignerRecord, StoreError, ValidatorSpan, WriteBatch,
    SCHEMA_VERSION,
};

/// A layer of journaled batches this large (in bytes, about) is written into the file.
pub const CHECKPOINT_BYTES: usize = 8 << 20;
/// A layer of journaled batches this old (in milliseconds) is written into the file.
pub const CHECKPOINT_MS: u64 = 1_000;
/// While a checkpoint is being written, the newest layer may grow to this many bytes; a
/// commit that finds it larger waits for the checkpoint to finish (and is counted).
pub const JOURNALED_MAX_BYTES: usize = 64 << 20;
/// The file's pages cached in memory, in bytes (redb's read cache and write buffer
/// together). Pages beyond it are read from the file, that is from the kernel's page cache.
pub const CACHE_BYTES: usize = 128 << 20;

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const GENESES: TableDefinition<ChainKey, &[u8]> = TableDefinition::new("geneses");
/// Every row of every chain but its genesis, under `row::key`: one chain's rows lie
/// together, so the rows a block writes share a few pages instead of taking one each.
const CHAINS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chains");
const TXS: TableDefinition<[u8; 32], (ChainKey, u64)> = TableDefinition::new("txs");
/// (an account, escrow or channel id, a chain a transaction concerned it on), valueless.
const ID_CHAINS: TableDefinition<IdChainKey, ()> = TableDefinition::new("id_chains");
/// Validator sets by hash, each stored once however many chains it validates.
const VALIDATOR_SETS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("validator_sets");

/// The keys of the `chains` table: chain id (32 bytes) ‖ kind (1 byte) ‖ the rest of the
/// key, integers big-endian, so that byte order is the order of chain, kind, then the rest.
mod row {
    use myriad_types::{Address, ChainId, Height};

    pub const HEAD: u8 = 1;
    pub const SIGNER: u8 = 2;
    pub const ACCOUNT: u8 = 3;
    pub const BLOCK: u8 = 4;
    pub const ACCOUNT_TX: u8 = 5;
    pub const OBJECT: u8 = 6;
    pub const SET_CHANGE: u8 = 7;
    pub const VALIDATORS: u8 = 8;

    pub fn key(chain: &ChainId, kind: u8, rest: &[&[u8]]) -> Vec<u8> {
        let mut key = Vec::with_capacity(32 + 1 + 32 + 8 + 4);
        key.extend_from_slice(&chain.0);
        key.push(kind);
        for part in rest {
            key.extend_from_slice(part);
        }
        key
    }

    pub fn head(chain: &ChainId) -> Vec<u8> {
        key(chain, HEAD, &[])
    }

    pub fn signer(chain: &ChainId) -> Vec<u8> {
        key(chain, SIGNER, &[])
    }

    pub fn account(chain: &ChainId, address: &Address) -> Vec<u8> {
        key(chain, ACCOUNT, &[&address.0])
    }

    pub fn block(chain: &ChainId, height: Height) -> Vec<u8> {
        key(chain, BLOCK, &[&height.0.to_be_bytes()])
    }

    pub fn set_change(chain: &ChainId, height: Height) -> Vec<u8> {
        key(chain, SET_CHANGE, &[&height.0.to_be_bytes()])
    }

    pub fn validators(chain: &ChainId, from: Height) -> Vec<u8> {
        key(chain, VALIDATORS, &[&from.0.to_be_bytes()])
    }

    pub fn account_tx(
        chain: &ChainId,
        address: &Address,
        height: Height,
        position: u32,
    ) -> Vec<u8> {
        key(
            chain,
            ACCOUNT_TX,
            &[&address.0, &height.0.to_be_bytes(), &position.to_be_bytes()],
        )
    }
}

const SCHEMA_VERSION_KEY: &str = "schema_version";
/// The sequence number of the last journal record the file holds.
const JOURNAL_SEQ_KEY: &str = "journal_seq";

/// A [`Store`](crate::Store) in one redb file, with a journal in front of it.
#[derive(Debug)]
pub struct RedbStore {
    shared: Arc<Shared>,
    checkpointer: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    db: Database,
    path: PathBuf,
    /// Held through a whole commit, so commits come one at a time; taken before
    /// `checkpoint` and `layers`.
    journal: Mutex<Journal>,
    layers: RwLock<Layers>,
    checkpoint: Mutex<Checkpoint>,
    /// Signalled when a checkpoint is asked for, finishes or fails, and at shutdown.
    signal: Condvar,
    chain_count: AtomicU64,
    checkpoints: AtomicU64,
    stalls: AtomicU64,
}

/// Batches journaled but not yet in the file.
#[derive(Debug, Default)]
struct Layers {
    /// Where commits land.
    active: Tables,
    /// The layer being written into the file, older than `active`.
    frozen: Option<Arc<Tables>>,
}

#[derive(Debug)]
struct Checkpoint {
    /// The last journal record of the frozen layer, until the file holds it.
    pending: Option<u64>,
    /// When the active layer began.
    since: Instant,
    /// Why writing a checkpoint failed: every later commit fails with it.
    failed: Option<String>,
    stop: bool,
}

fn backend<E>(what: &'static str) -> impl FnOnce(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |source| StoreError::Backend {
        what,
        source: Box::new(source),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RedbStore {
    /// Opens the store at `path`, creating it if it does not exist, and replays its journal
    /// into it. Refuses a store that another process holds open, or one written in another
    /// schema version.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        let shown = path.display().to_string();
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)
            .map_err(|error| match error {
                DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
                    path: shown.clone(),
                },
                other => StoreError::Backend {
                    what: "open",
                    source: Box::new(other),
                },
            })?;
        let write = db.begin_write().map_err(backend("open"))?;
        let applied = {
            let mut meta = write.open_table(META).map_err(backend("open"))?;
            let found = meta
                .get(SCHEMA_VERSION_KEY)
                .map_err(backend("open"))?
                .map(|version| version.value());
            match found {
                Some(found) if found != SCHEMA_VERSION => {
                    return Err(StoreError::SchemaVersion {
                        path: shown,
                        found,
                        expected: SCHEMA_VERSION,
                    })
                }
                Some(_) => {}
                None if write.list_tables().map_err(backend("open"))?.count() > 1 => {
                    return Err(StoreError::Foreign { path: shown });
                }
                None => {
                    meta.insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)
                        .map_err(backend("open"))?;
                }
            }
            // Create every table now, so that reads never meet a missing one.
            write.open_table(GENESES).map_err(backend("open"))?;
            write.open_table(CHAINS).map_err(backend("open"))?;
            write.open_table(TXS).map_err(backend("open"))?;
            write.open_table(ID_CHAINS).map_err(backend("open"))?;
            write.open_table(VALIDATOR_SETS).map_err(backend("open"))?;
            let applied = meta.get(JOURNAL_SEQ_KEY).map_err(backend("open"))?;
            applied.map_or(0, |seq| seq.value())
        };
        write.commit().map_err(backend("open"))?;

        let mut replayed = Tables::default();
        let last = journal::replay(path, applied, |batch| replayed.apply(batch))?;
        if last > applied {
            write_tables(&db, &replayed, last)?;
        }
        journal::delete_through(path, last, true)?;
        let journal = Journal::create(path, last + 1)?;
        let chain_count = {
            let read = db.begin_read().map_err(backend("read"))?;
            let geneses = read.open_table(GENESES).map_err(backend("read"))?;
            geneses.len().map_err(backend("read"))?
        };
        let shared = Arc::new(Shared {
            db,
            path: path.to_path_buf(),
            journal: Mutex::new(journal),
            layers: RwLock::default(),
            checkpoint: Mutex::new(Checkpoint {
                pending: None,
                since: Instant::now(),
                failed: None,
                stop: false,
            }),
            signal: Condvar::new(),
            chain_count: AtomicU64::new(chain_count),
            checkpoints: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
        });
        let thread_shared = shared.clone();
        let checkpointer = std::thread::Builder::new()
            .name("store-checkpoint".into())
            .spawn(move || write_checkpoints(&thread_shared))
            .map_err(backend("start the checkpoint thread"))?;
        Ok(RedbStore {
            shared,
            checkpointer: Some(checkpointer),
        })
    }

    fn view(&self) -> Result<View<'_>, StoreError> {
        // The layers first: a checkpoint that finishes after this still leaves its layer
        // here, and one that finished before is in the file the transaction reads.
        let layers = self.shared.layers();
        let read = self.shared.db.begin_read().map_err(backend("read"))?;
        Ok(View { layers, read })
    }

    /// How many of `batch`'s geneses are of chains the store does not hold yet.
    fn new_chains(&self, batch: &WriteBatch) -> Result<u64, StoreError> {
        if batch.geneses.is_empty() {
            return Ok(0);
        }
        let view = self.view()?;
        let geneses = view.read.open_table(GENESES).map_err(backend("read"))?;
        let mut new = 0;
        for chain in batch.geneses.keys() {
            let layered = view
                .layered(|tables| tables.geneses.get(&chain.0))
                .is_some();
            if !layered && geneses.get(chain.0).map_err(backend("read"))?.is_none() {
                new += 1;
            }
        }
        Ok(new)
    }

    /// Freezes the active layer for the checkpoint thread once it is due, if the one before
    /// is written; waits for that one when the active layer is full. `bytes` is the active
    /// layer's size.
    fn checkpoint_if_due(&self, journal: &mut Journal, bytes: usize) -> Result<(), StoreError> {
        let shared = &*self.shared;
        let mut checkpoint = lock(&shared.checkpoint);
        let due = bytes >= CHECKPOINT_BYTES
            || checkpoint.since.elapsed() >= Duration::from_millis(CHECKPOINT_MS);
        if !due || (checkpoint.pending.is_some() && bytes < JOURNALED_MAX_BYTES) {
            return Ok(());
        }
        if checkpoint.pending.is_some() {
            shared.stalls.fetch_add(1, Ordering::Relaxed);
        }
        checkpoint = shared.written(checkpoint)?;
        shared.freeze(&mut checkpoint, journal)
    }

    /// Writes everything journaled into the file now, and returns once it is there.
    #[cfg(test)]
    pub(crate) fn checkpoint_now(&self) -> Result<(), StoreError> {
        let mut journal = lock(&self.shared.journal);
        let mut checkpoint = self.shared.written(lock(&self.shared.checkpoint))?;
        self.shared.freeze(&mut checkpoint, &mut journal)?;
        self.shared.written(checkpoint).map(drop)
    }
}

impl Drop for RedbStore {
    /// Stops the checkpoint thread (after the checkpoint it is writing, if any); what it
    /// has not written is in the journal.
    fn drop(&mut self) {
        lock(&self.shared.checkpoint).stop = true;
        self.shared.signal.notify_all();
        if let Some(thread) = self.checkpointer.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn layers(&self) -> RwLockReadGuard<'_, Layers> {
        self.layers.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until no checkpoint is being written.
    fn written<'a>(
        &self,
        mut checkpoint: MutexGuard<'a, Checkpoint>,
    ) -> Result<MutexGuard<'a, Checkpoint>, StoreError> {
        while checkpoint.pending.is_some() && checkpoint.failed.is_none() {
            checkpoint = self
                .signal
                .wait(checkpoint)
                .unwrap_or_else(PoisonError::into_inner);
        }
        checkpoint.failed()?;
        Ok(checkpoint)
    }

    /// Hands the active layer, up to the journal's last record, to the checkpoint thread;
    /// the journal goes on in a new file. No checkpoint may be pending.
    fn freeze(&self, checkpoint: &mut Checkpoint, journal: &mut Journal) -> Result<(), StoreError> {
        journal.rotate()?;
        {
            let mut layers = self.layers.write().unwrap_or_else(PoisonError::into_inner);
            let frozen = std::mem::take(&mut layers.active);
            layers.frozen = Some(Arc::new(frozen));
        }
        checkpoint.pending = Some(journal.last_seq());
        checkpoint.since = Instant::now();
        self.signal.notify_all();
        Ok(())
    }

    /// Freezes the active layer once it has lived [`CHECKPOINT_MS`], for a store whose
    /// commits have stopped: what they left in the journal goes into the file all the same,
    /// and a restart has nothing to replay.
    fn freeze_stale(&self) -> Result<(), StoreError> {
        let mut journal = lock(&self.journal);
        let mut checkpoint = lock(&self.checkpoint);
        if checkpoint.pending.is_some()
            || checkpoint.since.elapsed() < Duration::from_millis(CHECKPOINT_MS)
        {
            return Ok(());
        }
        if self.layers().active.bytes() == 0 {
            checkpoint.since = Instant::now();
            return Ok(());
        }
        self.freeze(&mut checkpoint, &mut journal)
    }
}

impl Checkpoint {
    fn failed(&self) -> Result<(), StoreError> {
        match &self.failed {
            Some(why) => Err(StoreError::Backend {
                what: "checkpoint",
                source: why.clone().into(),
            }),
            None => Ok(()),
        }
    }
}

/// The checkpoint thread: writes each frozen layer into the file, then drops it and the
/// journal files it covers; freezes the active layer itself once it is stale. A failure
/// stops it and fails every later commit.
fn write_checkpoints(shared: &Shared) {
    loop {
        let seq = {
            let mut checkpoint = lock(&shared.checkpoint);
            loop {
                if checkpoint.stop {
                    return;
                }
                if let Some(seq) = checkpoint.pending {
                    break seq;
                }
                let fresh =
                    Duration::from_millis(CHECKPOINT_MS).saturating_sub(checkpoint.since.elapsed());
                if fresh.is_zero() {
                    drop(checkpoint);
                    let frozen = shared.freeze_stale();
                    checkpoint = lock(&shared.checkpoint);
                    if let Err(error) = frozen {
                        checkpoint.failed = Some(error.to_string());
                        shared.signal.notify_all();
                        return;
                    }
                    continue;
                }
                checkpoint = shared
                    .signal
                    .wait_timeout(checkpoint, fresh)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
        };
        let frozen = shared.layers().frozen.clone();
        let written = match frozen {
            Some(frozen) => write_tables(&shared.db, &frozen, seq),
            None => Ok(()),
        };
        let result = written.and_then(|()| {
            shared
                .layers
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .frozen = None;
            journal::delete_through(&shared.path, seq, false)
        });
        let mut checkpoint = lock(&shared.checkpoint);
        match result {
            Ok(()) => {
                checkpoint.pending = None;
                shared.checkpoints.fetch_add(1, Ordering::Relaxed);
                shared.signal.notify_all();
            }
            Err(error) => {
                checkpoint.failed = Some(error.to_string());
                shared.signal.notify_all();
                return;
            }
        }
    }
}

/// Writes `tables` into the file in one durable transaction that records `seq` as the last
/// journal record the file holds.
fn write_tables(db: &Database, tables: &Tables, seq: u64) -> Result<(), StoreError> {
    let mut write = db.begin_write().map_err(backend("write"))?;
    write
        .set_durability(Durability::Immediate)
        .map_err(backend("write"))?;
    {
        let mut geneses = write.open_table(GENESES).map_err(backend("write"))?;
        for (chain, bytes) in &tables.geneses {
            geneses
                .insert(chain, bytes.as_slice())
                .map_err(backend("write genesis"))?;
        }
        let mut rows = write.open_table(CHAINS).map_err(backend("write"))?;
        for (chain, bytes) in &tables.heads {
            rows.insert(row::head(&ChainId(*chain)).as_slice(), bytes.as_slice())
                .map_err(backend("write chain head"))?;
        }
        for (kind, entries, what) in [
            (row::ACCOUNT, &tables.accounts, "write account"),
            (row::OBJECT, &tables.objects, "write object"),
        ] {
            for ((chain, entry), bytes) in entries {
                let key = row::key(&ChainId(*chain), kind, &[entry]);
                match bytes {
                    Some(bytes) => rows.insert(key.as_slice(), bytes.as_slice()).map(drop),
                    None => rows.remove(key.as_slice()).map(drop),
                }
                .map_err(backend(what))?;
            }
        }
        for ((chain, height), bytes) in &tables.blocks {
            let key = row::block(&ChainId(*chain), Height(*height));
            rows.insert(key.as_slice(), bytes.as_slice())
                .map_err(backend("write block"))?;
        }
        for ((chain, address, height, position), tx) in &tables.account_txs {
            let key = row::account_tx(
                &ChainId(*chain),
                &Address(*address),
                Height(*height),
                *position,
            );
            rows.insert(key.as_slice(), tx.as_slice())
                .map_err(backend("write account transaction index"))?;
        }
        for (chain, bytes) in &tables.signers {
            rows.insert(row::signer(&ChainId(*chain)).as_slice(), bytes.as_slice())
                .map_err(backend("write signer record"))?;
        }
        for ((chain, height), bytes) in &tables.set_changes {
            let key = row::set_change(&ChainId(*chain), Height(*height));
            rows.insert(key.as_slice(), bytes.as_slice())
                .map_err(backend("write set change"))?;
        }
        for ((chain, from), set) in &tables.validators {
            let key = row::validators(&ChainId(*chain), Height(*from));
            rows.insert(key.as_slice(), set.as_slice())
                .map_err(backend("write validator history"))?;
        }
        let mut sets = write.open_table(VALIDATOR_SETS).map_err(backend("write"))?;
        for (hash, bytes) in &tables.validator_sets {
            sets.insert(hash, bytes.as_slice())
                .map_err(backend("write validator set"))?;
        }
        let mut txs = write.open_table(TXS).map_err(backend("write"))?;
        for (tx, location) in &tables.txs {
            txs.insert(tx, location)
                .map_err(backend("write transaction index"))?;
        }
        let mut id_chains = write.open_table(ID_CHAINS).map_err(backend("write"))?;
        for key in &tables.id_chains {
            id_chains
                .insert(key, ())
                .map_err(backend("write id index"))?;
        }
        let mut meta = write.open_table(META).map_err(backend("write"))?;
        meta.insert(JOURNAL_SEQ_KEY, seq)
            .map_err(backend("write journal position"))?;
    }
    write.commit().map_err(backend("commit"))
}

/// A consistent view for one read: the journaled layers, then the file.
struct View<'a> {
    layers: RwLockReadGuard<'a, Layers>,
    read: ReadTransaction,
}

impl View<'_> {
    /// The layers, newest first.
    fn layers(&self) -> impl Iterator<Item = &Tables> {
        std::iter::once(&self.layers.active).chain(self.layers.frozen.as_deref())
    }

    /// What the newest layer that has it holds.
    fn layered<'s, V>(&'s self, find: impl Fn(&'s Tables) -> Option<V>) -> Option<V> {
        self.layers().find_map(find)
    }

    /// A row decoded as a `T`: from the layers if they hold it (`layered`), else from the file.
    fn row<K, T>(
        &self,
        layered: Option<&Vec<u8>>,
        table: TableDefinition<K, &[u8]>,
        key: K::SelfType<'_>,
        what: &'static str,
    ) -> Result<Option<T>, StoreError>
    where
        K: redb::Key + 'static,
        T: borsh::BorshDeserialize,
    {
        match layered {
            Some(bytes) => Ok(Some(decode(what, bytes)?)),
            None => get(&self.read, table, key, what),
        }
    }

    fn chain_head(&self, chain: &ChainId) -> Result<Option<ChainHead>, StoreError> {
        self.row(
            self.layered(|tables| tables.heads.get(&chain.0)),
            CHAINS,
            &row::head(chain),
            "stored chain head",
        )
    }

    /// The rows of a chain's entries of one kind (`row::ACCOUNT` or `row::OBJECT`, held in
    /// the layers' `layered` table), in key order.
    fn entries(
        &self,
        chain: &ChainId,
        kind: u8,
        layered: fn(&Tables) -> &Entries,
    ) -> Result<EntryRows, StoreError> {
        let table = self.read.open_table(CHAINS).map_err(backend("read"))?;
        let first = row::key(chain, kind, &[&[0; 32]]);
        let last = row::key(chain, kind, &[&[0xff; 32]]);
        let range = table
            .range(first.as_slice()..=last.as_slice())
            .map_err(backend("read entries"))?;
        let mut rows = std::collections::BTreeMap::new();
        for entry in range {
            let (key, value) = entry.map_err(backend("read entries"))?;
            let entry_key: [u8; 32] = key.value()[33..]
                .try_into()
                .map_err(|_| StoreError::Corrupt("an entry key of the wrong length".into()))?;
            rows.insert(entry_key, value.value().to_vec());
        }
        let layers: Vec<&Tables> = self.layers().collect();
        for tables in layers.into_iter().rev() {
            for ((_, entry_key), bytes) in layered(tables).range(entries_of(chain)) {
                match bytes {
                    Some(bytes) => rows.insert(*entry_key, bytes.clone()),
                    None => rows.remove(entry_key),
                };
            }
        }
        Ok(rows.into_iter().collect())
    }
}

impl View<'_> {
    /// The last validator set of `chain` recorded at or below `height` in the file, as (its
    /// first height, its hash), and the first height of the next one there, if any.
    fn filed_validators(
        &self,
        chain: &ChainId,
        height: Height,
    ) -> Result<ValidatorsAround, StoreError> {
        let table = self.read.open_table(CHAINS).map_err(backend("read"))?;
        let first = row::validators(chain, Height(0));
        let last = row::validators(chain, Height(u64::MAX));
        let at_or_below = row::validators(chain, height);
        let corrupt = || StoreError::Corrupt("a validator history row of the wrong size".into());
        // chain (32) ‖ kind (1) ‖ first height (8) → the set's hash (32)
        let decode_row = |key: &[u8], value: &[u8]| -> Result<(u64, [u8; 32]), StoreError> {
            let from = key.get(33..41).and_then(|b| b.try_into().ok());
            let hash = value.try_into().ok();
            Ok((
                u64::from_be_bytes(from.ok_or_else(corrupt)?),
                hash.ok_or_else(corrupt)?,
            ))
        };
        let mut below = table
            .range(first.as_slice()..=at_or_below.as_slice())
            .map_err(backend("read validator history"))?;
        let at = match below.next_back() {
            Some(entry) => {
                let (key, value) = entry.map_err(backend("read validator history"))?;
                Some(decode_row(key.value(), value.value())?)
            }
            None => None,
        };
        let Some(after) = height.next() else {
            return Ok((at, None));
        };
        let above = row::validators(chain, after);
        let mut above = table
            .range(above.as_slice()..=last.as_slice())
            .map_err(backend("read validator history"))?;
        let next = match above.next() {
            Some(entry) => {
                let (key, value) = entry.map_err(backend("read validator history"))?;
                Some(decode_row(key.value(), value.value())?.0)
            }
            None => None,
        };
        Ok((at, next))
    }
}

/// Reads one value of `table` and decodes it as a `T`.
fn get<K, T>(
    read: &ReadTransaction,
    table: TableDefinition<K, &[u8]>,
    key: K::SelfType<'_>,
    what: &'static str,
) -> Result<Option<T>, StoreError>
where
    K: redb::Key + 'static,
    T: borsh::BorshDeserialize,
{
    let table = read.open_table(table).map_err(backend("read"))?;
    let Some(bytes) = table.get(key).map_err(backend("read"))? else {
        return Ok(None);
    };
    Ok(Some(decode(what, bytes.value())?))
}

impl ChainStore for RedbStore {
    fn genesis(&self, chain: &ChainId) -> Result<Option<SignedGenesis>, StoreError> {
        let view = self.view()?;
        view.row(
            view.layered(|tables| tables.geneses.get(&chain.0)),
            GENESES,
            chain.0,
            "stored genesis",
        )
    }

    fn chain_head(&self, chain: &ChainId) -> Result<Option<ChainHead>, StoreError> {
        self.view()?.chain_head(chain)
    }

    fn chain_count(&self) -> Result<u64, StoreError> {
        Ok(self.shared.chain_count.load(Ordering::Relaxed))
    }

    fn chain_state(&self, chain: &ChainId) -> Result<Option<ChainState>, StoreError> {
        let view = self.view()?;
        let Some(head) = view.chain_head(chain)? else {
            return Ok(None);
        };
        let accounts = view.entries(chain, row::ACCOUNT, |tables| &tables.accounts)?;
        let objects = view.entries(chain, row::OBJECT, |tables| &tables.objects)?;
        rebuild_chain_state(chain, head, accounts, objects).map(Some)
    }

    fn certified_block(
        &self,
        chain: &ChainId,
        height: Height,
    ) -> Result<Option<(Block, Certificate)>, StoreError> {
        let view = self.view()?;
        view.row(
            view.layered(|tables| tables.blocks.get(&(chain.0, height.0))),
            CHAINS,
            &row::block(chain, height),
            "stored block and certificate",
        )
    }

    fn chains(
        &self,
        after: Option<&ChainId>,
        limit: usize,
    ) -> Result<Vec<(ChainId, ChainHead)>, StoreError> {
        let view = self.view()?;
        let geneses = view.read.open_table(GENESES).map_err(backend("read"))?;
        let range = geneses
            .range(chains_after(after))
            .map_err(backend("read chains"))?;
        let mut ids = std::collections::BTreeSet::new();
        for entry in range.take(limit) {
            ids.insert(entry.map_err(backend("read chains"))?.0.value());
        }
        for tables in view.layers() {
            let range = tables.geneses.range(chains_after(after));
            ids.extend(range.take(limit).map(|(chain, _)| *chain));
        }
        let mut chains = Vec::new();
        for chain in ids.into_iter().take(limit).map(ChainId) {
            // A genesis is written with its chain's first head, in one batch.
            let head = view
                .chain_head(&chain)?
                .ok_or_else(|| StoreError::Corrupt(format!("chain {chain} has no head")))?;
            chains.push((chain, head));
        }
        Ok(chains)
    }

    fn set_changes(&self, chain: &ChainId, from: Height) -> Result<Vec<SetChange>, StoreError> {
        let view = self.view()?;
        let table = view.read.open_table(CHAINS).map_err(backend("read"))?;
        let first = row::set_change(chain, from);
        let last = row::set_change(chain, Height(u64::MAX));
        let range = table
            .range(first.as_slice()..=last.as_slice())
            .map_err(backend("read set changes"))?;
        let mut rows = std::collections::BTreeMap::new();
        for entry in range.take(SET_CHANGES_MAX) {
            let (key, value) = entry.map_err(backend("read set changes"))?;
            let height: [u8; 8] = key.value()[33..]
                .try_into()
                .map_err(|_| StoreError::Corrupt("a set change key of the wrong length".into()))?;
            rows.insert(u64::from_be_bytes(height), value.value().to_vec());
        }
        for tables in view.layers() {
            for ((_, height), bytes) in tables
                .set_changes
                .range((chain.0, from.0)..=(chain.0, u64::MAX))
                .take(SET_CHANGES_MAX)
            {
                rows.entry(*height).or_insert_with(|| bytes.clone());
            }
        }
        rows.values()
            .take(SET_CHANGES_MAX)
            .map(|bytes| Ok(decode("stored set change", bytes)?))
            .collect()
    }
}

impl HostStore for RedbStore {
    /// Appends the batch to the journal and syncs it; the batch is then durable, and
    /// readable from the journaled layer until a checkpoint puts it in the file.
    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut journal = lock(&self.shared.journal);
        lock(&self.shared.checkpoint).failed()?;
        let new_chains = self.new_chains(&batch)?;
        journal.append(&batch)?;
        let bytes = {
            let mut layers = self
                .shared
                .layers
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            layers.active.apply(batch);
            layers.active.bytes()
        };
        self.shared
            .chain_count
            .fetch_add(new_chains, Ordering::Relaxed);
        self.checkpoint_if_due(&mut journal, bytes)
    }

    fn journal_stats(&self) -> JournalStats {
        let layers = self.shared.layers();
        let frozen = layers.frozen.as_deref().map_or(0, Tables::bytes);
        JournalStats {
            checkpoints: self.shared.checkpoints.load(Ordering::Relaxed),
            stalls: self.shared.stalls.load(Ordering::Relaxed),
            journaled_bytes: (layers.active.bytes() + frozen) as u64,
        }
    }

    fn signer_record(&self, chain: &ChainId) -> Result<SignerRecord, StoreError> {
        let view = self.view()?;
        let record = view.row(
            view.layered(|tables| tables.signers.get(&chain.0)),
            CHAINS,
            &row::signer(chain),
            "stored signer record",
        )?;
        Ok(record.unwrap_or_default())
    }
}

impl ReadStore for RedbStore {
    fn account(&self, chain: &ChainId, address: &Address) -> Result<Account, StoreError> {
        let view = self.view()?;
        let account = match view.layered(|tables| tables.accounts.get(&(chain.0, address.0))) {
            Some(None) => None,
            Some(Some(bytes)) => Some(decode("stored account", bytes)?),
            None => get(
                &view.read,
                CHAINS,
                &row::account(chain, address),
                "stored account",
            )?,
        };
        Ok(account.unwrap_or_default())
    }

    fn accounts(&self, chain: &ChainId) -> Result<Vec<(Address, Account)>, StoreError> {
        let rows = self
            .view()?
            .entries(chain, row::ACCOUNT, |tables| &tables.accounts)?;
        let accounts = decode_entries(rows, "stored account")?;
        Ok(accounts
            .into_iter()
            .map(|(address, account)| (Address(address), account))
            .collect())
    }

    fn tx_location(&self, tx: &Hash) -> Result<Option<(ChainId, Height)>, StoreError> {
        let view = self.view()?;
        let location = match view.layered(|tables| tables.txs.get(&tx.0)) {
            Some(location) => Some(*location),
            None => {
                let table = view.read.open_table(TXS).map_err(backend("read"))?;
                let found = table.get(tx.0).map_err(backend("read"))?;
                found.map(|entry| entry.value())
            }
        };
        Ok(location.map(|(chain, height)| (ChainId(chain), Height(height))))
    }

    fn chains_of(
        &self,
        id: &[u8; 32],
        after: Option<&ChainId>,
        limit: usize,
    ) -> Result<Vec<ChainId>, StoreError> {
        let view = self.view()?;
        let range = id_chains_after(id, after);
        let table = view.read.open_table(ID_CHAINS).map_err(backend("read"))?;
        let mut chains = std::collections::BTreeSet::new();
        for entry in table
            .range(range)
            .map_err(backend("read id index"))?
            .take(limit)
        {
            chains.insert(entry.map_err(backend("read id index"))?.0.value().1);
        }
        for tables in view.layers() {
            chains.extend(tables.id_chains.range(range).take(limit).map(|(_, c)| *c));
        }
        Ok(chains.into_iter().take(limit).map(ChainId).collect())
    }

    fn txs_from(
        &self,
        from: &Hash,
        limit: usize,
    ) -> Result<Vec<(Hash, ChainId, Height)>, StoreError> {
        let view = self.view()?;
        let table = view.read.open_table(TXS).map_err(backend("read"))?;
        let mut found = std::collections::BTreeMap::new();
        for entry in table
            .range(from.0..)
            .map_err(backend("read transaction index"))?
            .take(limit)
        {
            let (tx, location) = entry.map_err(backend("read transaction index"))?;
            found.insert(tx.value(), location.value());
        }
        for tables in view.layers() {
            found.extend(
                tables
                    .txs
                    .range(from.0..)
                    .take(limit)
                    .map(|(tx, at)| (*tx, *at)),
            );
        }
        Ok(found
            .into_iter()
            .take(limit)
            .map(|(tx, (chain, height))| (Hash(tx), ChainId(chain), Height(height)))
            .collect())
    }

    fn account_txs(
        &self,
        chain: &ChainId,
        address: &Address,
        before: Option<(Height, u32)>,
        limit: usize,
    ) -> Result<Vec<(Height, u32, Hash)>, StoreError> {
        let (start, end) = account_txs_before(chain, address, before);
        let first = row::account_tx(chain, address, Height(0), 0);
        let file_end = end.map(|(_, _, height, position)| {
            row::account_tx(chain, address, Height(height), position)
        });
        let view = self.view()?;
        let table = view.read.open_table(CHAINS).map_err(backend("read"))?;
        let file_end = file_end.as_ref().map(Vec::as_slice);
        let range = table
            .range::<&[u8]>((Bound::Included(first.as_slice()), file_end))
            .map_err(backend("read account transactions"))?;
        let corrupt = || StoreError::Corrupt("an account history row of the wrong size".into());
        let mut found = std::collections::BTreeMap::new();
        for entry in range.rev().take(limit) {
            let (key, value) = entry.map_err(backend("read account transactions"))?;
            // chain (32) ‖ kind (1) ‖ account (32) ‖ height (8) ‖ position (4)
            let key = key.value();
            let height = key
                .get(65..73)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(corrupt)?;
            let position = key
                .get(73..77)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(corrupt)?;
            let tx: [u8; 32] = value.value().try_into().map_err(|_| corrupt())?;
            found.insert(
                (u64::from_be_bytes(height), u32::from_be_bytes(position)),
                tx,
            );
        }
        for tables in view.layers() {
            let range = tables.account_txs.range((start, end));
            for ((_, _, height, position), tx) in range.rev().take(limit) {
                found.insert((*height, *position), *tx);
            }
        }
        Ok(found
            .into_iter()
            .rev()
            .take(limit)
            .map(|((height, position), tx)| (Height(height), position, Hash(tx)))
            .collect())
    }

    fn validators_at(
        &self,
        chain: &ChainId,
        height: Height,
    ) -> Result<Option<ValidatorSpan>, StoreError> {
        let view = self.view()?;
        let (mut at, mut until) = view.filed_validators(chain, height)?;
        // The file, then the layers from the oldest: the latest first height at or below
        // `height` wins, and of one height the newest write; the earliest above is the next.
        let layers: Vec<&Tables> = view.layers().collect();
        for tables in layers.into_iter().rev() {
            let (layered_at, layered_until) = tables.validators_around(&chain.0, height.0);
            if let Some(layered) = layered_at {
                if at.is_none_or(|(from, _)| layered.0 >= from) {
                    at = Some(layered);
                }
            }
            until = match (until, layered_until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        let Some((from, hash)) = at else {
            return Ok(None);
        };
        let bytes = match view.layered(|tables| tables.validator_sets.get(&hash)) {
            Some(bytes) => bytes.clone(),
            None => {
                let sets = view
                    .read
                    .open_table(VALIDATOR_SETS)
                    .map_err(backend("read"))?;
                let found = sets.get(hash).map_err(backend("read validator set"))?;
                let bytes = found.map(|bytes| bytes.value().to_vec());
                bytes.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "chain {chain}: validator set {} of height {from} is not stored",
                        Hash(hash)
                    ))
                })?
            }
        };
        Ok(Some(ValidatorSpan {
            from: Height(from),
            until: until.map(Height),
            set: validator_set(&hash, &bytes)?,
        }))
    }
}

#[cfg(test)]
mod tests;
