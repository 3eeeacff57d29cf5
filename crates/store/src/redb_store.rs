//! The embedded store: one redb file per host. The byte layout of every table is written
//! down in `docs/storage.md`.

use std::ops::Bound;
use std::path::Path;

use myriad_ledger::ChainState;
use myriad_types::{
    decode, Account, Address, Block, Certificate, ChainId, Hash, Height, SignedGenesis,
};
use redb::{
    Database, DatabaseError, Durability, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata, TableDefinition,
};

use crate::{
    account_txs_before, chains_after, rebuild_chain_state, ChainHead, ChainKey, ChainStore,
    HostStore, ReadStore, SignerRecord, StoreError, WriteBatch, SCHEMA_VERSION,
};

const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const GENESES: TableDefinition<ChainKey, &[u8]> = TableDefinition::new("geneses");
/// Every row of every chain but its genesis, under `row::key`: one chain's rows lie
/// together, so the rows a block writes share a few pages instead of taking one each.
const CHAINS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("chains");
const TXS: TableDefinition<[u8; 32], (ChainKey, u64)> = TableDefinition::new("txs");

/// The keys of the `chains` table: chain id (32 bytes) ‖ kind (1 byte) ‖ the rest of the
/// key, integers big-endian, so that byte order is the order of chain, kind, then the rest.
mod row {
    use myriad_types::{Address, ChainId, Height};

    pub const HEAD: u8 = 1;
    pub const SIGNER: u8 = 2;
    pub const ACCOUNT: u8 = 3;
    pub const BLOCK: u8 = 4;
    pub const ACCOUNT_TX: u8 = 5;

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
            write.open_table(CHAINS).map_err(backend("open"))?;
            write.open_table(TXS).map_err(backend("open"))?;
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
    let table = read.open_table(CHAINS).map_err(backend("read"))?;
    let first = row::account(chain, &Address([0; 32]));
    let last = row::account(chain, &Address([0xff; 32]));
    let range = table
        .range(first.as_slice()..=last.as_slice())
        .map_err(backend("read accounts"))?;
    let mut accounts = Vec::new();
    for entry in range {
        let (key, value) = entry.map_err(backend("read accounts"))?;
        let account = decode("stored account", value.value())?;
        let address = key.value()[33..]
            .try_into()
            .map_err(|_| StoreError::Corrupt("an account key of the wrong length".into()))?;
        accounts.push((Address(address), account));
    }
    Ok(accounts)
}

impl ChainStore for RedbStore {
    fn genesis(&self, chain: &ChainId) -> Result<Option<SignedGenesis>, StoreError> {
        get(&self.read()?, GENESES, chain.0, "stored genesis")
    }

    fn chain_head(&self, chain: &ChainId) -> Result<Option<ChainHead>, StoreError> {
        get(
            &self.read()?,
            CHAINS,
            &row::head(chain),
            "stored chain head",
        )
    }

    fn chain_count(&self) -> Result<u64, StoreError> {
        let read = self.db.begin_read().map_err(backend("read"))?;
        let table = read.open_table(GENESES).map_err(backend("read"))?;
        table.len().map_err(backend("read"))
    }

    fn chain_state(&self, chain: &ChainId) -> Result<Option<ChainState>, StoreError> {
        let read = self.read()?;
        let Some(head) = get(&read, CHAINS, &row::head(chain), "stored chain head")? else {
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
            CHAINS,
            &row::block(chain, height),
            "stored block and certificate",
        )
    }
}

impl HostStore for RedbStore {
    fn commit(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut write = self.db.begin_write().map_err(backend("write"))?;
        write
            .set_durability(Durability::Immediate)
            .map_err(backend("write"))?;
        {
            let mut geneses = write.open_table(GENESES).map_err(backend("write"))?;
            for (chain, bytes) in &batch.geneses {
                geneses
                    .insert(chain.0, bytes.as_slice())
                    .map_err(backend("write genesis"))?;
            }
            let mut rows = write.open_table(CHAINS).map_err(backend("write"))?;
            for (chain, bytes) in &batch.heads {
                rows.insert(row::head(chain).as_slice(), bytes.as_slice())
                    .map_err(backend("write chain head"))?;
            }
            for ((chain, address), bytes) in &batch.accounts {
                let key = row::account(chain, address);
                match bytes {
                    Some(bytes) => rows.insert(key.as_slice(), bytes.as_slice()).map(drop),
                    None => rows.remove(key.as_slice()).map(drop),
                }
                .map_err(backend("write account"))?;
            }
            for ((chain, height), bytes) in &batch.blocks {
                rows.insert(row::block(chain, *height).as_slice(), bytes.as_slice())
                    .map_err(backend("write block"))?;
            }
            for ((chain, address, height, position), tx) in &batch.account_txs {
                let key = row::account_tx(chain, address, *height, *position);
                rows.insert(key.as_slice(), tx.0.as_slice())
                    .map_err(backend("write account transaction index"))?;
            }
            for (chain, bytes) in &batch.signers {
                rows.insert(row::signer(chain).as_slice(), bytes.as_slice())
                    .map_err(backend("write signer record"))?;
            }
            let mut txs = write.open_table(TXS).map_err(backend("write"))?;
            for (tx, (chain, height)) in &batch.txs {
                txs.insert(tx.0, (chain.0, height.0))
                    .map_err(backend("write transaction index"))?;
            }
        }
        write.commit().map_err(backend("commit"))
    }

    fn signer_record(&self, chain: &ChainId) -> Result<SignerRecord, StoreError> {
        let record = get(
            &self.read()?,
            CHAINS,
            &row::signer(chain),
            "stored signer record",
        )?;
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
        let geneses = read.open_table(GENESES).map_err(backend("read"))?;
        let range = geneses
            .range(chains_after(after))
            .map_err(backend("read chains"))?;
        let mut chains = Vec::new();
        for entry in range.take(limit) {
            let chain = ChainId(entry.map_err(backend("read chains"))?.0.value());
            // A genesis is written with its chain's first head, in one batch.
            let head = get(&read, CHAINS, &row::head(&chain), "stored chain head")?
                .ok_or_else(|| StoreError::Corrupt(format!("chain {chain} has no head")))?;
            chains.push((chain, head));
        }
        Ok(chains)
    }

    fn account(&self, chain: &ChainId, address: &Address) -> Result<Account, StoreError> {
        let account = get(
            &self.read()?,
            CHAINS,
            &row::account(chain, address),
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
        let (_, end) = account_txs_before(chain, address, before);
        let first = row::account_tx(chain, address, Height(0), 0);
        let end = end.map(|(_, _, height, position)| {
            row::account_tx(chain, address, Height(height), position)
        });
        let read = self.read()?;
        let table = read.open_table(CHAINS).map_err(backend("read"))?;
        let end = end.as_ref().map(Vec::as_slice);
        let range = table
            .range::<&[u8]>((Bound::Included(first.as_slice()), end))
            .map_err(backend("read account transactions"))?;
        let corrupt = || StoreError::Corrupt("an account history row of the wrong size".into());
        let mut txs = Vec::new();
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
            let tx = value.value().try_into().map_err(|_| corrupt())?;
            txs.push((
                Height(u64::from_be_bytes(height)),
                u32::from_be_bytes(position),
                Hash(tx),
            ));
        }
        Ok(txs)
    }
}

#[cfg(test)]
mod tests;
