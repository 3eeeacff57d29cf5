//! Escrows, payment channels and allowlists, case by case: what each accepts and what it
//! refuses, with the reason it gives.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use myriad_ledger::{apply, execute_block, ChainState, TxError};
use myriad_testing::{genesis, key, mint, transfer, tx};
use myriad_types::{
    BoundedVec, ChannelId, ChannelState, EscrowId, EscrowState, Hash, Memo, Object, ObjectKey,
    Secret, SecretKey, SignedTransaction, SignedVoucher, TxKind, Voucher,
};

const MINUTE: u64 = 60_000;

/// A chain (default parameters: locks of 1 minute to 7 days) where alice holds 1,000.
struct Chain {
    state: ChainState,
    owner: SecretKey,
    alice: SecretKey,
    bob: SecretKey,
    carol: SecretKey,
    /// The time of the block being applied to.
    now: u64,
}

impl Chain {
    fn new() -> Chain {
        let owner = key(1);
        let signed = genesis(&owner, &[(key(9).host_id(), 1)], 0);
        let mut chain = Chain {
            state: ChainState::from_genesis(&signed).unwrap(),
            owner,
            alice: key(2),
            bob: key(3),
            carol: key(4),
            now: 1_000,
        };
        let funding = mint(chain.id(), &chain.owner, 1, &chain.alice, 1_000);
        chain.apply(funding).unwrap();
        chain
    }

    fn id(&self) -> myriad_types::ChainId {
        self.state.chain_id()
    }

    fn nonce(&self, who: &SecretKey) -> u64 {
        self.state.account(&who.address()).nonce + 1
    }

    fn send(&mut self, who: &SecretKey, kind: TxKind) -> Result<(), TxError> {
        let signed = tx(self.id(), who, self.nonce(who), kind);
        self.apply(signed)
    }

    fn apply(&mut self, signed: SignedTransaction) -> Result<(), TxError> {
        apply(&mut self.state, self.now, &signed).map(drop)
    }

    fn balance(&self, who: &SecretKey) -> u128 {
        self.state.account(&who.address()).balance
    }

    /// Ends the block and moves time on by `ms`.
    fn later(&mut self, ms: u64) {
        let (next, _, _) = execute_block(self.state.clone(), self.now, &[]);
        self.state = next;
        self.now += ms;
        assert_eq!(self.state.check_invariants(), Ok(()));
    }

    fn object(&self, key: ObjectKey) -> Object {
        self.state.object(&key).cloned().expect("the object")
    }
}

fn lock(to: &SecretKey, amount: u128, secret: &Secret, expires_at_ms: u64) -> TxKind {
    TxKind::Lock {
        to: to.address(),
        amount,
        hash_lock: secret.hash_lock(),
        expires_at_ms,
        // What a swap with an exchanger names: the quote it takes.
        memo: Memo::new(vec![0xab; 32]).expect("a short memo"),
    }
}

#[test]
fn an_escrow_is_claimed_once_with_its_secret_before_it_expires() {
    let mut chain = Chain::new();
    let secret = Secret([7; 32]);
    let expires = chain.now + 10 * MINUTE;
    let nonce = chain.nonce(&chain.alice);
    let (alice, bob, carol) = (chain.alice.clone(), chain.bob.clone(), chain.carol.clone());
    chain
        .send(&alice, lock(&bob, 300, &secret, expires))
        .unwrap();
    let id = EscrowId::derive(&chain.id(), &alice.address(), nonce);
    assert_eq!(chain.balance(&alice), 700);
    assert_eq!(chain.state.check_invariants(), Ok(()));

    // A wrong secret is refused, naming the hash lock.
    let wrong = chain.send(
        &carol,
        TxKind::Claim {
            escrow: id,
            secret: Secret([8; 32]),
        },
    );
    assert_eq!(
        wrong,
        Err(TxError::WrongSecret {
            hash_lock: secret.hash_lock()
        })
    );
    // Anyone may claim with the right one; the funds go to bob, not to carol who sent it.
    chain.later(MINUTE);
    chain
        .send(&carol, TxKind::Claim { escrow: id, secret })
        .unwrap();
    assert_eq!(chain.balance(&bob), 300);
    assert_eq!(chain.balance(&carol), 0);
    let Object::Escrow(escrow) = chain.object(ObjectKey::Escrow(id)) else {
        panic!("an escrow");
    };
    assert_eq!(
        escrow.state,
        EscrowState::Claimed {
            secret,
            at_ms: chain.now
        }
    );
    assert_eq!(
        &*escrow.memo, &[0xab; 32],
        "the escrow keeps its lock's memo"
    );
    // A second claim and a refund after expiry are refused: it closed once.
    let again = chain.send(&bob, TxKind::Claim { escrow: id, secret });
    assert_eq!(
        again,
        Err(TxError::EscrowClosed {
            escrow: id,
            how: "claimed"
        })
    );
    chain.later(10 * MINUTE);
    let refund = chain.send(&alice, TxKind::Refund { escrow: id });
    assert!(refund.unwrap_err().to_string().contains("already claimed"));
    assert_eq!(chain.balance(&alice), 700);
}

#[test]
fn an_escrow_is_refunded_to_its_locker_from_its_expiry_and_not_before() {
    let mut chain = Chain::new();
    let secret = Secret([7; 32]);
    let expires = chain.now + 2 * MINUTE;
    let nonce = chain.nonce(&chain.alice);
    let (alice, bob, carol) = (chain.alice.clone(), chain.bob.clone(), chain.carol.clone());
    chain
        .send(&alice, lock(&bob, 300, &secret, expires))
        .unwrap();
    let id = EscrowId::derive(&chain.id(), &alice.address(), nonce);

    let early = chain.send(&carol, TxKind::Refund { escrow: id });
    assert_eq!(
        early,
        Err(TxError::NotExpired {
            expires_at_ms: expires,
            time_ms: chain.now
        })
    );
    chain.later(2 * MINUTE);
    assert_eq!(chain.now, expires);
    // At its expiry the secret no longer claims it; anyone may refund it, to alice.
    let late = chain.send(&bob, TxKind::Claim { escrow: id, secret });
    assert_eq!(
        late,
        Err(TxError::Expired {
            expires_at_ms: expires,
            time_ms: chain.now
        })
    );
    chain.send(&carol, TxKind::Refund { escrow: id }).unwrap();
    assert_eq!(chain.balance(&alice), 1_000);
    assert_eq!(chain.balance(&bob), 0);
    let again = chain.send(&alice, TxKind::Refund { escrow: id });
    assert!(again.unwrap_err().to_string().contains("already refunded"));
}

#[test]
fn a_lock_is_refused_outside_the_chain_lock_bounds_and_an_unknown_escrow_is_named() {
    let mut chain = Chain::new();
    let (alice, bob) = (chain.alice.clone(), chain.bob.clone());
    let secret = Secret([1; 32]);
    let now = chain.now;
    for expires in [now, now + MINUTE - 1, now + 7 * 24 * 60 * MINUTE + 1] {
        let refused = chain.send(&alice, lock(&bob, 1, &secret, expires));
        assert!(
            matches!(refused, Err(TxError::LockExpiry { .. })),
            "{refused:?}"
        );
    }
    chain
        .send(&alice, lock(&bob, 1, &secret, now + MINUTE))
        .unwrap();
    let unknown = EscrowId(Hash::digest(b"none").0);
    let error = chain
        .send(&bob, TxKind::Refund { escrow: unknown })
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("there is no {unknown} on this chain")
    );
    let poor = chain.send(&bob, lock(&alice, 1, &secret, now + MINUTE));
    assert_eq!(poor, Err(TxError::InsufficientBalance { have: 0, need: 1 }));
}

#[test]
fn a_channel_pays_its_payee_the_last_voucher_and_the_rest_back() {
    let mut chain = Chain::new();
    let (alice, bob, carol) = (chain.alice.clone(), chain.bob.clone(), chain.carol.clone());
    let nonce = chain.nonce(&alice);
    let open = TxKind::OpenChannel {
        payee: bob.address(),
        amount: 500,
        expires_at_ms: chain.now + 60 * MINUTE,
    };
    chain.send(&alice, open).unwrap();
    let id = ChannelId::derive(&chain.id(), &alice.address(), nonce);
    chain
        .send(
            &alice,
            TxKind::TopUpChannel {
                channel: id,
                amount: 100,
            },
        )
        .unwrap();
    assert_eq!(chain.balance(&alice), 400);
    let chain_id = chain.id();
    let voucher = |cumulative, signer: &SecretKey| {
        let voucher = Voucher {
            chain_id,
            channel: id,
            cumulative,
        };
        TxKind::CloseChannel {
            channel: id,
            voucher: Box::new(SignedVoucher::sign(voucher, signer)),
        }
    };
    // Only the payee closes, only with the payer's voucher, never for more than is in it.
    let by_carol = chain.send(&carol, voucher(10, &alice));
    assert!(matches!(by_carol, Err(TxError::NotChannelParty { .. })));
    let forged = chain.send(&bob, voucher(10, &bob));
    assert!(matches!(forged, Err(TxError::VoucherSignature(_))));
    let over = chain.send(&bob, voucher(601, &alice));
    assert_eq!(
        over,
        Err(TxError::VoucherOverAmount {
            cumulative: 601,
            amount: 600
        })
    );
    let early = chain.send(&alice, TxKind::RefundChannel { channel: id });
    assert!(matches!(early, Err(TxError::NotExpired { .. })));
    chain.later(MINUTE);
    chain.send(&bob, voucher(250, &alice)).unwrap();
    assert_eq!(chain.balance(&bob), 250);
    assert_eq!(chain.balance(&alice), 750);
    let Object::Channel(channel) = chain.object(ObjectKey::Channel(id)) else {
        panic!("a channel");
    };
    assert_eq!(
        channel.state,
        ChannelState::Closed {
            paid: 250,
            at_ms: chain.now
        }
    );
    let again = chain.send(&bob, voucher(300, &alice));
    assert!(again.unwrap_err().to_string().contains("already closed"));
}

#[test]
fn an_allowlist_limits_payments_and_its_changes_wait_for_its_delay() {
    let mut chain = Chain::new();
    let (alice, bob, carol) = (chain.alice.clone(), chain.bob.clone(), chain.carol.clone());
    let list = |addresses: &[&SecretKey], delay_ms| TxKind::SetAllowlist {
        addresses: BoundedVec::new(addresses.iter().map(|k| k.address()).collect()).unwrap(),
        delay_ms,
    };
    let pay = |to: &SecretKey, amount| TxKind::Transfer {
        to: to.address(),
        amount,
        memo: Default::default(),
    };
    // Nothing to clear yet; the first list is in force at once.
    assert_eq!(chain.send(&alice, list(&[], 0)), Err(TxError::NoAllowlist));
    chain.send(&alice, list(&[&bob], 10 * MINUTE)).unwrap();
    assert_eq!(
        chain.send(&alice, pay(&carol, 1)),
        Err(TxError::NotAllowlisted {
            to: carol.address()
        })
    );
    let secret = Secret([3; 32]);
    let to_carol = lock(&carol, 1, &secret, chain.now + MINUTE);
    assert!(matches!(
        chain.send(&alice, to_carol.clone()),
        Err(TxError::NotAllowlisted { .. })
    ));
    chain.send(&alice, pay(&bob, 1)).unwrap();
    chain.send(&alice, pay(&alice, 1)).unwrap();

    // Clearing it waits for the delay: a thief with the key cannot pay carol meanwhile.
    chain.send(&alice, list(&[], 0)).unwrap();
    chain.later(10 * MINUTE - 1);
    assert!(matches!(
        chain.send(&alice, pay(&carol, 1)),
        Err(TxError::NotAllowlisted { .. })
    ));
    chain.later(1);
    chain.send(&alice, pay(&carol, 1)).unwrap();
    chain
        .send(&alice, lock(&carol, 1, &secret, chain.now + MINUTE))
        .unwrap();
    assert_eq!(chain.balance(&carol), 1);

    // Minting is the owner's, not a payment: an allowlist does not limit it.
    let owner = chain.owner.clone();
    chain.send(&owner, list(&[&bob], 0)).unwrap();
    let to_carol = mint(chain.id(), &owner, chain.nonce(&owner), &carol, 5);
    chain.apply(to_carol).unwrap();
    let refused = transfer(chain.id(), &owner, chain.nonce(&owner), &carol, 1);
    assert!(matches!(
        chain.apply(refused),
        Err(TxError::NotAllowlisted { .. })
    ));
}
