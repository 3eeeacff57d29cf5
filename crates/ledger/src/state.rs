//! One chain's state: its parameters, supply, owner, validators and accounts, with a root
//! hash that commits to all of it.

use std::collections::BTreeSet;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use myriad_types::{
    Account, Address, Amount, ChainId, ChainParams, Genesis, GenesisError, Hash, Height, HostId,
    SignedGenesis, Symbol, ValidatorSet,
};

use crate::tree::{account_key, account_value, AccountTree, TreeProof};

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
    #[error("balances add up to {balances:?} (None: past u128), not the supply {supply}")]
    Balances {
        balances: Option<Amount>,
        supply: Amount,
    },
}

/// A chain's full state. Accounts holding nothing and having sent nothing are absent.
/// A copy shares the accounts with its original (see [`AccountTree`]): building or checking
/// a block on a copy costs what the block touches, not the size of the chain.
#[derive(Debug, Clone)]
pub struct ChainState {
    meta: ChainMeta,
    accounts: AccountTree,
    changed: BTreeSet<Address>,
}

/// What applying a transaction reads and writes of a chain: its metadata and its accounts.
/// The chain's state is one view; a [`Scratch`](crate::Scratch) over it is another.
pub(crate) trait StateView {
    fn meta(&self) -> &ChainMeta;
    fn meta_mut(&mut self) -> &mut ChainMeta;
    /// An account's entry; the default one for an account that is absent.
    fn account(&self, address: &Address) -> Account;
    fn set_account(&mut self, address: Address, account: Account);
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
}

/// Proof that an account holds a given entry under a state root.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AccountProof {
    pub meta_hash: Hash,
    pub path: TreeProof,
}

fn state_root(accounts_root: &Hash, meta_hash: &Hash) -> Hash {
    Hash::of_parts(&[b"myriad/state/1", &accounts_root.0, &meta_hash.0])
}

/// Whether `proof` shows that `address` holds `account` in the state with root `root`.
/// The default (empty) account is shown by a proof of absence.
pub fn verify_account(
    root: &Hash,
    address: &Address,
    account: &Account,
    proof: &AccountProof,
) -> bool {
    let value = (*account != Account::default()).then(|| account_value(account));
    proof
        .path
        .root_for(&account_key(address), value.as_ref())
        .is_some_and(|accounts_root| state_root(&accounts_root, &proof.meta_hash) == *root)
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
        };
        ChainState::from_parts(meta, [])
    }

    /// Rebuilds a state from its stored parts.
    pub fn from_parts(
        meta: ChainMeta,
        accounts: impl IntoIterator<Item = (Address, Account)>,
    ) -> ChainState {
        let mut state = ChainState {
            meta,
            accounts: AccountTree::default(),
            changed: BTreeSet::new(),
        };
        for (address, account) in accounts {
            state.set_account(address, account);
        }
        state.changed.clear();
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

    /// The root that commits to every account and to the chain's metadata.
    pub fn state_root(&self) -> Hash {
        state_root(&self.accounts.root(), &self.meta.hash())
    }

    pub fn prove(&self, address: &Address) -> AccountProof {
        AccountProof {
            meta_hash: self.meta.hash(),
            path: self.accounts.prove(&account_key(address)),
        }
    }

    /// Accounts written since the last [`ChainState::clear_changed`], with their current
    /// entries (the default entry for one that became empty): what a store must write.
    pub fn changed_accounts(&self) -> impl Iterator<Item = (Address, Account)> + '_ {
        self.changed
            .iter()
            .map(|address| (*address, self.account(address)))
    }

    pub fn clear_changed(&mut self) {
        self.changed.clear();
    }

    /// Checks the rules every state keeps, whatever the transactions: supply = minted −
    /// burned ≤ the maximum, and the balances add up to the supply. It reads every account:
    /// the ledger's model test and the simulator call it at each block, debug builds at
    /// each executed block.
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
        let balances = self
            .accounts()
            .try_fold(0u128, |sum, (_, account)| sum.checked_add(account.balance));
        if balances != Some(supply) {
            return Err(InvariantError::Balances { balances, supply });
        }
        Ok(())
    }
}
