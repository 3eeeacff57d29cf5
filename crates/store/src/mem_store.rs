//! The in-memory store: the same tables as the redb store, holding the same encoded bytes,
//! with the same atomicity. A committed batch is all there; a batch that is not committed
//! (dropped, or failed by [`MemStore::fail_next_commit`]) leaves nothing. A host that crashes
//! and restarts over the same `MemStore` finds exactly what it committed.

use std::sync::{Mutex, MutexGuard, PoisonError};

use myriad_ledger::ChainState;
use myriad_types::{
    decode, Account, Address, Block, Certificate, ChainId, Hash, Height, SetChange, SignedGenesis,
    SET_CHANGES_MAX,
};

use crate::{
    account_txs_before, chains_after, decode_entries, entries_of, id_chains_after,
    rebuild_chain_state,
    tables::{Entries, Tables},
    validator_set, ChainHead, ChainStore, EntryRows, HostStore, ReadStore, SignerRecord,
    StoreError, ValidatorSpan, WriteBatch,
};

#[derive(Debug, Default)]
struct Inner {
    tables: Tables,
    commits: u64,
    /// The next commit fails and writes nothing: a crash in the middle of the write.
    fail_next: bool,
}

/// A [`ChainStore`], [`HostStore`] and [`ReadStore`] in memory.
#[derive(Debug, Default)]
pub struct MemStore {
    inner: Mutex<Inner>,
}

impl MemStore {
    pub fn new() -> MemStore {
        MemStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes the next commit fail without writing anything, as a crash during the write
    /// would: what the batch held is lost, everything committed before stays. `false`
    /// takes that back.
    pub fn fail_next_commit(&self, armed: bool) {
        self.lock().fail_next = armed;
    }

    /// How many batches were committed.
    pub fn commits(&self) -> u64 {
        self.lock().commits
    }
}

fn read<T: borsh::BorshDeserialize>(
    bytes: Option<&Vec<u8>>,
    what: &'static str,
) -> Result<Option<T>, StoreError> {
    bytes
        .map(|bytes| decode(what, bytes))
        .transpose()
        .map_err(StoreError::from)
}

/// The rows of one chain's entries of a kind, in key order.
fn entries(table: &Entries, chain: &ChainId) -> EntryRows {
    table
        .range(entries_of(chain))
        .filter_map(|((_, key), bytes)| Some((*key, bytes.clone()?)))
        .collect()
}

impl ChainStore for MemStore {
    fn genesis(&self, chain: &ChainId) -> Result<Option<SignedGenesis>, StoreError> {
        read(self.lock().tables.geneses.get(&chain.0), "stored genesis")
    }

    fn chain_head(&self, chain: &ChainId) -> Result<Option<ChainHead>, StoreError> {
        read(self.lock().tables.heads.get(&chain.0), "stored chain head")
    }

    fn chain_count(&self) -> Result<u64, StoreError> {
        Ok(self.lock().tables.geneses.len() as u64)
    }

    fn chain_state(&self, chain: &ChainId) -> Result<Option<ChainState>, StoreError> {
        let inner = self.lock();
        let Some(head) = read(inner.tables.heads.get(&chain.0), "stored chain head")? else {
            return Ok(None);
        };
        let tables = &inner.tables;
        rebuild_chain_state(
            chain,
            head,
            entries(&tables.accounts, chain),
            entries(&tables.objects, chain),
        )
        .map(Some)
    }

    fn certified_block(
        &self,
        chain: &ChainId,
        height: Height,
    ) -> Result<Option<(Block, Certificate)>, StoreError> {
        let inner = self.lock();
        read(
            inner.tables.blocks.get(&(chain.0, height.0)),
            "stored block and certificate",
        )
    }

    fn chains(
        &self,
        after: Option<&ChainId>,
        limit: usize,
    ) -> Result<Vec<(ChainId, ChainHead)>, StoreError> {
        let inner = self.lock();
        inner
            .tables
            .heads
            .range(chains_after(after))
            .take(limit)
            .map(|(chain, bytes)| Ok((ChainId(*chain), decode("stored chain head", bytes)?)))
            .collect()
    }

    fn set_changes(&self, chain: &ChainId, from: Height) -> Result<Vec<SetChange>, StoreError> {
        let inner = self.lock();
        inner
            .tables
            .set_changes
            .range((chain.0, from.0)..=(chain.0, u64::MAX))
            .take(SET_CHANGES_MAX)
            .map(|(_, bytes)| Ok(decode("stored set change", bytes)?))
            .collect()
    }
}

impl HostStore for MemStore {
    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut inner = self.lock();
        if std::mem::take(&mut inner.fail_next) {
            return Err(StoreError::Backend {
                what: "commit",
                source: "the store crashed during the write".into(),
            });
        }
        // Applying is infallible: under the lock, the batch lands whole.
        inner.tables.apply(batch);
        inner.commits += 1;
        Ok(())
    }

    fn signer_record(&self, chain: &ChainId) -> Result<SignerRecord, StoreError> {
        let record = read(
            self.lock().tables.signers.get(&chain.0),
            "stored signer record",
        )?;
        Ok(record.unwrap_or_default())
    }
}

impl ReadStore for MemStore {
    fn account(&self, chain: &ChainId, address: &Address) -> Result<Account, StoreError> {
        let inner = self.lock();
        let bytes = inner
            .tables
            .accounts
            .get(&(chain.0, address.0))
            .and_then(Option::as_ref);
        Ok(read(bytes, "stored account")?.unwrap_or_default())
    }

    fn accounts(&self, chain: &ChainId) -> Result<Vec<(Address, Account)>, StoreError> {
        let rows = entries(&self.lock().tables.accounts, chain);
        let accounts = decode_entries(rows, "stored account")?;
        Ok(accounts
            .into_iter()
            .map(|(address, account)| (Address(address), account))
            .collect())
    }

    fn tx_location(&self, tx: &Hash) -> Result<Option<(ChainId, Height)>, StoreError> {
        let inner = self.lock();
        let found = inner.tables.txs.get(&tx.0);
        Ok(found.map(|(chain, height)| (ChainId(*chain), Height(*height))))
    }

    fn chains_of(
        &self,
        id: &[u8; 32],
        after: Option<&ChainId>,
        limit: usize,
    ) -> Result<Vec<ChainId>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .tables
            .id_chains
            .range(id_chains_after(id, after))
            .take(limit)
            .map(|(_, chain)| ChainId(*chain))
            .collect())
    }

    fn txs_from(
        &self,
        from: &Hash,
        limit: usize,
    ) -> Result<Vec<(Hash, ChainId, Height)>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .tables
            .txs
            .range(from.0..)
            .take(limit)
            .map(|(tx, (chain, height))| (Hash(*tx), ChainId(*chain), Height(*height)))
            .collect())
    }

    fn account_txs(
        &self,
        chain: &ChainId,
        address: &Address,
        before: Option<(Height, u32)>,
        limit: usize,
    ) -> Result<Vec<(Height, u32, Hash)>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .tables
            .account_txs
            .range(account_txs_before(chain, address, before))
            .rev()
            .take(limit)
            .map(|((_, _, height, position), tx)| (Height(*height), *position, Hash(*tx)))
            .collect())
    }

    fn validators_at(
        &self,
        chain: &ChainId,
        height: Height,
    ) -> Result<Option<ValidatorSpan>, StoreError> {
        let inner = self.lock();
        let tables = &inner.tables;
        let (Some((from, hash)), until) = tables.validators_around(&chain.0, height.0) else {
            return Ok(None);
        };
        let bytes = tables.validator_sets.get(&hash).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "chain {chain}: validator set {} of height {from} is not stored",
                Hash(hash)
            ))
        })?;
        Ok(Some(ValidatorSpan {
            from: Height(from),
            until: until.map(Height),
            set: validator_set(&hash, bytes)?,
        }))
    }
}
