//! Checking any chain through the root, trusting only the root's committee. The root's
//! genesis names the committee (it hashes to the root chain's id, which the caller knows);
//! the root's anchor of the chain, in a root block that committee certified, names the
//! chain's validator set and its anchored head; the chain's blocks after it, each naming
//! its parent and certified by that set, lead to the state root an account's proof is
//! checked against. Hosts are only sources: whatever they say is checked, and the report
//! says what was trusted and what was checked.

use myriad_api_types::{AccountInfo, AnchorProofBody, DirectoryChain, RootInfo};
use myriad_ledger::{follow_from_anchor, verify_account, AnchorProof, StateProof};
use myriad_types::{
    decode, Account, Address, BlockHeader, Certificate, ChainId, ChainKind, Hash, Height,
    Validator, ValidatorSet,
};

use crate::client::{Client, ClientError};
use crate::verify::VerifyError;

/// The most blocks after the anchored head a check follows; a chain that far ahead of its
/// anchor is checked after its next anchor.
pub const FOLLOW_BLOCKS_MAX: u64 = 1_000;

/// Why a check through the root failed: the step, and what did not hold.
#[derive(Debug, thiserror::Error)]
pub enum RootCheckError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error("{step}: {reason}")]
    Failed { step: &'static str, reason: String },
}

fn failed(step: &'static str) -> impl Fn(String) -> RootCheckError {
    move |reason| RootCheckError::Failed { step, reason }
}

/// An account shown through the root, with what the check trusted and what it checked.
#[derive(Debug, Clone)]
pub struct RootChecked {
    pub chain: ChainId,
    pub address: Address,
    pub account: Account,
    /// The height and state root the account was proven at.
    pub height: Height,
    pub state_root: Hash,
    pub trusted: Vec<String>,
    pub checked: Vec<String>,
}

impl Client {
    /// The root chain the host follows.
    pub fn root_info(&self) -> Result<RootInfo, ClientError> {
        self.get("/root")
    }

    /// A chain's entry in the root's directory, as the host serves it (not checked: its
    /// validators' addresses only say where to ask).
    pub fn directory_chain(&self, chain: &ChainId) -> Result<DirectoryChain, ClientError> {
        self.get(&format!("/root/chains/{chain}"))
    }

    /// A chain's anchor with its proof, decoded (check it with [`AnchorProof::verify`]).
    pub fn anchor_proof(&self, chain: &ChainId) -> Result<AnchorProof, ClientError> {
        let body: AnchorProofBody = self.get(&format!("/root/anchors/{chain}"))?;
        let malformed = |reason: String| ClientError::Malformed {
            url: self.url().to_owned(),
            reason,
        };
        let bytes = hex::decode(&body.proof).map_err(|e| malformed(e.to_string()))?;
        decode("anchor proof", &bytes).map_err(|e| malformed(e.to_string()))
    }
}

/// The set a directory entry lists, which must be the one the anchor names.
fn listed_set(entry: &DirectoryChain, anchored: &Hash) -> Result<ValidatorSet, String> {
    let validators = entry
        .validators
        .iter()
        .map(|v| {
            Ok(Validator {
                host: v.host.parse().map_err(|e| format!("`{}`: {e}", v.host))?,
                power: v.power,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let set = ValidatorSet::new(validators).map_err(|e| e.to_string())?;
    if set.hash() != *anchored {
        return Err(format!(
            "the directory lists validator set {}, the anchor names {anchored}",
            set.hash()
        ));
    }
    Ok(set)
}

/// Checks `address` on `chain` trusting only the committee of the root chain `root`, as its
/// genesis names it. `root_host` serves the root; `chain_host` serves the chain (`None`:
/// the first of the chain's validators the directory gives an API URL for).
pub fn verify_account_via_root(
    root_host: &Client,
    root: &ChainId,
    chain: &ChainId,
    address: &Address,
    chain_host: Option<&Client>,
) -> Result<RootChecked, RootCheckError> {
    let mut trusted = vec![format!("the root chain is {root}")];
    let mut checked = Vec::new();

    let genesis = root_host.genesis(root)?;
    if !matches!(genesis.genesis.kind, ChainKind::Root(_)) {
        return Err(failed("root genesis")(format!(
            "chain {root} is not a root chain"
        )));
    }
    let committee = genesis
        .genesis
        .validator_set()
        .map_err(|e| failed("root genesis")(e.to_string()))?;
    checked.push(format!(
        "the root's genesis hashes to {root} and its owner signed it"
    ));
    trusted.push(format!(
        "the root's committee named in its genesis: {} hosts, set {}",
        committee.len(),
        committee.hash()
    ));

    let proof = root_host.anchor_proof(chain)?;
    proof
        .verify(root, &committee, chain)
        .map_err(|e| failed("anchor proof")(e.to_string()))?;
    let anchor = &proof.anchor;
    checked.push(format!(
        "root block {} is certified by {} of the committee's {} hosts",
        proof.root_header.height,
        proof.root_certificate.signatures.len(),
        committee.len()
    ));
    checked.push(format!(
        "the chain's anchor leads to that block's state root ({} siblings): head {} at height {}, validator set {}",
        proof.path.path.siblings.len(),
        anchor.block_hash,
        anchor.height,
        anchor.validators_hash
    ));
    if let Some(forked) = anchor.forked_at {
        return Err(failed("anchor")(format!(
            "the root holds evidence that the chain forked at height {forked}"
        )));
    }

    let entry = root_host.directory_chain(chain)?;
    let set = listed_set(&entry, &anchor.validators_hash).map_err(failed("validator set"))?;
    checked.push(format!(
        "the directory's validator set of the chain hashes to the anchored one ({} hosts)",
        set.len()
    ));
    let found;
    let chain_host = match chain_host {
        Some(client) => client,
        None => {
            let url = entry
                .validators
                .iter()
                .find_map(|v| v.entry.as_ref().map(|e| e.api_url.clone()))
                .ok_or_else(|| {
                    failed("chain host")("no validator of the chain is in the directory".into())
                })?;
            found = Client::new(&url);
            &found
        }
    };

    let info: AccountInfo = chain_host.account(chain, address)?;
    let height = Height(info.height);
    let state_root: Hash = info
        .state_root
        .parse()
        .map_err(|e| failed("account")(format!("state root: {e}")))?;
    if height < anchor.height {
        return Err(failed("account")(format!(
            "host {} answers at height {height}, behind the anchored head {}",
            chain_host.url(),
            anchor.height
        )));
    }
    let ahead = height.0 - anchor.height.0;
    if ahead > FOLLOW_BLOCKS_MAX {
        return Err(failed("account")(format!(
            "the host's height {height} is {ahead} blocks past the anchor; check again after the next anchor"
        )));
    }
    let later = (anchor.height.0 + 1..=height.0)
        .map(|h| chain_host.certified_block(chain, h))
        .map(|found| found.map(|(block, certificate)| (block.header, certificate)))
        .collect::<Result<Vec<(BlockHeader, Certificate)>, ClientError>>()?;
    let (reached, root_reached) = follow_from_anchor(anchor, &set, &later)
        .map_err(|e| failed("blocks after the anchor")(e.to_string()))?;
    if (reached, root_reached) != (height, state_root) {
        return Err(failed("account")(format!(
            "the host's answer is for state root {state_root} at {height}; its certified blocks lead to {root_reached} at {reached}"
        )));
    }
    checked.push(format!(
        "{ahead} block(s) after the anchor, each naming its parent and certified by the anchored set, lead to state root {state_root} at height {height}"
    ));

    let account = Account {
        balance: info
            .balance
            .parse()
            .map_err(|e| failed("account")(format!("balance: {e}")))?,
        nonce: info.nonce,
    };
    let proof: StateProof = hex::decode(&info.proof)
        .ok()
        .and_then(|bytes| decode("state proof", &bytes).ok())
        .ok_or_else(|| failed("account")("the proof does not decode".into()))?;
    if !verify_account(&state_root, address, &account, &proof) {
        return Err(failed("account")(format!(
            "the proof of {address} (balance {}, nonce {}) does not lead to state root {state_root}",
            account.balance, account.nonce
        )));
    }
    checked.push(format!(
        "the account's proof leads to that state root: balance {}, nonce {}",
        account.balance, account.nonce
    ));
    Ok(RootChecked {
        chain: *chain,
        address: *address,
        account,
        height,
        state_root,
        trusted,
        checked,
    })
}
