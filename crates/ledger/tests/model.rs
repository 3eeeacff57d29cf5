//! State-machine test of the ledger against a simple model: random mints, transfers, burns,
//! validator and ownership changes, escrows (locks, claims, refunds), payment channels
//! (opens, top-ups, closes with vouchers, refunds) and allowlists from several accounts,
//! valid and invalid, in blocks whose time advances.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use myriad_ledger::{
    apply, check_stateless, execute_block, verify_account, verify_object, ChainMeta, ChainState,
    InvariantError, Scratch, TxError,
};
use myriad_testing::{tx, unsigned_genesis};
use myriad_types::{
    Account, Address, Allowlist, Amount, BoundedVec, ChainParams, Channel, ChannelId, ChannelState,
    Escrow, EscrowId, EscrowState, Genesis, Memo, Object, ObjectKey, PendingAllowlist, Secret,
    SecretKey, SignedGenesis, SignedTransaction, SignedVoucher, TxKind, Validator, ValidatorSet,
    Voucher,
};
use proptest::prelude::*;

const ACCOUNTS: usize = 5;
const MAX_SUPPLY: Amount = 1_000_000;
/// How far each block's time is after the last's.
const BLOCK_MS: u64 = 10_000;
/// The chain's lock bounds: an escrow or channel expires one to ten blocks after it opens.
const LOCK_MIN_MS: u64 = BLOCK_MS;
const LOCK_MAX_MS: u64 = 10 * BLOCK_MS;
/// How many secrets the steps choose from.
const SECRETS: u8 = 3;

fn secret(i: u8) -> Secret {
    Secret([i + 1; 32])
}

/// The time of block `height`.
fn block_time(height: u64) -> u64 {
    height * BLOCK_MS
}

/// The key of account `i`.
fn key(i: usize) -> SecretKey {
    myriad_testing::key(i as u8 + 1)
}

fn host(i: u8) -> Validator {
    Validator {
        host: myriad_testing::key(100 + i).host_id(),
        power: u64::from(i) + 1,
    }
}

fn genesis(max_supply: Option<Amount>) -> SignedGenesis {
    let owner = key(0);
    let validators: Vec<_> = (0..4).map(host).map(|v| (v.host, v.power)).collect();
    let genesis = Genesis {
        max_supply,
        params: ChainParams {
            lock_min_ms: LOCK_MIN_MS,
            lock_max_ms: LOCK_MAX_MS,
            ..ChainParams::default()
        },
        ..unsigned_genesis(owner.address(), &validators, 0)
    };
    SignedGenesis::sign(genesis, &owner)
}

/// A validator list, valid or not.
#[derive(Debug, Clone)]
enum ValidatorChoice {
    Valid(Vec<u8>),
    Empty,
    ZeroPower,
    Duplicate,
}

impl ValidatorChoice {
    fn list(&self) -> Vec<Validator> {
        match self {
            ValidatorChoice::Valid(hosts) => hosts.iter().map(|i| host(*i)).collect(),
            ValidatorChoice::Empty => vec![],
            ValidatorChoice::ZeroPower => vec![
                host(0),
                Validator {
                    power: 0,
                    ..host(1)
                },
            ],
            ValidatorChoice::Duplicate => vec![host(0), host(1), host(0)],
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// `by_owner`: sent by the chain's owner rather than the step's sender.
    Mint {
        to: usize,
        amount: Amount,
        by_owner: bool,
    },
    Transfer {
        to: usize,
        amount: Amount,
    },
    Burn {
        amount: Amount,
    },
    SetValidators(ValidatorChoice),
    TransferOwnership {
        to: usize,
    },
    /// `expires_in` is from the block's time, in ms; outside the lock bounds at times.
    Lock {
        to: usize,
        amount: Amount,
        secret: u8,
        expires_in: u64,
    },
    /// The `escrow`th escrow made so far (modulo), or an unknown one if none was; with its
    /// own secret (`None`) or one of the others.
    Claim {
        escrow: usize,
        secret: Option<u8>,
    },
    Refund {
        escrow: usize,
    },
    OpenChannel {
        payee: usize,
        amount: Amount,
        expires_in: u64,
    },
    /// `by_party`: sent by the channel's payer (its payee for a close) rather than the
    /// step's sender.
    TopUpChannel {
        channel: usize,
        amount: Amount,
        by_party: bool,
    },
    /// With a voucher for `cumulative` signed by `signer` (`None`: the payer).
    CloseChannel {
        channel: usize,
        cumulative: Amount,
        signer: Option<usize>,
        by_party: bool,
    },
    RefundChannel {
        channel: usize,
        by_party: bool,
    },
    SetAllowlist {
        addresses: Vec<usize>,
        delay_ms: u64,
    },
}

#[derive(Debug, Clone)]
struct Step {
    sender: usize,
    /// Added to the right nonce: 0 is right, anything else is wrong.
    nonce_offset: i8,
    op: Op,
    /// Whether a block ends after this step.
    end_block: bool,
}

fn amount() -> impl Strategy<Value = Amount> {
    prop_oneof![
        4 => 1..1_000u128,
        1 => Just(0u128),
        1 => 1..2 * MAX_SUPPLY,
        1 => (u128::MAX - 10)..=u128::MAX,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let validators = prop_oneof![
        3 => proptest::collection::btree_set(0u8..6, 1..5)
            .prop_map(|set| ValidatorChoice::Valid(set.into_iter().collect())),
        1 => Just(ValidatorChoice::Empty),
        1 => Just(ValidatorChoice::ZeroPower),
        1 => Just(ValidatorChoice::Duplicate),
    ];
    prop_oneof![
        4 => (0..ACCOUNTS, amount(), proptest::bool::weighted(0.7))
            .prop_map(|(to, amount, by_owner)| Op::Mint { to, amount, by_owner }),
        6 => (0..ACCOUNTS, amount()).prop_map(|(to, amount)| Op::Transfer { to, amount }),
        2 => amount().prop_map(|amount| Op::Burn { amount }),
        1 => validators.prop_map(Op::SetValidators),
        1 => (0..ACCOUNTS).prop_map(|to| Op::TransferOwnership { to }),
        4 => (0..ACCOUNTS, amount(), 0..SECRETS, expires_in()).prop_map(
            |(to, amount, secret, expires_in)| Op::Lock { to, amount, secret, expires_in }
        ),
        4 => (0..8usize, proptest::option::weighted(0.3, 0..SECRETS))
            .prop_map(|(escrow, secret)| Op::Claim { escrow, secret }),
        2 => (0..8usize).prop_map(|escrow| Op::Refund { escrow }),
        2 => (0..ACCOUNTS, amount(), expires_in()).prop_map(
            |(payee, amount, expires_in)| Op::OpenChannel { payee, amount, expires_in }
        ),
        1 => (0..8usize, amount(), proptest::bool::weighted(0.8)).prop_map(
            |(channel, amount, by_party)| Op::TopUpChannel { channel, amount, by_party }
        ),
        3 => (
            0..8usize,
            0..1_500u128,
            proptest::option::weighted(0.2, 0..ACCOUNTS),
            proptest::bool::weighted(0.8),
        )
            .prop_map(|(channel, cumulative, signer, by_party)| Op::CloseChannel {
                channel,
                cumulative,
                signer,
                by_party
            }),
        2 => (0..8usize, proptest::bool::weighted(0.8))
            .prop_map(|(channel, by_party)| Op::RefundChannel { channel, by_party }),
        1 => (
            proptest::collection::vec(0..ACCOUNTS, 0..3),
            prop_oneof![Just(0u64), Just(BLOCK_MS), Just(3 * BLOCK_MS)],
        )
            .prop_map(|(addresses, delay_ms)| Op::SetAllowlist { addresses, delay_ms }),
    ]
}

/// An expiry from a block's time: mostly within the lock bounds, at times just outside.
fn expires_in() -> impl Strategy<Value = u64> {
    prop_oneof![
        6 => LOCK_MIN_MS..=LOCK_MAX_MS,
        1 => Just(LOCK_MIN_MS - 1),
        1 => Just(LOCK_MAX_MS + 1),
        1 => Just(0u64),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        0..ACCOUNTS,
        prop_oneof![8 => Just(0i8), 1 => -1i8..=2],
        op(),
        proptest::bool::weighted(0.3),
    )
        .prop_map(|(sender, nonce_offset, op, end_block)| Step {
            sender,
            nonce_offset,
            op,
            end_block,
        })
}

/// An allowlist as the model keeps it: account indexes, and a pending change (addresses,
/// delay, when it takes effect).
#[derive(Debug, Clone, PartialEq)]
struct ModelAllowlist {
    addresses: Vec<usize>,
    delay_ms: u64,
    pending: Option<(Vec<usize>, u64, u64)>,
}

/// The model: plain maps and integers, rules written out once more.
#[derive(Debug, Clone, Default)]
struct Model {
    /// The chain's id; none in the tests that make no escrow or channel.
    chain: Option<myriad_types::ChainId>,
    /// The time of the block being built.
    time_ms: u64,
    escrows: Vec<Escrow>,
    channels: Vec<Channel>,
    allowlists: HashMap<usize, ModelAllowlist>,
    balances: HashMap<usize, Amount>,
    nonces: HashMap<usize, u64>,
    owner: usize,
    supply: Amount,
    minted: Amount,
    burned: Amount,
    max_supply: Option<Amount>,
    validators: Vec<Validator>,
    next_validators: Option<Vec<Validator>>,
}

impl Model {
    fn balance(&self, i: usize) -> Amount {
        self.balances.get(&i).copied().unwrap_or(0)
    }

    fn credit(&mut self, i: usize, amount: Amount) {
        *self.balances.entry(i).or_default() += amount;
    }

    /// Takes `amount` from `i` if it has that much.
    fn debit(&mut self, i: usize, amount: Amount) -> bool {
        let enough = amount > 0 && self.balance(i) >= amount;
        if enough {
            *self.balances.entry(i).or_default() -= amount;
        }
        enough
    }

    /// The allowlist of `owner` in force now, with a change that is due applied.
    fn allowlist(&self, owner: usize) -> Option<ModelAllowlist> {
        let list = self.allowlists.get(&owner)?;
        match &list.pending {
            Some((addresses, delay_ms, at)) if self.time_ms >= *at => {
                (!addresses.is_empty()).then(|| ModelAllowlist {
                    addresses: addresses.clone(),
                    delay_ms: *delay_ms,
                    pending: None,
                })
            }
            _ => Some(list.clone()),
        }
    }

    fn allows(&self, from: usize, to: usize) -> bool {
        self.allowlist(from)
            .is_none_or(|list| to == from || list.addresses.contains(&to))
    }

    fn expiry_fits(&self, expires_in: u64) -> bool {
        (LOCK_MIN_MS..=LOCK_MAX_MS).contains(&expires_in)
    }

    /// The secret a claim step gives: the escrow's own (`None`), or secret `s`.
    fn claim_secret(&self, escrow: usize, s: Option<u8>) -> Secret {
        let own = || {
            let i = self.escrow(escrow)?;
            (0..SECRETS).find(|s| secret(*s).hash_lock() == self.escrows[i].hash_lock)
        };
        secret(s.or_else(own).unwrap_or(0))
    }

    /// Who sends a step: the channel's party for a channel step that says so, else the
    /// step's sender.
    fn sender_of(&self, step: &Step) -> usize {
        let party = match &step.op {
            Op::TopUpChannel {
                channel,
                by_party: true,
                ..
            }
            | Op::RefundChannel {
                channel,
                by_party: true,
            } => self.channel(*channel).map(|i| self.channels[i].payer),
            Op::CloseChannel {
                channel,
                by_party: true,
                ..
            } => self.channel(*channel).map(|i| self.channels[i].payee),
            Op::Mint { by_owner: true, .. } => return self.owner,
            _ => None,
        };
        party.map_or(step.sender, |address| Model::index_of(&address))
    }

    fn escrow(&self, i: usize) -> Option<usize> {
        (!self.escrows.is_empty()).then(|| i % self.escrows.len())
    }

    fn channel(&self, i: usize) -> Option<usize> {
        (!self.channels.is_empty()).then(|| i % self.channels.len())
    }

    fn index_of(address: &Address) -> usize {
        (0..ACCOUNTS)
            .find(|i| key(*i).address() == *address)
            .expect("a model account")
    }

    /// Applies an escrow, channel or allowlist step from `sender`; returns whether it was
    /// accepted.
    fn apply_object(&mut self, sender: usize, nonce: u64, op: &Op) -> bool {
        let now = self.time_ms;
        let address = key(sender).address();
        match op {
            Op::Lock {
                to,
                amount,
                secret: s,
                expires_in,
            } => {
                let ok = self.allows(sender, *to) && self.expiry_fits(*expires_in);
                if !(ok && self.debit(sender, *amount)) {
                    return false;
                }
                self.escrows.push(Escrow {
                    id: EscrowId::derive(&self.chain.unwrap(), &address, nonce),
                    locker: address,
                    to: key(*to).address(),
                    amount: *amount,
                    hash_lock: secret(*s).hash_lock(),
                    expires_at_ms: now + expires_in,
                    memo: Memo::default(),
                    state: EscrowState::Open,
                });
                true
            }
            Op::Claim { escrow, secret: s } => {
                let Some(i) = self.escrow(*escrow) else {
                    return false;
                };
                let e = &self.escrows[i];
                let given = self.claim_secret(*escrow, *s);
                if e.state != EscrowState::Open
                    || now >= e.expires_at_ms
                    || given.hash_lock() != e.hash_lock
                {
                    return false;
                }
                let (to, amount) = (Model::index_of(&e.to), e.amount);
                self.escrows[i].state = EscrowState::Claimed {
                    secret: given,
                    at_ms: now,
                };
                self.credit(to, amount);
                true
            }
            Op::Refund { escrow } => {
                let Some(i) = self.escrow(*escrow) else {
                    return false;
                };
                let e = &self.escrows[i];
                if e.state != EscrowState::Open || now < e.expires_at_ms {
                    return false;
                }
                let (locker, amount) = (Model::index_of(&e.locker), e.amount);
                self.escrows[i].state = EscrowState::Refunded { at_ms: now };
                self.credit(locker, amount);
                true
            }
            Op::OpenChannel {
                payee,
                amount,
                expires_in,
            } => {
                let ok = self.allows(sender, *payee) && self.expiry_fits(*expires_in);
                if !(ok && self.debit(sender, *amount)) {
                    return false;
                }
                self.channels.push(Channel {
                    id: ChannelId::derive(&self.chain.unwrap(), &address, nonce),
                    payer: address,
                    payee: key(*payee).address(),
                    amount: *amount,
                    expires_at_ms: now + expires_in,
                    state: ChannelState::Open,
                });
                true
            }
            Op::TopUpChannel {
                channel, amount, ..
            } => {
                let Some(i) = self.channel(*channel) else {
                    return false;
                };
                let c = &self.channels[i];
                if c.state != ChannelState::Open
                    || c.payer != address
                    || now >= c.expires_at_ms
                    || c.amount.checked_add(*amount).is_none()
                    || !self.debit(sender, *amount)
                {
                    return false;
                }
                self.channels[i].amount += amount;
                true
            }
            Op::CloseChannel {
                channel,
                cumulative,
                signer,
                ..
            } => {
                let Some(i) = self.channel(*channel) else {
                    return false;
                };
                let c = &self.channels[i];
                if c.state != ChannelState::Open
                    || c.payee != address
                    || *cumulative > c.amount
                    || signer.is_some_and(|signer| key(signer).address() != c.payer)
                {
                    return false;
                }
                let payer = Model::index_of(&c.payer);
                let rest = c.amount - cumulative;
                self.channels[i].state = ChannelState::Closed {
                    paid: *cumulative,
                    at_ms: now,
                };
                self.credit(sender, *cumulative);
                self.credit(payer, rest);
                true
            }
            Op::RefundChannel { channel, .. } => {
                let Some(i) = self.channel(*channel) else {
                    return false;
                };
                let c = &self.channels[i];
                if c.state != ChannelState::Open || c.payer != address || now < c.expires_at_ms {
                    return false;
                }
                let amount = c.amount;
                self.channels[i].state = ChannelState::Refunded { at_ms: now };
                self.credit(sender, amount);
                true
            }
            Op::SetAllowlist {
                addresses,
                delay_ms,
            } => {
                let mut unique = addresses.clone();
                unique.sort();
                unique.dedup();
                if unique.len() != addresses.len() {
                    return false;
                }
                match self.allowlist(sender) {
                    None if addresses.is_empty() => return false,
                    Some(ModelAllowlist { delay_ms: 0, .. }) if addresses.is_empty() => {
                        self.allowlists.remove(&sender);
                    }
                    // None in force, or a change that need not wait: in force at once.
                    Some(ModelAllowlist { delay_ms: 0, .. }) | None => {
                        self.allowlists.insert(
                            sender,
                            ModelAllowlist {
                                addresses: addresses.clone(),
                                delay_ms: *delay_ms,
                                pending: None,
                            },
                        );
                    }
                    Some(current) => {
                        let at = now + current.delay_ms;
                        self.allowlists.insert(
                            sender,
                            ModelAllowlist {
                                pending: Some((addresses.clone(), *delay_ms, at)),
                                ..current
                            },
                        );
                    }
                }
                true
            }
            _ => unreachable!("only object steps come here"),
        }
    }

    /// The objects the ledger should hold, as the ledger writes them.
    fn objects(&self) -> Vec<Object> {
        let addresses = |list: &[usize]| {
            BoundedVec::new(list.iter().map(|i| key(*i).address()).collect()).unwrap()
        };
        let mut objects: Vec<Object> = self
            .escrows
            .iter()
            .cloned()
            .map(Object::Escrow)
            .chain(self.channels.iter().cloned().map(Object::Channel))
            .collect();
        for (owner, list) in &self.allowlists {
            objects.push(Object::Allowlist(Allowlist {
                owner: key(*owner).address(),
                addresses: addresses(&list.addresses),
                delay_ms: list.delay_ms,
                pending: list
                    .pending
                    .as_ref()
                    .map(|(listed, delay_ms, at)| PendingAllowlist {
                        addresses: addresses(listed),
                        delay_ms: *delay_ms,
                        effective_at_ms: *at,
                    }),
            }));
        }
        objects
    }

    /// Applies a step; returns whether it was accepted.
    fn apply(&mut self, step: &Step, nonce: u64) -> bool {
        let sender = self.sender_of(step);
        if nonce != self.nonces.get(&sender).copied().unwrap_or(0) + 1 {
            return false;
        }
        let ok = match &step.op {
            Op::Mint { to, amount, .. } => {
                let fits = self.supply.checked_add(*amount).is_some_and(|supply| {
                    self.max_supply.is_none_or(|max| supply <= max)
                        && self.minted.checked_add(*amount).is_some()
                });
                if *amount > 0 && sender == self.owner && fits {
                    self.supply += amount;
                    self.minted += amount;
                    *self.balances.entry(*to).or_default() += amount;
                    true
                } else {
                    false
                }
            }
            Op::Transfer { to, amount } => {
                let ok = self.allows(sender, *to) && self.debit(sender, *amount);
                if ok {
                    self.credit(*to, *amount);
                }
                ok
            }
            Op::Burn { amount } => {
                if *amount > 0 && self.balance(sender) >= *amount {
                    *self.balances.entry(sender).or_default() -= amount;
                    self.supply -= amount;
                    self.burned += amount;
                    true
                } else {
                    false
                }
            }
            Op::SetValidators(choice) => match (sender == self.owner, choice) {
                (true, ValidatorChoice::Valid(_)) => {
                    self.next_validators = Some(choice.list());
                    true
                }
                _ => false,
            },
            Op::TransferOwnership { to } => {
                let ok = sender == self.owner;
                if ok {
                    self.owner = *to;
                }
                ok
            }
            op => self.apply_object(sender, nonce, op),
        };
        if ok {
            *self.nonces.entry(sender).or_default() += 1;
        }
        ok
    }

    fn end_block(&mut self) {
        if let Some(next) = self.next_validators.take() {
            self.validators = next;
        }
        self.time_ms += BLOCK_MS;
    }
}

fn transaction(state: &ChainState, model: &Model, step: &Step) -> SignedTransaction {
    let index = model.sender_of(step);
    let sender = key(index);
    let right = model.nonces.get(&index).copied().unwrap_or(0) + 1;
    let nonce = right.saturating_add_signed(i64::from(step.nonce_offset));
    let kind = match &step.op {
        Op::Mint { to, amount, .. } => TxKind::Mint {
            to: key(*to).address(),
            amount: *amount,
        },
        Op::Transfer { to, amount } => TxKind::Transfer {
            to: key(*to).address(),
            amount: *amount,
            memo: Memo::new(b"model".to_vec()).unwrap(),
        },
        Op::Burn { amount } => TxKind::Burn { amount: *amount },
        Op::SetValidators(choice) => TxKind::SetValidators {
            validators: BoundedVec::new(choice.list()).unwrap(),
        },
        Op::TransferOwnership { to } => TxKind::TransferOwnership {
            new_owner: key(*to).address(),
        },
        Op::Lock {
            to,
            amount,
            secret: s,
            expires_in,
        } => TxKind::Lock {
            to: key(*to).address(),
            amount: *amount,
            hash_lock: secret(*s).hash_lock(),
            expires_at_ms: model.time_ms + expires_in,
            memo: Memo::default(),
        },
        Op::Claim { escrow, secret: s } => TxKind::Claim {
            escrow: escrow_id(model, *escrow),
            secret: model.claim_secret(*escrow, *s),
        },
        Op::Refund { escrow } => TxKind::Refund {
            escrow: escrow_id(model, *escrow),
        },
        Op::OpenChannel {
            payee,
            amount,
            expires_in,
        } => TxKind::OpenChannel {
            payee: key(*payee).address(),
            amount: *amount,
            expires_at_ms: model.time_ms + expires_in,
        },
        Op::TopUpChannel {
            channel, amount, ..
        } => TxKind::TopUpChannel {
            channel: channel_id(model, *channel),
            amount: *amount,
        },
        Op::CloseChannel {
            channel,
            cumulative,
            signer,
            ..
        } => {
            let voucher = Voucher {
                chain_id: state.chain_id(),
                channel: channel_id(model, *channel),
                cumulative: *cumulative,
            };
            let payer = model.channel(*channel).map(|i| model.channels[i].payer);
            let signer = signer
                .or_else(|| payer.map(|payer| Model::index_of(&payer)))
                .unwrap_or(0);
            TxKind::CloseChannel {
                channel: voucher.channel,
                voucher: Box::new(SignedVoucher::sign(voucher, &key(signer))),
            }
        }
        Op::RefundChannel { channel, .. } => TxKind::RefundChannel {
            channel: channel_id(model, *channel),
        },
        Op::SetAllowlist {
            addresses,
            delay_ms,
        } => TxKind::SetAllowlist {
            addresses: BoundedVec::new(addresses.iter().map(|i| key(*i).address()).collect())
                .unwrap(),
            delay_ms: *delay_ms,
        },
    };
    tx(state.chain_id(), &sender, nonce, kind)
}

/// The id of the model's `i`th escrow (modulo), or of none.
fn escrow_id(model: &Model, i: usize) -> EscrowId {
    model
        .escrow(i)
        .map_or(EscrowId([0xee; 32]), |i| model.escrows[i].id)
}

fn channel_id(model: &Model, i: usize) -> ChannelId {
    model
        .channel(i)
        .map_or(ChannelId([0xcc; 32]), |i| model.channels[i].id)
}

fn addresses() -> Vec<Address> {
    (0..ACCOUNTS).map(|i| key(i).address()).collect()
}

fn check_against_model(state: &ChainState, model: &Model) -> Result<(), TestCaseError> {
    let meta = state.meta();
    prop_assert_eq!(meta.supply, model.supply);
    prop_assert_eq!(meta.minted, model.minted);
    prop_assert_eq!(meta.burned, model.burned);
    prop_assert_eq!(
        meta.supply,
        meta.minted - meta.burned,
        "supply = minted - burned"
    );
    prop_assert_eq!(meta.owner, key(model.owner).address());
    prop_assert_eq!(
        &*meta.validators,
        &ValidatorSet::new(model.validators.clone()).unwrap()
    );
    let mut total: Amount = 0;
    for (i, address) in addresses().iter().enumerate() {
        let account = state.account(address);
        prop_assert_eq!(account.balance, model.balance(i));
        prop_assert_eq!(account.nonce, model.nonces.get(&i).copied().unwrap_or(0));
        total = total
            .checked_add(account.balance)
            .expect("balances sum past u128");
        let proof = state.prove(address);
        prop_assert!(verify_account(
            &state.state_root(),
            address,
            &account,
            &proof
        ));
        let wrong = Account {
            balance: account.balance ^ 1,
            ..account
        };
        prop_assert!(!verify_account(
            &state.state_root(),
            address,
            &wrong,
            &proof
        ));
    }
    let root = state.state_root();
    let expected = model.objects();
    prop_assert_eq!(state.objects().count(), expected.len());
    for object in &expected {
        let key = object.key();
        prop_assert_eq!(state.object(&key), Some(object));
        let proof = state.prove_object(&key);
        prop_assert!(verify_object(&root, &key, Some(object), &proof));
        prop_assert!(!verify_object(&root, &key, None, &proof));
        total += object.locked();
    }
    let absent = ObjectKey::Escrow(EscrowId([0xee; 32]));
    prop_assert!(verify_object(
        &root,
        &absent,
        None,
        &state.prove_object(&absent)
    ));
    prop_assert_eq!(
        total,
        meta.supply,
        "balances and what is locked add up to the supply"
    );
    prop_assert_eq!(state.check_invariants(), Ok(()));
    let rebuilt = ChainState::from_parts(
        meta.clone(),
        state
            .accounts()
            .map(|(address, account)| (*address, *account)),
        state.objects().cloned(),
    );
    prop_assert_eq!(
        rebuilt.state_root(),
        state.state_root(),
        "root recomputed from scratch"
    );
    Ok(())
}

/// The same transactions tried on a scratch view of the block's first state get the same
/// verdicts and leave the accounts as applying them to the state did, the state untouched.
fn check_scratch(
    start: &ChainState,
    tried: &[(SignedTransaction, bool)],
    end: &ChainState,
) -> Result<(), TestCaseError> {
    let root = start.state_root();
    let mut scratch = Scratch::new(start, block_time(start.next_height().0));
    for (signed, accepted) in tried {
        let result = scratch.apply(signed);
        prop_assert_eq!(result.is_ok(), *accepted, "scratch gave {:?}", result);
    }
    for address in addresses() {
        prop_assert_eq!(scratch.account(&address), end.account(&address));
    }
    for object in end.objects() {
        prop_assert_eq!(scratch.object(&object.key()), Some(object.clone()));
    }
    prop_assert_eq!(start.state_root(), root, "a scratch view changed its state");
    Ok(())
}

/// Runs `steps` and returns the final root and the transactions in their blocks.
fn run(
    steps: &[Step],
    max_supply: Option<Amount>,
) -> Result<(ChainState, Vec<Vec<SignedTransaction>>), TestCaseError> {
    let signed_genesis = genesis(max_supply);
    let mut state = ChainState::from_genesis(&signed_genesis).unwrap();
    let mut model = Model {
        chain: Some(state.chain_id()),
        time_ms: block_time(1),
        max_supply,
        validators: signed_genesis.genesis.validators.to_vec(),
        ..Model::default()
    };
    let mut blocks = vec![];
    let mut block = vec![];
    // The block's first state, and every transaction tried in it with its verdict.
    let mut block_start = state.clone();
    let mut tried: Vec<(SignedTransaction, bool)> = vec![];
    for step in steps {
        let signed = transaction(&state, &model, step);
        let stateless = check_stateless(&state.chain_id(), &signed);
        prop_assert!(
            matches!(
                stateless,
                Ok(())
                    | Err(TxError::ZeroAmount
                        | TxError::InvalidValidators(_)
                        | TxError::AllowlistDuplicate)
            ),
            "stateless check: {:?}",
            stateless
        );
        let before = state.clone();
        let accepted = model.apply(step, signed.tx.nonce);
        let result = apply(&mut state, model.time_ms, &signed);
        prop_assert_eq!(result.is_ok(), accepted, "{:?} gave {:?}", step, result);
        tried.push((signed.clone(), accepted));
        if accepted {
            block.push(signed);
        } else {
            prop_assert_eq!(
                state.state_root(),
                before.state_root(),
                "a rejection changed the root"
            );
            prop_assert_eq!(state.meta(), before.meta(), "a rejection changed the chain");
            prop_assert!(
                state.objects().eq(before.objects()),
                "a rejection changed an object"
            );
            for address in addresses() {
                prop_assert_eq!(state.account(&address), before.account(&address));
            }
        }
        if step.end_block || std::ptr::eq(step, &steps[steps.len() - 1]) {
            check_scratch(&block_start, &std::mem::take(&mut tried), &state)?;
            // End the block: its transactions are applied; the height advances and a
            // validator set chosen in it takes over.
            let (next, receipts, root) = execute_block(state, model.time_ms, &[]);
            prop_assert!(receipts.is_empty());
            prop_assert_eq!(root, next.state_root());
            state = next;
            model.end_block();
            blocks.push(std::mem::take(&mut block));
            block_start = state.clone();
        }
        check_against_model(&state, &model)?;
    }
    Ok((state, blocks))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn ledger_matches_model(
        steps in proptest::collection::vec(step(), 1..80),
        capped in any::<bool>(),
    ) {
        let max_supply = capped.then_some(MAX_SUPPLY);
        let (state, blocks) = run(&steps, max_supply)?;

        // The same transactions in the same blocks give the same root.
        let mut replay = ChainState::from_genesis(&genesis(max_supply)).unwrap();
        for txs in &blocks {
            let time_ms = block_time(replay.next_height().0);
            let (next, receipts, _) = execute_block(replay, time_ms, txs);
            prop_assert!(receipts.iter().all(Result::is_ok));
            replay = next;
        }
        prop_assert_eq!(replay.meta().height, state.meta().height);
        prop_assert_eq!(replay.state_root(), state.state_root());
    }
}

#[test]
fn set_validators_takes_effect_from_the_next_height() {
    let signed_genesis = genesis(None);
    let state = ChainState::from_genesis(&signed_genesis).unwrap();
    let old = state.meta().validators.clone();
    let model = Model::default();
    let change = transaction(
        &state,
        &model,
        &Step {
            sender: 0,
            nonce_offset: 0,
            op: Op::SetValidators(ValidatorChoice::Valid(vec![4, 5])),
            end_block: true,
        },
    );
    let mut during = state.clone();
    apply(&mut during, 1, &change).unwrap();
    assert_eq!(
        during.meta().validators,
        old,
        "the block with the change is signed by the old set"
    );
    let (after, receipts, _) = execute_block(state, 1, &[change]);
    assert!(receipts[0].is_ok());
    let new = ValidatorSet::new(vec![host(4), host(5)]).unwrap();
    assert_eq!(*after.meta().validators, new);
    assert_ne!(after.meta().validators.hash(), old.hash());
    assert_eq!(after.meta().height.0, 1);
}

#[test]
fn errors_say_what_was_wrong() {
    let state = ChainState::from_genesis(&genesis(Some(10))).unwrap();
    let model = Model::default();
    let step = |sender, op| Step {
        sender,
        nonce_offset: 0,
        op,
        end_block: false,
    };
    let mut s = state.clone();
    let mint = transaction(
        &s,
        &model,
        &step(
            1,
            Op::Mint {
                to: 1,
                amount: 5,
                by_owner: false,
            },
        ),
    );
    let error = apply(&mut s, 1, &mint).unwrap_err();
    assert!(
        error.to_string().contains("only the chain owner"),
        "{error}"
    );

    let transfer = transaction(&s, &model, &step(1, Op::Transfer { to: 2, amount: 5 }));
    assert_eq!(
        apply(&mut s, 1, &transfer),
        Err(TxError::InsufficientBalance { have: 0, need: 5 })
    );

    let too_much = transaction(
        &s,
        &model,
        &step(
            0,
            Op::Mint {
                to: 1,
                amount: 11,
                by_owner: false,
            },
        ),
    );
    assert!(matches!(
        apply(&mut s, 1, &too_much),
        Err(TxError::SupplyCapExceeded { max: 10, .. })
    ));

    let mut other = transfer.clone();
    other.tx.chain_id = myriad_types::ChainId([0; 32]);
    assert!(matches!(
        check_stateless(&s.chain_id(), &other),
        Err(TxError::WrongChain { .. })
    ));
    let mut forged = transfer;
    forged.tx.nonce = 2;
    assert!(matches!(
        check_stateless(&s.chain_id(), &forged),
        Err(TxError::BadSignature(_))
    ));
    assert_eq!(s.state_root(), state.state_root());
}

#[test]
fn check_invariants_finds_each_broken_rule() {
    let state = ChainState::from_genesis(&genesis(Some(MAX_SUPPLY))).unwrap();
    let holder = key(1).address();
    let holding = Account {
        balance: 7,
        nonce: 0,
    };
    let with = |edit: &dyn Fn(&mut ChainMeta), balance: Amount| {
        let mut meta = state.meta().clone();
        edit(&mut meta);
        let account = Account { balance, ..holding };
        ChainState::from_parts(meta, [(holder, account)], []).check_invariants()
    };
    let issued = |meta: &mut ChainMeta| {
        meta.minted = 7;
        meta.supply = 7;
    };
    assert_eq!(with(&issued, 7), Ok(()));
    assert_eq!(
        with(&issued, 8),
        Err(InvariantError::Holdings {
            held: Some(8),
            supply: 7
        })
    );
    let unbalanced = |meta: &mut ChainMeta| {
        issued(meta);
        meta.burned = 1;
    };
    assert!(matches!(
        with(&unbalanced, 7),
        Err(InvariantError::Supply { .. })
    ));
    let over = |meta: &mut ChainMeta| {
        meta.minted = MAX_SUPPLY + 1;
        meta.supply = MAX_SUPPLY + 1;
    };
    assert!(matches!(
        with(&over, MAX_SUPPLY + 1),
        Err(InvariantError::OverMax { .. })
    ));
}
