//! State-machine test of the ledger against a simple model: random mints, transfers, burns,
//! validator and ownership changes from several accounts, valid and invalid, in blocks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use myriad_ledger::{
    apply, check_stateless, execute_block, verify_account, ChainMeta, ChainState, InvariantError,
    Scratch, TxError,
};
use myriad_testing::{tx, unsigned_genesis};
use myriad_types::{
    Account, Address, Amount, BoundedVec, Genesis, Memo, SecretKey, SignedGenesis,
    SignedTransaction, TxKind, Validator, ValidatorSet,
};
use proptest::prelude::*;

const ACCOUNTS: usize = 5;
const MAX_SUPPLY: Amount = 1_000_000;

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
    Mint { to: usize, amount: Amount },
    Transfer { to: usize, amount: Amount },
    Burn { amount: Amount },
    SetValidators(ValidatorChoice),
    TransferOwnership { to: usize },
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
        4 => (0..ACCOUNTS, amount()).prop_map(|(to, amount)| Op::Mint { to, amount }),
        6 => (0..ACCOUNTS, amount()).prop_map(|(to, amount)| Op::Transfer { to, amount }),
        2 => amount().prop_map(|amount| Op::Burn { amount }),
        1 => validators.prop_map(Op::SetValidators),
        1 => (0..ACCOUNTS).prop_map(|to| Op::TransferOwnership { to }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    (
        0..ACCOUNTS,
        prop_oneof![8 => Just(0i8), 1 => -1i8..=2],
        op(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(sender, nonce_offset, op, end_block)| Step {
            sender,
            nonce_offset,
            op,
            end_block,
        })
}

/// The model: plain maps and integers, rules written out once more.
#[derive(Debug, Clone, Default)]
struct Model {
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

    /// Applies a step; returns whether it was accepted.
    fn apply(&mut self, step: &Step, nonce: u64) -> bool {
        if nonce != self.nonces.get(&step.sender).copied().unwrap_or(0) + 1 {
            return false;
        }
        let sender = step.sender;
        let ok = match &step.op {
            Op::Mint { to, amount } => {
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
                if *amount > 0 && self.balance(sender) >= *amount {
                    *self.balances.entry(sender).or_default() -= amount;
                    *self.balances.entry(*to).or_default() += amount;
                    true
                } else {
                    false
                }
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
    }
}

fn transaction(state: &ChainState, model: &Model, step: &Step) -> SignedTransaction {
    let sender = key(step.sender);
    let right = model.nonces.get(&step.sender).copied().unwrap_or(0) + 1;
    let nonce = right.saturating_add_signed(i64::from(step.nonce_offset));
    let kind = match &step.op {
        Op::Mint { to, amount } => TxKind::Mint {
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
    };
    tx(state.chain_id(), &sender, nonce, kind)
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
    prop_assert_eq!(total, meta.supply, "balances add up to the supply");
    prop_assert_eq!(state.check_invariants(), Ok(()));
    let rebuilt = ChainState::from_parts(
        meta.clone(),
        state
            .accounts()
            .map(|(address, account)| (*address, *account)),
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
    let mut scratch = Scratch::new(start);
    for (signed, accepted) in tried {
        let result = scratch.apply(signed);
        prop_assert_eq!(result.is_ok(), *accepted, "scratch gave {:?}", result);
    }
    for address in addresses() {
        prop_assert_eq!(scratch.account(&address), end.account(&address));
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
                Ok(()) | Err(TxError::ZeroAmount | TxError::InvalidValidators(_))
            ),
            "stateless check: {:?}",
            stateless
        );
        let before = state.clone();
        let accepted = model.apply(step, signed.tx.nonce);
        let result = apply(&mut state, &signed);
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
            for address in addresses() {
                prop_assert_eq!(state.account(&address), before.account(&address));
            }
        }
        if step.end_block || std::ptr::eq(step, &steps[steps.len() - 1]) {
            check_scratch(&block_start, &std::mem::take(&mut tried), &state)?;
            // End the block: its transactions are applied; the height advances and a
            // validator set chosen in it takes over.
            let time_ms = state.next_height().0;
            let (next, receipts, root) = execute_block(state, time_ms, &[]);
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
            let time_ms = replay.next_height().0;
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
    apply(&mut during, &change).unwrap();
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
    let mint = transaction(&s, &model, &step(1, Op::Mint { to: 1, amount: 5 }));
    let error = apply(&mut s, &mint).unwrap_err();
    assert!(
        error.to_string().contains("only the chain owner"),
        "{error}"
    );

    let transfer = transaction(&s, &model, &step(1, Op::Transfer { to: 2, amount: 5 }));
    assert_eq!(
        apply(&mut s, &transfer),
        Err(TxError::InsufficientBalance { have: 0, need: 5 })
    );

    let too_much = transaction(&s, &model, &step(0, Op::Mint { to: 1, amount: 11 }));
    assert!(matches!(
        apply(&mut s, &too_much),
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
        ChainState::from_parts(meta, [(holder, account)]).check_invariants()
    };
    let issued = |meta: &mut ChainMeta| {
        meta.minted = 7;
        meta.supply = 7;
    };
    assert_eq!(with(&issued, 7), Ok(()));
    assert_eq!(
        with(&issued, 8),
        Err(InvariantError::Balances {
            balances: Some(8),
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
