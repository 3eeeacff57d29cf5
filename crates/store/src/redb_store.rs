//! The embedded store: one redb file per host. The byte layout of every table is written
//! down in `docs/storage.md`.

use std::path::Path;

use myriad_ledger::ChainState;
use myriad_types::{
    decode, Account, Address, Block, Certificate, ChainId, Hash, Height, SignedGenesis,
};
use redb::{
    Database, DatabaseError, Durability, ReadTransaction, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};

use crate::{
    account_txs_before, accounts_of, chains_after, rebuild_chain_state, ChainHead, ChainKey,
    ChainStore, HostStore, ReadStore, SignerRecord, StoreError, WriteBatch, SCHEMA_VERSION,
};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const GENESES: TableDefinition<ChainKey, &[u8]> = TableDefinition::new("geneses");
const HEADS: TableDefinition<ChainKey, &[u8]> = TableDefinition::new("heads");
const ACCOUNTS: TableDefinition<(ChainKey, [u8; 32]), &[u8]> = TableDefinition::new("accounts");
const BLOCKS: TableDefinition<(ChainKey, u64), &[u8]> = TableDefinition::new("blocks");
const SIGNERS: TableDefinition<ChainKey, &[u8]> = TableDefinition::new("signers");
const TXS: TableDefinition<[u8; 32], (ChainKey, u64)> = TableDefinition::new("txs");
/// (chain, account, height, position in the block) → transaction hash.
const ACCOUNT_TXS: TableDefinition<(ChainKey, [u8; 32], u64, u32), [u8; 32]> =
    TableDefinition::new("account_txs");

const SCHEMA_VERSION_KEY: &str = "schema_version";

/// A [`Store`] in one redb file.
#[derive(Debug)]
pub struct RedbStore {
    db: Database,
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

impl RedbStore {
    /// Opens the store at `path`, creating it if it does not exist. Refuses a store that
    /// another process holds open, or one written in another schema version.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        let shown = path.display().to_string();
        let db = Database::create(path).map_err(|error| match error {
            DatabaseError::DatabaseAlreadyOpen => StoreError::Locked {
                path: shown.clone(),
            },
            other => StoreError::Backend {
                what: "open",
                source: Box::new(other),
            },
        })?;
        let write = db.begin_write().map_err(backend("open"))?;
        {
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
            write.open_table(HEADS).map_err(backend("open"))?;
            write.open_table(ACCOUNTS).map_err(backend("open"))?;
            write.open_table(BLOCKS).map_err(backend("open"))?;
            write.open_table(SIGNERS).map_err(backend("open"))?;
            write.open_table(TXS).map_err(backend("open"))?;
            write.open_table(ACCOUNT_TXS).map_err(backend("open"))?;
        }
        write.commit().map_err(backend("open"))?;
        Ok(RedbStore { db })
    }

    fn read(&self) -> Result<ReadTransaction, StoreError> {
        self.db.begin_read().map_err(backend("read"))
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

fn accounts(
    read: &ReadTransaction,
    chain: &ChainId,
) -> Result<Vec<(Address, Account)>, StoreError> {
    let table = read.open_table(ACCOUNTS).map_err(backend("read"))?;
    let range = table
        .range(accounts_of(chain))
        .map_err(backend("read accounts"))?;
    let mut accounts = Vec::new();
    for entry in range {
        let (key, value) = entry.map_err(backend("read accounts"))?;
        let account = decode("stored account", value.value())?;
        accounts.push((Address(key.value().1), account));
    }
    Ok(accounts)
}

impl ChainStore for RedbStore {
    fn genesis(&self, chain: &ChainId) -> Result<Option<SignedGenesis>, StoreError> {
        get(&self.read()?, GENESES, chain.0, "stored genesis")
    }

    fn chain_head(&self, chain: &ChainId) -> Result<Option<ChainHead>, StoreError> {
        get(&self.read()?, HEADS, chain.0, "stored chain head")
    }

    fn chain_count(&self) -> Result<u64, StoreError> {
        let read = self.db.begin_read().map_err(backend("read"))?;
        let table = read.open_table(GENESES).map_err(backend("read"))?;
        table.len().map_err(backend("read"))
    }

    fn chain_state(&self, chain: &ChainId) -> Result<Option<ChainState>, StoreError> {
        let read = self.read()?;
        let Some(head) = get(&read, HEADS, chain.0, "stored chain head")? else {
            return Ok(None);
        };
        rebuild_chain_state(chain, head, accounts(&read, chain)?).map(Some)
    }

    fn certified_block(
        &self,
        chain: &ChainId,
        height: Height,
    ) -> Result<Option<(Block, Certificate)>, StoreError> {
        get(
            &self.read()?,
            BLOCKS,
            (chain.0, height.0),
            "stored block and certificate",
        )
    }
}

impl HostStore for RedbStore {
    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut write = self.db.begin_write().map_err(backend("write"))?;
        write.set_durability(Durability::Immediate);
        {
            let mut geneses = write.open_table(GENESES).map_err(backend("write"))?;
            for (chain, bytes) in &batch.geneses {
                geneses
                    .insert(chain.0, bytes.as_slice())
                    .map_err(backend("write genesis"))?;
            }
            let mut heads = write.open_table(HEADS).map_err(backend("write"))?;
            for (chain, bytes) in &batch.heads {
                heads
                    .insert(chain.0, bytes.as_slice())
                    .map_err(backend("write chain head"))?;
            }
            let mut accounts = write.open_table(ACCOUNTS).map_err(backend("write"))?;
            for ((chain, address), bytes) in &batch.accounts {
                let key = (chain.0, address.0);
                match bytes {
                    Some(bytes) => accounts.insert(key, bytes.as_slice()).map(drop),
                    None => accounts.remove(key).map(drop),
                }
                .map_err(backend("write account"))?;
            }
            let mut blocks = write.open_table(BLOCKS).map_err(backend("write"))?;
            for ((chain, height), bytes) in &batch.blocks {
                blocks
                    .insert((chain.0, height.0), bytes.as_slice())
                    .map_err(backend("write block"))?;
            }
            let mut txs = write.open_table(TXS).map_err(backend("write"))?;
            for (tx, (chain, height)) in &batch.txs {
                txs.insert(tx.0, (chain.0, height.0))
                    .map_err(backend("write transaction index"))?;
            }
            let mut account_txs = write.open_table(ACCOUNT_TXS).map_err(backend("write"))?;
            for ((chain, address, height, position), tx) in &batch.account_txs {
                account_txs
                    .insert((chain.0, address.0, height.0, *position), tx.0)
                    .map_err(backend("write account transaction index"))?;
            }
            let mut signers = write.open_table(SIGNERS).map_err(backend("write"))?;
            for (chain, bytes) in &batch.signers {
                signers
                    .insert(chain.0, bytes.as_slice())
                    .map_err(backend("write signer record"))?;
            }
        }
        write.commit().map_err(backend("commit"))
    }

    fn signer_record(&self, chain: &ChainId) -> Result<SignerRecord, StoreError> {
        let record = get(&self.read()?, SIGNERS, chain.0, "stored signer record")?;
        Ok(record.unwrap_or_default())
    }
}

impl ReadStore for RedbStore {
    fn chains(
        &self,
        after: Option<&ChainId>,
        limit: usize,
    ) -> Result<Vec<(ChainId, ChainHead)>, StoreError> {
        let read = self.read()?;
        let table = read.open_table(HEADS).map_err(backend("read"))?;
        let range = table
            .range(chains_after(after))
            .map_err(backend("read chains"))?;
        let mut chains = Vec::new();
        for entry in range.take(limit) {
            let (key, value) = entry.map_err(backend("read chains"))?;
            chains.push((
                ChainId(key.value()),
                decode("stored chain head", value.value())?,
            ));
        }
        Ok(chains)
    }

    fn account(&self, chain: &ChainId, address: &Address) -> Result<Account, StoreError> {
        let account = get(
            &self.read()?,
            ACCOUNTS,
            (chain.0, address.0),
            "stored account",
        )?;
        Ok(account.unwrap_or_default())
    }

    fn accounts(&self, chain: &ChainId) -> Result<Vec<(Address, Account)>, StoreError> {
        accounts(&self.read()?, chain)
    }

    fn tx_location(&self, tx: &Hash) -> Result<Option<(ChainId, Height)>, StoreError> {
        let read = self.read()?;
        let table = read.open_table(TXS).map_err(backend("read"))?;
        let found = table.get(tx.0).map_err(backend("read"))?;
        Ok(found.map(|entry| {
            let (chain, height) = entry.value();
            (ChainId(chain), Height(height))
        }))
    }

    fn account_txs(
        &self,
        chain: &ChainId,
        address: &Address,
        before: Option<(Height, u32)>,
        limit: usize,
    ) -> Result<Vec<(Height, u32, Hash)>, StoreError> {
        let read = self.read()?;
        let table = read.open_table(ACCOUNT_TXS).map_err(backend("read"))?;
        let range = table
            .range(account_txs_before(chain, address, before))
            .map_err(backend("read account transactions"))?;
        let mut txs = Vec::new();
        for entry in range.rev().take(limit) {
            let (key, value) = entry.map_err(backend("read account transactions"))?;
            let (_, _, height, position) = key.value();
            txs.push((Height(height), position, Hash(value.value())));
        }
        Ok(txs)
    }
}

#[cfg(test)]
mod tests;
