//! The journal in front of the redb file: each committed batch appended as one record and
//! synced (one sequential write and one fdatasync), so that a tick's batch is durable
//! without rewriting the pages of the file it touches. The file takes the journaled batches
//! in large checkpoints (see `redb_store`); the journal files a checkpoint covers are then
//! deleted, and those it does not are replayed when the store is opened.
//!
//! Files: `<store path>.journal.<sequence number of its first record, 20 digits>`. A record:
//! payload length (u32, little-endian) ‖ sequence number (u64, little-endian) ‖ payload (the
//! canonical encoding of the `WriteBatch`) ‖ blake3 of everything before it (32 bytes).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use borsh::BorshDeserialize;

use crate::{StoreError, WriteBatch};

const HEADER: usize = 4 + 8;
const CHECK: usize = 32;
const MARK: &str = ".journal.";

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Backend {
        what,
        source: Box::new(source),
    }
}

/// The journal being appended to.
#[derive(Debug)]
pub(crate) struct Journal {
    store_path: PathBuf,
    file: File,
    next_seq: u64,
}

impl Journal {
    /// Starts a new journal file whose first record will be `next_seq`, and makes the file's
    /// existence durable.
    pub fn create(store_path: &Path, next_seq: u64) -> Result<Journal, StoreError> {
        let path = file_path(store_path, next_seq);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io("create journal"))?;
        sync_dir(store_path)?;
        Ok(Journal {
            store_path: store_path.to_path_buf(),
            file,
            next_seq,
        })
    }

    /// The sequence number of the last record appended (or of the last one before this
    /// journal, if none was).
    pub fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// Appends `batch` as the next record and syncs it.
    pub fn append(&mut self, batch: &WriteBatch) -> Result<(), StoreError> {
        let seq = self.next_seq;
        // Room for every value, and per row for the largest fixed part (an account history
        // row: chain, account, height, position and a transaction hash) or a value's length
        // prefix: one allocation for the record.
        let capacity = HEADER + batch.value_bytes() + batch.rows() * 112 + CHECK;
        let mut record = Vec::with_capacity(capacity);
        record.resize(HEADER, 0);
        borsh::to_writer(&mut record, batch).map_err(io("encode journal record"))?;
        let length = u32::try_from(record.len() - HEADER)
            .map_err(|_| StoreError::Corrupt("a batch too large for one journal record".into()))?;
        record[..4].copy_from_slice(&length.to_le_bytes());
        record[4..HEADER].copy_from_slice(&seq.to_le_bytes());
        let check = blake3::hash(&record);
        record.extend_from_slice(check.as_bytes());
        self.file.write_all(&record).map_err(io("write journal"))?;
        self.file.sync_data().map_err(io("sync journal"))?;
        self.next_seq += 1;
        Ok(())
    }

    /// Continues in a new file, so that every file but the new one holds only records
    /// before `next_seq`.
    pub fn rotate(&mut self) -> Result<(), StoreError> {
        *self = Journal::create(&self.store_path, self.next_seq)?;
        Ok(())
    }
}

fn file_path(store_path: &Path, first_seq: u64) -> PathBuf {
    let mut name = store_path.as_os_str().to_os_string();
    name.push(format!("{MARK}{first_seq:020}"));
    PathBuf::from(name)
}

fn sync_dir(store_path: &Path) -> Result<(), StoreError> {
    let dir = match store_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io("sync journal directory"))
}

/// The journal files of the store at `store_path`, with the sequence number of each one's
/// first record, in order.
pub(crate) fn files(store_path: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let Some(name) = store_path.file_name().and_then(|name| name.to_str()) else {
        return Ok(Vec::new());
    };
    let prefix = format!("{name}{MARK}");
    let dir = match store_path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io("list journal files"))? {
        let entry = entry.map_err(io("list journal files"))?;
        let file_name = entry.file_name();
        let Some(seq) = file_name
            .to_str()
            .and_then(|file_name| file_name.strip_prefix(&prefix))
            .and_then(|seq| seq.parse::<u64>().ok())
        else {
            continue;
        };
        files.push((seq, entry.path()));
    }
    files.sort();
    Ok(files)
}

/// Deletes the journal files whose records all come at or before `seq`, those a checkpoint
/// through `seq` covers: every file but the newest, whose records run on to the next file's
/// first; and the newest too with `newest`, when nothing is being appended to it.
pub(crate) fn delete_through(store_path: &Path, seq: u64, newest: bool) -> Result<(), StoreError> {
    let files = files(store_path)?;
    let firsts = files.iter().skip(1).map(|(first, _)| Some(*first));
    for ((_, path), next_first) in files.iter().zip(firsts.chain([None])) {
        let covered = next_first.map_or(newest, |next_first| next_first <= seq + 1);
        if covered {
            std::fs::remove_file(path).map_err(io("delete journal file"))?;
        }
    }
    Ok(())
}

/// Hands `replay` every journaled batch after `applied`, in order, and returns the sequence
/// number of the last record found (`applied` if none).
///
/// A record is complete only once synced, and only then acknowledged; a record cut short or
/// failing its check at the end of the last file was being written when the host stopped,
/// and it and anything after it are ignored. The same anywhere else is corruption.
pub(crate) fn replay(
    store_path: &Path,
    applied: u64,
    mut replay: impl FnMut(WriteBatch),
) -> Result<u64, StoreError> {
    let files = files(store_path)?;
    let mut last = applied;
    for (index, (_, path)) in files.iter().enumerate() {
        let is_last_file = index + 1 == files.len();
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|mut file| file.read_to_end(&mut bytes))
            .map_err(io("read journal"))?;
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let Some((seq, payload, after)) = record(rest) else {
                if is_last_file {
                    break;
                }
                return Err(StoreError::Corrupt(format!(
                    "journal file {} has a damaged record after sequence {last}",
                    path.display()
                )));
            };
            rest = after;
            if seq <= applied {
                continue;
            }
            if seq != last + 1 {
                return Err(StoreError::Corrupt(format!(
                    "journal record {seq} follows {last} in {}",
                    path.display()
                )));
            }
            let batch = WriteBatch::try_from_slice(payload).map_err(|error| {
                StoreError::Corrupt(format!("journal record {seq} does not decode: {error}"))
            })?;
            replay(batch);
            last = seq;
        }
    }
    Ok(last)
}

/// The record at the start of `bytes`, if it is whole and passes its check: its sequence
/// number, its payload, and the bytes after it.
fn record(bytes: &[u8]) -> Option<(u64, &[u8], &[u8])> {
    let length = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let end = HEADER.checked_add(length)?;
    let body = bytes.get(..end)?;
    let check = bytes.get(end..end.checked_add(CHECK)?)?;
    if blake3::hash(body).as_bytes() != check {
        return None;
    }
    let seq = u64::from_le_bytes(body[4..HEADER].try_into().ok()?);
    Some((seq, &body[HEADER..], &bytes[end + CHECK..]))
}

#[cfg(test)]
mod tests {
    use myriad_types::ChainId;

    use super::*;

    fn batch(salt: u8) -> WriteBatch {
        let mut batch = WriteBatch::new();
        batch.put_signer(ChainId([salt; 32]), None, None);
        batch
    }

    fn replayed(path: &Path, applied: u64) -> Result<(u64, Vec<WriteBatch>), StoreError> {
        let mut batches = Vec::new();
        let last = replay(path, applied, |batch| batches.push(batch))?;
        Ok((last, batches))
    }

    #[test]
    fn records_replay_in_order_across_files_after_what_was_applied() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.redb");
        let mut journal = Journal::create(&path, 1).unwrap();
        journal.append(&batch(1)).unwrap();
        journal.rotate().unwrap();
        journal.append(&batch(2)).unwrap();
        journal.append(&batch(3)).unwrap();
        assert_eq!(journal.last_seq(), 3);
        assert_eq!(files(&path).unwrap().len(), 2);

        let (last, batches) = replayed(&path, 0).unwrap();
        assert_eq!(last, 3);
        let chains: Vec<ChainId> = batches
            .iter()
            .flat_map(|batch| batch.signers.keys().copied())
            .collect();
        assert_eq!(chains, [1, 2, 3].map(|salt| ChainId([salt; 32])));
        assert_eq!(replayed(&path, 2).unwrap().1.len(), 1);

        delete_through(&path, 1, false).unwrap();
        assert_eq!(
            files(&path).unwrap().len(),
            1,
            "the first file held only record 1"
        );
        delete_through(&path, 2, false).unwrap();
        assert_eq!(files(&path).unwrap().len(), 1, "the newest file is kept");
    }

    #[test]
    fn a_damaged_record_is_the_end_only_in_the_newest_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.redb");
        let mut journal = Journal::create(&path, 1).unwrap();
        journal.append(&batch(1)).unwrap();
        journal.append(&batch(2)).unwrap();
        let first_file = files(&path).unwrap()[0].1.clone();
        let damage = |file: &Path| {
            let mut bytes = std::fs::read(file).unwrap();
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            std::fs::write(file, bytes).unwrap();
        };
        damage(&first_file);
        assert_eq!(
            replayed(&path, 0).unwrap().0,
            1,
            "the torn last record is dropped"
        );

        journal.rotate().unwrap();
        journal.append(&batch(3)).unwrap();
        let error = replayed(&path, 0).unwrap_err();
        assert!(
            matches!(&error, StoreError::Corrupt(why) if why.contains("damaged record")),
            "{error}"
        );
    }
}
