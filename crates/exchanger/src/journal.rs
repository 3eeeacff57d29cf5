//! The exchanger's journal: what it published and what it did, appended and fsynced before
//! anyone can act on it, replayed at start. One record per line, the hex of its encoding;
//! a torn last line (a crash mid-write) is dropped. Compaction rewrites it with what is
//! still live, replacing the file atomically.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use borsh::{BorshDeserialize, BorshSerialize};
use myriad_types::{
    decode, encode, Address, Amount, ChainId, EscrowId, Hash, SignedQuote, SignedTransaction,
};

/// A swap the exchanger took: a holder's escrow at one of its quotes, and what it owes.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Taken {
    /// The holder's escrow on the give chain: it names the swap.
    pub escrow: EscrowId,
    pub give_chain: ChainId,
    pub get_chain: ChainId,
    pub quote: Hash,
    pub holder: Address,
    pub amount: Amount,
    pub payout: Amount,
    pub hash_lock: Hash,
    pub holder_expires_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Record {
    /// A quote, recorded before any host is given it.
    Quote(SignedQuote),
    /// A swap taken; its lock is not sent yet.
    Taken(Taken),
    /// The lock of a swap, recorded before it is first sent: the only lock ever sent for
    /// that swap.
    Lock {
        escrow: EscrowId,
        tx: SignedTransaction,
    },
    /// An escrow looked at and not taken, and why.
    Refused { escrow: EscrowId, reason: String },
    /// A swap over: both its escrows closed.
    Done { escrow: EscrowId },
}

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    /// Records appended since the file was last written whole.
    pub appended: usize,
}

impl Journal {
    /// Opens the journal at `path` (creating it), with every record it holds.
    pub fn open(path: &Path) -> anyhow::Result<(Journal, Vec<Record>)> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => anyhow::bail!("cannot read the journal {}: {e}", path.display()),
        };
        let mut records = Vec::new();
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let record = hex::decode(line)
                .ok()
                .and_then(|bytes| decode::<Record>("journal record", &bytes).ok());
            match record {
                Some(record) => records.push(record),
                // A crash while the last line was written: it was never acknowledged.
                None if n + 1 == lines.len() => {
                    tracing::warn!(journal = %path.display(), "dropped a torn last record");
                }
                None => anyhow::bail!(
                    "the journal {} is damaged at line {}",
                    path.display(),
                    n + 1
                ),
            }
        }
        let mut journal = Journal {
            path: path.to_owned(),
            file: append_to(path)?,
            appended: 0,
        };
        // Written whole again: what a torn line left behind goes, and old records with it.
        journal.rewrite(&records)?;
        Ok((journal, records))
    }

    /// Appends `records` and makes them durable. A write that fails is cut off again, so
    /// that no torn line is left before the next.
    pub fn append(&mut self, records: &[Record]) -> anyhow::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut text = String::new();
        for record in records {
            text.push_str(&hex::encode(encode(record)));
            text.push('\n');
        }
        let length = self.file.metadata()?.len();
        let written = self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data());
        if let Err(error) = written {
            let _ = self.file.set_len(length);
            return Err(error.into());
        }
        self.appended += records.len();
        Ok(())
    }

    /// Replaces the journal with `records` (what is still live), atomically.
    pub fn rewrite(&mut self, records: &[Record]) -> anyhow::Result<()> {
        let tmp = self.path.with_extension("journal.tmp");
        let mut file = File::create(&tmp)?;
        for record in records {
            writeln!(file, "{}", hex::encode(encode(record)))?;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        self.file = append_to(&self.path)?;
        self.appended = 0;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

fn append_to(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open the journal {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records_survive_a_reopen_and_a_torn_last_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("exchanger.journal");
        let (mut journal, records) = Journal::open(&path).unwrap();
        assert!(records.is_empty());
        let refused = Record::Refused {
            escrow: EscrowId([1; 32]),
            reason: "no quote of ours".into(),
        };
        let done = Record::Done {
            escrow: EscrowId([2; 32]),
        };
        journal.append(&[refused.clone(), done.clone()]).unwrap();
        drop(journal);
        // A crash in the middle of the next line.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"0402").unwrap();
        let (_, records) = Journal::open(&path).unwrap();
        assert_eq!(records, [refused.clone(), done.clone()]);
        // Damage before the last line is not a torn write: it is refused.
        std::fs::write(&path, "zz\n").unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&hex::encode(encode(&done)));
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        let error = Journal::open(&path).unwrap_err().to_string();
        assert!(error.contains("damaged at line 1"), "{error}");
    }
}
