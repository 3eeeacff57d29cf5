//! The wallet: named account keys in one JSON file, each secret sealed with
//! XChaCha20-Poly1305 under a key that Argon2id derives from the wallet's passphrase.
//!
//! Names and addresses are readable without the passphrase; secrets are not. The file is
//! written whole to a temporary file (mode 0600), fsynced and renamed over the old one, so a
//! crash leaves either the old wallet or the new one.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use myriad_types::{Address, SecretKey};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The environment variable a passphrase can come from.
pub const PASSPHRASE_ENV: &str = "MYRIAD_PASSPHRASE";
/// The longest key name, in bytes.
pub const NAME_BYTES_MAX: usize = 64;
/// The largest wallet file read, in bytes.
const WALLET_BYTES_MAX: u64 = 16 * 1024 * 1024;
const FORMAT_VERSION: u32 = 1;
/// Argon2id cost: 19 MiB, 2 passes, 1 lane (the OWASP recommendation for Argon2id).
const KDF_MEMORY_KIB: u32 = 19 * 1024;
const KDF_ITERATIONS: u32 = 2;
const KDF_PARALLELISM: u32 = 1;
/// Bound what a wallet file may ask of the key derivation, so a crafted file cannot make
/// unlocking take all memory.
const KDF_MEMORY_KIB_MAX: u32 = 1024 * 1024;
const KDF_ITERATIONS_MAX: u32 = 64;
/// And so that a tampered file cannot weaken the key derivation below the default either.
const KDF_MEMORY_KIB_MIN: u32 = KDF_MEMORY_KIB;
const KDF_ITERATIONS_MIN: u32 = KDF_ITERATIONS;
/// Binds every sealed secret to this format, its name and its address.
const AAD_TAG: &[u8] = b"myriad/wallet/1";

#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    #[error("no wallet at {path}: create one with `myriad wallet new <name>`")]
    Missing { path: String },
    #[error("wallet {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("wallet {path} is not a Myriad wallet: {reason}")]
    Malformed { path: String, reason: String },
    #[error("wrong passphrase for wallet {path}")]
    WrongPassphrase { path: String },
    #[error("wallet {path} has no key named `{name}`; see `myriad wallet list`")]
    UnknownName { path: String, name: String },
    #[error("wallet {path} already has a key named `{name}`")]
    NameTaken { path: String, name: String },
    #[error("wallet {path} already holds {address} as `{name}`")]
    AddressTaken {
        path: String,
        address: Address,
        name: String,
    },
    #[error("key name `{0}` must be 1 to 64 characters of a-z, A-Z, 0-9, `-` and `_`")]
    BadName(String),
    #[error("no passphrase: set {PASSPHRASE_ENV}, pass --passphrase-file, or run in a terminal to be asked")]
    NoPassphrase,
    #[error("passphrase file {path}: {reason}")]
    PassphraseFile { path: String, reason: String },
    #[error("the passphrases do not match")]
    Mismatch,
    #[error("a new wallet's passphrase must not be empty")]
    EmptyPassphrase,
    #[error("cannot derive the wallet key: {0}")]
    Kdf(String),
    #[error("cannot seal a key")]
    Seal,
}

/// Where the passphrase comes from: a file (first line), the environment, or a prompt.
#[derive(Debug, Clone, Default)]
pub struct PassphraseSource {
    pub file: Option<PathBuf>,
}

impl PassphraseSource {
    /// Reads the passphrase; `confirm` asks twice at a prompt (for a new wallet).
    pub fn read(&self, prompt: &str, confirm: bool) -> Result<Zeroizing<String>, WalletError> {
        if let Some(path) = &self.file {
            let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                WalletError::PassphraseFile {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                }
            })?);
            return Ok(Zeroizing::new(
                text.lines().next().unwrap_or_default().to_owned(),
            ));
        }
        if let Ok(passphrase) = std::env::var(PASSPHRASE_ENV) {
            return Ok(Zeroizing::new(passphrase));
        }
        if !std::io::stdin().is_terminal() {
            return Err(WalletError::NoPassphrase);
        }
        let ask = |prompt: &str| {
            rpassword::prompt_password(prompt)
                .map(Zeroizing::new)
                .map_err(|_| WalletError::NoPassphrase)
        };
        let passphrase = ask(prompt)?;
        if confirm && *ask("Repeat the passphrase: ")? != *passphrase {
            return Err(WalletError::Mismatch);
        }
        Ok(passphrase)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct KdfParams {
    algorithm: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

/// One key as the file holds it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    #[serde(with = "address_text")]
    pub address: Address,
    #[serde(flatten)]
    sealed: Sealed,
}

/// Addresses in the file are written as people read them: `acct1…`.
mod address_text {
    use myriad_types::Address;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(address: &Address, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(address)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Address, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A swap this wallet took part in: its offer, the other side's escrow once known, and the
/// swap's secret for the side that made it, sealed like a key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SwapEntry {
    /// The offer's escrow (`escrow1…`), which names the swap.
    pub id: String,
    /// The offer as text (`SwapOffer::to_text`).
    pub offer: String,
    /// The counter-escrow on the other chain, once locked.
    pub counter: Option<String>,
    sealed: Option<Sealed>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sealed {
    nonce: String,
    ciphertext: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WalletFile {
    version: u32,
    kdf: KdfParams,
    cipher: String,
    keys: Vec<Entry>,
    #[serde(default)]
    swaps: Vec<SwapEntry>,
}

/// A wallet as read from its file.
#[derive(Debug)]
pub struct Wallet {
    path: PathBuf,
    file: WalletFile,
}

/// The wallet's sealing key, derived from the passphrase; zeroed when dropped.
pub struct Unlocked(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Unlocked(..)")
    }
}

fn check_name(name: &str) -> Result<(), WalletError> {
    let valid = !name.is_empty()
        && name.len() <= NAME_BYTES_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(WalletError::BadName(name.to_owned()))
    }
}

fn aad(name: &str, address: &Address) -> Vec<u8> {
    [AAD_TAG, name.as_bytes(), &address.0].concat()
}

/// What a swap's sealed secret is bound to: its id, apart from any key's name.
fn swap_aad(id: &str) -> Vec<u8> {
    [AAD_TAG, b"/swap/", id.as_bytes()].concat()
}

impl Wallet {
    /// Reads the wallet at `path`.
    pub fn open(path: &Path) -> Result<Wallet, WalletError> {
        let shown = path.display().to_string();
        let io = |e: std::io::Error| WalletError::Io {
            path: shown.clone(),
            reason: e.to_string(),
        };
        let file = match std::fs::File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(WalletError::Missing { path: shown })
            }
            Err(e) => return Err(io(e)),
        };
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(file, WALLET_BYTES_MAX + 1),
            &mut text,
        )
        .map_err(io)?;
        let malformed = |reason: String| WalletError::Malformed {
            path: shown.clone(),
            reason,
        };
        if text.len() as u64 > WALLET_BYTES_MAX {
            return Err(malformed(format!("over {WALLET_BYTES_MAX} bytes")));
        }
        let file: WalletFile = serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
        if file.version != FORMAT_VERSION
            || file.kdf.algorithm != "argon2id"
            || file.cipher != "xchacha20poly1305"
        {
            return Err(malformed(format!(
                "format version {} with {} and {}; this build reads version {FORMAT_VERSION} with argon2id and xchacha20poly1305",
                file.version, file.kdf.algorithm, file.cipher
            )));
        }
        let kdf = &file.kdf;
        if !(KDF_MEMORY_KIB_MIN..=KDF_MEMORY_KIB_MAX).contains(&kdf.memory_kib)
            || !(KDF_ITERATIONS_MIN..=KDF_ITERATIONS_MAX).contains(&kdf.iterations)
        {
            return Err(malformed(
                "its key derivation costs are out of bounds".to_owned(),
            ));
        }
        Ok(Wallet {
            path: path.to_owned(),
            file,
        })
    }

    /// Reads the wallet at `path`, or starts an empty one (not yet written) if there is none.
    pub fn open_or_new(path: &Path) -> Result<Wallet, WalletError> {
        match Wallet::open(path) {
            Err(WalletError::Missing { .. }) => {
                let mut salt = [0u8; 16];
                OsRng.fill_bytes(&mut salt);
                Ok(Wallet {
                    path: path.to_owned(),
                    file: WalletFile {
                        version: FORMAT_VERSION,
                        kdf: KdfParams {
                            algorithm: "argon2id".to_owned(),
                            memory_kib: KDF_MEMORY_KIB,
                            iterations: KDF_ITERATIONS,
                            parallelism: KDF_PARALLELISM,
                            salt: hex::encode(salt),
                        },
                        cipher: "xchacha20poly1305".to_owned(),
                        keys: Vec::new(),
                        swaps: Vec::new(),
                    },
                })
            }
            other => other,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn entries(&self) -> &[Entry] {
        &self.file.keys
    }

    fn shown(&self) -> String {
        self.path.display().to_string()
    }

    /// The entry named `name`, or holding the address `name`.
    pub fn entry(&self, name: &str) -> Result<&Entry, WalletError> {
        self.file
            .keys
            .iter()
            .find(|e| e.name == name || e.address.to_string() == name)
            .ok_or_else(|| WalletError::UnknownName {
                path: self.shown(),
                name: name.to_owned(),
            })
    }

    /// Derives the sealing key from `passphrase` and checks it against a stored secret.
    pub fn unlock(&self, passphrase: &str) -> Result<Unlocked, WalletError> {
        let kdf = &self.file.kdf;
        let malformed = |reason: &str| WalletError::Malformed {
            path: self.shown(),
            reason: reason.to_owned(),
        };
        let salt = hex::decode(&kdf.salt).map_err(|_| malformed("its salt is not hex"))?;
        let params = Params::new(kdf.memory_kib, kdf.iterations, kdf.parallelism, Some(32))
            .map_err(|e| WalletError::Kdf(e.to_string()))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &salt, key.as_mut())
            .map_err(|e| WalletError::Kdf(e.to_string()))?;
        let unlocked = Unlocked(key);
        if let Some(first) = self.file.keys.first() {
            self.open_entry(&unlocked, first)?;
        }
        Ok(unlocked)
    }

    /// Seals `secret` under the wallet's key, bound to `aad`.
    fn seal(unlocked: &Unlocked, aad: &[u8], secret: &[u8]) -> Result<Sealed, WalletError> {
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(unlocked.0.as_ref().into());
        let ciphertext = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: secret, aad })
            .map_err(|_| WalletError::Seal)?;
        Ok(Sealed {
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        })
    }

    /// Opens 32 bytes sealed under the wallet's key and bound to `aad`; `what` names them
    /// in errors. A wrong key (or an altered secret) is `WrongPassphrase`.
    fn unseal(
        &self,
        unlocked: &Unlocked,
        aad: &[u8],
        sealed: &Sealed,
        what: &str,
    ) -> Result<Zeroizing<[u8; 32]>, WalletError> {
        let malformed = |reason: &str| WalletError::Malformed {
            path: self.shown(),
            reason: format!("{what}: {reason}"),
        };
        let nonce = hex::decode(&sealed.nonce).map_err(|_| malformed("nonce is not hex"))?;
        if nonce.len() != 24 {
            return Err(malformed("nonce is not 24 bytes"));
        }
        let ciphertext =
            hex::decode(&sealed.ciphertext).map_err(|_| malformed("ciphertext is not hex"))?;
        let cipher = XChaCha20Poly1305::new(unlocked.0.as_ref().into());
        let bytes = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&nonce),
                    Payload {
                        msg: &ciphertext,
                        aad,
                    },
                )
                .map_err(|_| WalletError::WrongPassphrase { path: self.shown() })?,
        );
        let secret: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| malformed("secret is not 32 bytes"))?;
        Ok(Zeroizing::new(secret))
    }

    fn open_entry(&self, unlocked: &Unlocked, entry: &Entry) -> Result<SecretKey, WalletError> {
        let what = format!("key `{}`", entry.name);
        let aad = aad(&entry.name, &entry.address);
        let seed = self.unseal(unlocked, &aad, &entry.sealed, &what)?;
        let key = SecretKey::from_seed(*seed);
        if key.address() != entry.address {
            return Err(WalletError::Malformed {
                path: self.shown(),
                reason: format!("{what}: secret does not match its address"),
            });
        }
        Ok(key)
    }

    /// The secret key named `name` (or of address `name`). `unlocked` was checked against the
    /// first key, so a key that does not open now was altered.
    pub fn secret(&self, unlocked: &Unlocked, name: &str) -> Result<SecretKey, WalletError> {
        let entry = self.entry(name)?;
        self.open_entry(unlocked, entry)
            .map_err(|error| match error {
                WalletError::WrongPassphrase { path } => WalletError::Malformed {
                    path,
                    reason: format!("key `{}` was altered: it does not open", entry.name),
                },
                other => other,
            })
    }

    /// Seals `key` under `name`; refuses a name or an address the wallet already has.
    pub fn add(
        &mut self,
        unlocked: &Unlocked,
        name: &str,
        key: &SecretKey,
    ) -> Result<Address, WalletError> {
        check_name(name)?;
        let address = key.address();
        if let Some(taken) = self.file.keys.iter().find(|e| e.name == name) {
            return Err(WalletError::NameTaken {
                path: self.shown(),
                name: taken.name.clone(),
            });
        }
        if let Some(taken) = self.file.keys.iter().find(|e| e.address == address) {
            return Err(WalletError::AddressTaken {
                path: self.shown(),
                address,
                name: taken.name.clone(),
            });
        }
        let seed = Zeroizing::new(key.to_seed());
        let sealed = Wallet::seal(unlocked, &aad(name, &address), seed.as_slice())?;
        self.file.keys.push(Entry {
            name: name.to_owned(),
            address,
            sealed,
        });
        Ok(address)
    }

    /// Records a swap (a secret, for the side that made it, sealed like a key), or updates
    /// the one of the same id with what it now knows.
    pub fn put_swap(
        &mut self,
        unlocked: &Unlocked,
        id: &str,
        offer: &str,
        counter: Option<&str>,
        secret: Option<&[u8; 32]>,
    ) -> Result<(), WalletError> {
        let sealed = secret
            .map(|secret| Wallet::seal(unlocked, &swap_aad(id), secret))
            .transpose()?;
        let entry = match self.file.swaps.iter_mut().find(|s| s.id == id) {
            Some(entry) => entry,
            None => {
                self.file.swaps.push(SwapEntry {
                    id: id.to_owned(),
                    offer: offer.to_owned(),
                    counter: None,
                    sealed: None,
                });
                self.file.swaps.last_mut().ok_or(WalletError::Seal)?
            }
        };
        if let Some(counter) = counter {
            entry.counter = Some(counter.to_owned());
        }
        if sealed.is_some() {
            entry.sealed = sealed;
        }
        Ok(())
    }

    /// The swap of `id`, if this wallet took part in it.
    pub fn swap(&self, id: &str) -> Option<&SwapEntry> {
        self.file.swaps.iter().find(|s| s.id == id)
    }

    /// The secret of the swap of `id`, if this wallet made it.
    pub fn swap_secret(
        &self,
        unlocked: &Unlocked,
        id: &str,
    ) -> Result<Option<Zeroizing<[u8; 32]>>, WalletError> {
        let Some(sealed) = self.swap(id).and_then(|s| s.sealed.as_ref()) else {
            return Ok(None);
        };
        let what = format!("swap `{id}`");
        self.unseal(unlocked, &swap_aad(id), sealed, &what)
            .map(Some)
            .map_err(|error| match error {
                WalletError::WrongPassphrase { path } => WalletError::Malformed {
                    path,
                    reason: format!("{what}: its secret was altered: it does not open"),
                },
                other => other,
            })
    }

    /// Writes the wallet: only its owner may read it, and it is replaced whole.
    pub fn save(&self) -> Result<(), WalletError> {
        let io = |e: std::io::Error| WalletError::Io {
            path: self.shown(),
            reason: e.to_string(),
        };
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let text =
            serde_json::to_string_pretty(&self.file).map_err(|e| io(std::io::Error::other(e)))?;
        crate::files::replace_private(&self.path, &format!("{text}\n")).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use myriad_testing::key;

    use super::*;

    fn new_wallet(dir: &Path, passphrase: &str, names: &[&str]) -> Wallet {
        let mut wallet = Wallet::open_or_new(&dir.join("wallet.json")).unwrap();
        let unlocked = wallet.unlock(passphrase).unwrap();
        for (i, name) in names.iter().enumerate() {
            wallet.add(&unlocked, name, &key(i as u8 + 1)).unwrap();
        }
        wallet.save().unwrap();
        wallet
    }

    #[test]
    fn keys_read_back_with_the_passphrase_only() {
        let dir = tempfile::tempdir().unwrap();
        new_wallet(dir.path(), "correct horse", &["alice", "bob"]);
        let wallet = Wallet::open(&dir.path().join("wallet.json")).unwrap();
        let names: Vec<&str> = wallet.entries().iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["alice", "bob"]);
        let unlocked = wallet.unlock("correct horse").unwrap();
        let bob = wallet.secret(&unlocked, "bob").unwrap();
        assert_eq!(bob.to_seed(), [2; 32]);
        let by_address = wallet
            .secret(&unlocked, &bob.address().to_string())
            .unwrap();
        assert_eq!(by_address.to_seed(), [2; 32]);
        assert!(matches!(
            wallet.unlock("wrong horse"),
            Err(WalletError::WrongPassphrase { .. })
        ));
        assert!(matches!(
            wallet.secret(&unlocked, "carol"),
            Err(WalletError::UnknownName { .. })
        ));
    }

    #[test]
    fn the_file_is_private_and_holds_no_secret_in_clear() {
        let dir = tempfile::tempdir().unwrap();
        new_wallet(dir.path(), "pass", &["alice"]);
        let path = dir.path().join("wallet.json");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&hex::encode([1u8; 32])));
        assert!(text.contains(&key(1).address().to_string()));
    }

    #[test]
    fn names_and_addresses_are_unique_and_well_formed() {
        let dir = tempfile::tempdir().unwrap();
        let mut wallet = new_wallet(dir.path(), "pass", &["alice"]);
        let unlocked = wallet.unlock("pass").unwrap();
        let other = key(9);
        assert!(matches!(
            wallet.add(&unlocked, "alice", &other),
            Err(WalletError::NameTaken { .. })
        ));
        assert!(matches!(
            wallet.add(&unlocked, "again", &key(1)),
            Err(WalletError::AddressTaken { .. })
        ));
        for bad in ["", "with space", "ü", &"x".repeat(65)] {
            assert!(matches!(
                wallet.add(&unlocked, bad, &other),
                Err(WalletError::BadName(_))
            ));
        }
    }

    #[test]
    fn a_tampered_entry_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        new_wallet(dir.path(), "pass", &["alice", "bob"]);
        let path = dir.path().join("wallet.json");
        // Swap the names: each sealed secret is bound to its name and address.
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("\"alice\"", "\"tmp\"")
            .replace("\"bob\"", "\"alice\"")
            .replace("\"tmp\"", "\"bob\"");
        std::fs::write(&path, text).unwrap();
        let wallet = Wallet::open(&path).unwrap();
        assert!(wallet.unlock("pass").is_err());
        std::fs::write(&path, "{\"version\": 1}").unwrap();
        assert!(matches!(
            Wallet::open(&path),
            Err(WalletError::Malformed { .. })
        ));
        assert!(matches!(
            Wallet::open(&dir.path().join("none.json")),
            Err(WalletError::Missing { .. })
        ));
    }

    #[test]
    fn a_swap_secret_is_sealed_and_bound_to_its_swap() {
        let dir = tempfile::tempdir().unwrap();
        let mut wallet = new_wallet(dir.path(), "pass", &["alice"]);
        let unlocked = wallet.unlock("pass").unwrap();
        wallet
            .put_swap(&unlocked, "escrow1one", "offer one", None, Some(&[7; 32]))
            .unwrap();
        wallet
            .put_swap(&unlocked, "escrow1two", "offer two", Some("escrow1b"), None)
            .unwrap();
        // What a later step learns is added to the same record.
        wallet
            .put_swap(&unlocked, "escrow1one", "offer one", Some("escrow1c"), None)
            .unwrap();
        wallet.save().unwrap();
        let path = dir.path().join("wallet.json");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(&hex::encode([7u8; 32])),
            "the secret is sealed"
        );
        let wallet = Wallet::open(&path).unwrap();
        let unlocked = wallet.unlock("pass").unwrap();
        let one = wallet.swap("escrow1one").unwrap();
        assert_eq!(
            (one.offer.as_str(), one.counter.as_deref()),
            ("offer one", Some("escrow1c"))
        );
        assert_eq!(
            *wallet
                .swap_secret(&unlocked, "escrow1one")
                .unwrap()
                .unwrap(),
            [7; 32]
        );
        assert!(wallet
            .swap_secret(&unlocked, "escrow1two")
            .unwrap()
            .is_none());
        assert!(wallet.swap("escrow1three").is_none());
        // A secret moved to another swap's record does not open.
        let moved = text.replace("escrow1one", "escrow1other");
        std::fs::write(&path, moved).unwrap();
        let wallet = Wallet::open(&path).unwrap();
        let error = wallet.swap_secret(&unlocked, "escrow1other").unwrap_err();
        assert!(error.to_string().contains("was altered"), "{error}");
    }
}
