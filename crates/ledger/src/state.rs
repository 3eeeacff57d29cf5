//! One chain's state: its parameters, supply, owner, validators, accounts and objects
//! (escrows, channels, allowlists), with a root hash that commits to all of it.

use std::collections::BTreeSet;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use myriad_types::{
    Account, Address, Amount, ChainId, ChainKind, ChainParams, Genesis, GenesisError, Hash, Height,
    HostId, Object, ObjectKey, SignedGenesis, Symbol, ValidatorSet,
};

use crate::tree::{AccountTree, ObjectTree, TreeEntry, TreeProof};

/// Everything about a chain but its accounts.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChainMeta {
    pub chain_id: ChainId,
    /// The height of the last executed block; 0 is the genesis state.
    pub height: Height,
    pub owner: Address,
    pub symbol: Symbol,
    pub decimals: u8,
    pub max_supply: Option<Amount>,
    /// Currency in circulation: `minted - burned`.
    pub supply: Amount,
    pub minted: Amount,
    pub burned: Amount,
    /// The set that validates the next block.
    pub validators: Arc<ValidatorSet>,
    /// A set chosen by the block being executed; it takes over once that block ends.
    pub next_validators: Option<Arc<ValidatorSet>>,
    /// The time of the last executed block (the genesis's creation time at height 0), in ms
    /// since the Unix epoch: the next block's time must be later.
    pub time_ms: u64,
    pub params: ChainParams,
    /// A personal chain, or the root with its rules (from the genesis).
    pub kind: ChainKind,
}

impl ChainMeta {
    pub fn hash(&self) -> Hash {
        Hash::tagged(b"myriad/chain-meta/1", self)
    }
}

/// A broken rule of a chain's state: a bug in the ledger, never a bad transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvariantError {
    #[error("supply {supply} is not minted {minted} − burned {burned}")]
    Supply {
        supply: Amount,
        minted: Amount,
        burned: Amount,
    },
    #[error("supply {supply} is over the chain's maximum {max}")]
    OverMax { supply: Amount, max: Amount },
    #[error("balances and what objects lock add up to {held:?} (None: past u128), not the supply {supply}")]
    Holdings {
        held: Option<Amount>,
        supply: Amount,
    },
    #[error("object {stored:?} is stored under the key of {key:?}")]
    MisplacedObject { key: ObjectKey, stored: ObjectKey },
}

/// A chain's full state. Accounts holding nothing and having sent nothing are absent.
/// A copy shares the accounts and objects with its original (see [`Tree`](crate::tree::Tree)):
/// building or checking a block on a copy costs what the block touches, not the size of the
/// chain.
#[derive(Debug, Clone)]
pub struct ChainState {
    meta: ChainMeta,
    accounts: AccountTree,
    objects: ObjectTree,
    changed: BTreeSet<Address>,
    changed_objects: BTreeSet<ObjectKey>,
}

/// What applying a transaction reads and writes of a chain: its metadata, accounts and
/// objects. The chain's state is one view; a [`Scratch`](crate::Scratch) over it is another.
pub(crate) trait StateView {
    fn meta(&self) -> &ChainMeta;
    fn meta_mut(&mut self) -> &mut ChainMeta;
    /// An account's entry; the default one for an account that is absent.
    fn account(&self, address: &Address) -> Account;
    fn set_account(&mut self, address: Address, account: Account);
    fn object(&self, key: &ObjectKey) -> Option<Object>;
    /// Stores `object` under `key`, or removes what is there (`None`).
    fn set_object(&mut self, key: ObjectKey, object: Option<Object>);
}

impl StateView for ChainState {
    fn meta(&self) -> &ChainMeta {
        ChainState::meta(self)
    }

    fn meta_mut(&mut self) -> &mut ChainMeta {
        ChainState::meta_mut(self)
    }

    fn account(&self, address: &Address) -> Account {
        ChainState::account(self, address)
    }

    fn set_account(&mut self, address: Address, account: Account) {
        ChainState::set_account(self, address, account);
    }

    fn object(&self, key: &ObjectKey) -> Option<Object> {
        ChainState::object(self, key).cloned()
    }

    fn set_object(&mut self, key: ObjectKey, object: Option<Object>) {
        ChainState::set_object(self, key, object);
    }
}

/// Proof that an account or an object holds a given entry under a state root: its path in
/// its tree, and the hashes of the rest of the state.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct StateProof {
    pub meta_hash: Hash,
    /// The root of the other tree: the objects' for an account, the accounts' for an object.
    pub other_root: Hash,
    pub path: TreeProof,
}

/// The state root of a chain whose accounts tree has root `accounts_root`, whose objects
/// tree has root `objects_root`, and whose metadata hashes to `meta_hash`
/// ([`ChainMeta::hash`]): what a verifier recomputes from a host's answer.
pub fn state_root(accounts_root: &Hash, objects_root: &Hash, meta_hash: &Hash) -> Hash {
    Hash::of_parts(&[
        b"myriad/state/2",
        &accounts_root.0,
        &objects_root.0,
        &meta_hash.0,
    ])
}

/// Whether `proof` shows that `address` holds `account` in the state with root `root`.
/// The default (empty) account is shown by a proof of absence.
pub fn verify_account(
    root: &Hash,
    address: &Address,
    account: &Account,
    proof: &StateProof,
) -> bool {
    let value = (*account != Account::default()).then(|| account.tree_value());
    proof
        .path
        .root_for(&Account::tree_key(address), value.as_ref())
        .is_some_and(|accounts_root| {
            state_root(&accounts_root, &proof.other_root, &proof.meta_hash) == *root
        })
}

/// Whether `proof` shows that `key` holds `object` (`None`: nothing) in the state with
/// root `root`.
pub fn verify_object(
    root: &Hash,
    key: &ObjectKey,
    object: Option<&Object>,
    proof: &StateProof,
) -> bool {
    if object.is_some_and(|object| object.key() != *key) {
        return false;
    }
    let value = object.map(Object::tree_value);
    proof
        .path
        .root_for(&Object::tree_key(key), value.as_ref())
        .is_some_and(|objects_root| {
            state_root(&proof.other_root, &objects_root, &proof.meta_hash) == *root
        })
}

impl ChainState {
    /// The state at height 0 of the chain a signed genesis founds.
    pub fn from_genesis(signed: &SignedGenesis) -> Result<ChainState, GenesisError> {
        let validators = signed.verify()?;
        Ok(ChainState::from_verified_genesis(
            &signed.genesis,
            validators,
        ))
    }

    /// The state at height 0 of the chain `genesis` founds, for a caller that has checked its
    /// owner's signature (in a batch) and its rules, which gave `validators`.
    pub fn from_verified_genesis(genesis: &Genesis, validators: ValidatorSet) -> ChainState {
        let meta = ChainMeta {
            chain_id: genesis.chain_id(),
            height: Height(0),
            owner: genesis.owner,
            symbol: genesis.symbol.clone(),
            decimals: genesis.decimals,
            max_supply: genesis.max_supply,
            supply: 0,
            minted: 0,
            burned: 0,
            validators: Arc::new(validators),
            next_validators: None,
            time_ms: genesis.created_at_ms,
            params: genesis.params,
            kind: genesis.kind,
        };
        ChainState::from_parts(meta, [], [])
    }

    /// Rebuilds a state from its stored parts.
    pub fn from_parts(
        meta: ChainMeta,
        accounts: impl IntoIterator<Item = (Address, Account)>,
        objects: impl IntoIterator<Item = Object>,
    ) -> ChainState {
        let mut state = ChainState {
            meta,
            accounts: AccountTree::default(),
            objects: ObjectTree::default(),
            changed: BTreeSet::new(),
            changed_objects: BTreeSet::new(),
        };
        for (address, account) in accounts {
            state.set_account(address, account);
        }
        for object in objects {
            state.set_object(object.key(), Some(object));
        }
        state.clear_changed();
        state
    }

    pub fn meta(&self) -> &ChainMeta {
        &self.meta
    }

    /// Lets a host that holds many chains share one copy of each validator set: `intern`
    /// returns the shared copy of the set it is given (sets are equal by content).
    pub fn share_validators(
        &mut self,
        mut intern: impl FnMut(&Arc<ValidatorSet>) -> Arc<ValidatorSet>,
    ) {
        self.meta.validators = intern(&self.meta.validators);
        if let Some(next) = &self.meta.next_validators {
            self.meta.next_validators = Some(intern(next));
        }
    }

    pub(crate) fn meta_mut(&mut self) -> &mut ChainMeta {
        &mut self.meta
    }

    pub fn chain_id(&self) -> ChainId {
        self.meta.chain_id
    }

    /// The height of the block that comes next.
    pub fn next_height(&self) -> Height {
        let height = self.meta.height;
        // A chain of 2^64 blocks is out of reach; saturate rather than panic.
        height.next().unwrap_or(height)
    }

    /// The time of the next block built by a proposer whose clock says `clock_ms`: the clock,
    /// or one millisecond after the last block if the clock is not past it.
    pub fn next_block_time(&self, clock_ms: u64) -> u64 {
        clock_ms.max(self.meta.time_ms.saturating_add(1))
    }

    /// The hosts that validate the chain now or from its next height, in id order.
    pub fn validator_hosts(&self) -> Vec<HostId> {
        let meta = &self.meta;
        let mut hosts: Vec<HostId> = meta
            .validators
            .validators()
            .iter()
            .chain(meta.next_validators.iter().flat_map(|s| s.validators()))
            .map(|v| v.host)
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }

    pub fn account(&self, address: &Address) -> Account {
        self.accounts.get(address).copied().unwrap_or_default()
    }

    /// Accounts holding something or having sent something.
    pub fn accounts(&self) -> impl Iterator<Item = (&Address, &Account)> {
        self.accounts.iter()
    }

    pub(crate) fn set_account(&mut self, address: Address, account: Account) {
        if account == Account::default() {
            self.accounts.remove(&address);
        } else {
            self.accounts.insert(address, account);
        }
        self.changed.insert(address);
    }

    pub fn object(&self, key: &ObjectKey) -> Option<&Object> {
        self.objects.get(key)
    }

    /// Every object, escrows, channels and allowlists, open or closed.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.objects.iter().map(|(_, object)| object)
    }

    pub(crate) fn set_object(&mut self, key: ObjectKey, object: Option<Object>) {
        match object {
            Some(object) => self.objects.insert(key, object),
            None => self.objects.remove(&key),
        }
        self.changed_objects.insert(key);
    }

    /// The root of the accounts tree.
    pub fn accounts_root(&self) -> Hash {
        self.accounts.root()
    }

    /// The root of the objects tree.
    pub fn objects_root(&self) -> Hash {
        self.objects.root()
    }

    /// The root that commits to every account, every object and the chain's metadata.
    pub fn state_root(&self) -> Hash {
        state_root(
            &self.accounts.root(),
            &self.objects.root(),
            &self.meta.hash(),
        )
    }

    /// The proof of an account's entry (or of its absence).
    pub fn prove(&self, address: &Address) -> StateProof {
        StateProof {
            meta_hash: self.meta.hash(),
            other_root: self.objects.root(),
            path: self.accounts.prove(&Account::tree_key(address)),
        }
    }

    /// The proof of an object (or of its absence).
    pub fn prove_object(&self, key: &ObjectKey) -> StateProof {
        StateProof {
            meta_hash: self.meta.hash(),
            other_root: self.accounts.root(),
            path: self.objects.prove(&Object::tree_key(key)),
        }
    }

    /// Accounts written since the last [`ChainState::clear_changed`], with their current
    /// entries (the default entry for one that became empty): what a store must write.
    pub fn changed_accounts(&self) -> impl Iterator<Item = (Address, Account)> + '_ {
        self.changed
            .iter()
            .map(|address| (*address, self.account(address)))
    }

    /// Objects written since the last [`ChainState::clear_changed`], with what they hold now
    /// (`None`: removed).
    pub fn changed_objects(&self) -> impl Iterator<Item = (ObjectKey, Option<&Object>)> + '_ {
        self.changed_objects
            .iter()
            .map(|key| (*key, self.object(key)))
    }

    /// Marks every change as persisted.
    pub fn clear_changed(&mut self) {
        self.changed.clear();
        self.changed_objects.clear();
    }

    /// Checks the rules every state keeps, whatever the transactions: supply = minted −
    /// burned ≤ the maximum = the balances plus what open escrows and channels lock, and
    /// each object lies under its own key, so none is counted twice. It reads the whole
    /// state: the ledger's model test and the simulator call it at each block, debug builds
    /// at each executed block.
    pub fn check_invariants(&self) -> Result<(), InvariantError> {
        let ChainMeta {
            supply,
            minted,
            burned,
            max_supply,
            ..
        } = self.meta;
        if minted.checked_sub(burned) != Some(supply) {
            return Err(InvariantError::Supply {
                supply,
                minted,
                burned,
            });
        }
        if let Some(max) = max_supply.filter(|max| supply > *max) {
            return Err(InvariantError::OverMax { supply, max });
        }
        for (key, object) in self.objects.iter() {
            if object.key() != *key {
                return Err(InvariantError::MisplacedObject {
                    key: *key,
                    stored: object.key(),
                });
            }
        }
        let balances = self.accounts().map(|(_, account)| account.balance);
        let locked = self.objects().map(Object::locked);
        let held = balances
            .chain(locked)
            .try_fold(0u128, |sum, amount| sum.checked_add(amount));
        if held != Some(supply) {
            return Err(InvariantError::Holdings { held, supply });
        }
        Ok(())
    }
}
