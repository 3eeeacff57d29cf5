//! Files that only their owner may read (keys, wallets, what a watcher watches), each
//! written whole: a crash leaves the old file or the new one, never a mix of them.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Creates `path` holding `text`; refuses a `path` that exists (a key is never replaced).
pub fn create_private(path: &Path, text: &str) -> std::io::Result<()> {
    write_private(path, text, |temporary, path| {
        std::fs::hard_link(temporary, path)
    })
}

/// Replaces `path`, or creates it, with `text`.
pub fn replace_private(path: &Path, text: &str) -> std::io::Result<()> {
    write_private(path, text, |temporary, path| {
        std::fs::rename(temporary, path)
    })
}

/// Writes `text` to a fresh file beside `path` that only its owner may read, flushes it,
/// puts it in place with `place`, and flushes the directory.
fn write_private(
    path: &Path,
    text: &str,
    place: impl FnOnce(&Path, &Path) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    // A fresh file, so that its mode is ours whatever an earlier attempt left behind.
    remove_if_there(&temporary)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&temporary)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    let placed = place(&temporary, path);
    remove_if_there(&temporary)?;
    placed?;
    std::fs::File::open(&dir)?.sync_all()
}

fn remove_if_there(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_private_file_is_replaced_whole_and_only_its_owner_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallet.json");
        replace_private(&path, "first").unwrap();
        // A temporary file an earlier attempt left behind, readable by all.
        std::fs::write(dir.path().join("wallet.json.tmp"), "torn").unwrap();
        replace_private(&path, "second").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        assert!(!dir.path().join("wallet.json.tmp").exists());
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_created_file_never_replaces_one_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.key");
        create_private(&path, "first").unwrap();
        let error = create_private(&path, "second").unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "first");
        assert!(!dir.path().join("host.key.tmp").exists());
        assert_eq!(mode(&path), 0o600);
    }
}
