//! Cross-module tests: replay protection, batch verification, certificates, decoders.

use borsh::BorshSerialize;
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::*;

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed([seed; 32])
}

fn chain(seed: u8) -> ChainId {
    ChainId([seed; 32])
}

fn transfer(chain_id: ChainId, sender: &SecretKey, nonce: u64) -> SignedTransaction {
    let tx = Transaction {
        chain_id,
        sender: sender.address(),
        nonce,
        kind: TxKind::Transfer {
            to: key(200).address(),
            amount: 5,
            memo: Memo::new(b"rent".to_vec()).unwrap(),
        },
    };
    let signature = sender.sign(&tx);
    SignedTransaction { tx, signature }
}

fn precommit(chain_id: ChainId, block: Hash) -> Vote {
    Vote {
        chain_id,
        height: Height(3),
        round: Round(1),
        step: VoteStep::Precommit,
        block_hash: Some(block),
    }
}

/// Raw bytes signed under a chosen domain, to show that domains never overlap.
#[derive(BorshSerialize)]
struct Raw<const VOTE: bool>(Vec<u8>);

impl Signable for Raw<true> {
    const DOMAIN: Domain = Domain::Vote;
    fn chain_id(&self) -> ChainId {
        chain(1)
    }
}

impl Signable for Raw<false> {
    const DOMAIN: Domain = Domain::Transaction;
    fn chain_id(&self) -> ChainId {
        chain(1)
    }
}

#[test]
fn transaction_signed_for_one_chain_is_refused_on_another() {
    let sender = key(1);
    let signed = transfer(chain(1), &sender, 1);
    assert!(signed.verify_signature().is_ok());

    let mut replayed = signed.clone();
    replayed.tx.chain_id = chain(2);
    assert!(matches!(
        replayed.verify_signature(),
        Err(SignatureError::Invalid(_))
    ));
}

#[test]
fn vote_signed_for_one_chain_is_refused_on_another() {
    let host = key(2);
    let vote = precommit(chain(1), Hash::digest(b"block"));
    let signed = SignedVote {
        signature: sign_alone(&host, &vote),
        vote: vote.clone(),
        voter: host.host_id(),
    };
    assert!(signed.verify_signature().is_ok());

    let mut replayed = signed;
    replayed.vote.chain_id = chain(2);
    assert!(replayed.verify_signature().is_err());
}

#[test]
fn a_signature_for_one_message_type_is_not_valid_for_another() {
    let signer = key(3);
    let body = encode(&transfer(chain(1), &signer, 1).tx);
    let as_vote = Raw::<true>(body.clone());
    let as_tx = Raw::<false>(body);
    let signature = signer.sign(&as_vote);
    assert!(verify(&signer.public_key(), &as_vote, &signature).is_ok());
    assert!(verify(&signer.public_key(), &as_tx, &signature).is_err());
    assert_ne!(Domain::Vote.tag(), Domain::Transaction.tag());
}

/// RFC 8032, section 7.1, test 1: keys and signatures are standard ed25519, so a wallet key
/// made by any ed25519 library works here and the reverse.
#[test]
fn keys_and_signatures_are_rfc_8032_ed25519() {
    let unhex = |text: &str| -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    };
    let seed = unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    let key = SecretKey::from_seed(seed.try_into().unwrap());
    assert_eq!(
        key.public_key().to_vec(),
        unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    );
    let signature = key.sign_bytes(b"");
    assert_eq!(
        signature.0.to_vec(),
        unhex(concat!(
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155",
            "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ))
    );
    let check = |message: &[u8]| SignatureCheck {
        public_key: key.public_key(),
        message: message.to_vec(),
        signature,
    };
    assert!(check(b"").verify().is_ok());
    assert!(check(b"x").verify().is_err());
}

#[test]
fn batch_verification_agrees_with_single_verification() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let txs: Vec<SignedTransaction> = (0..32)
        .map(|i| transfer(chain(1), &key(i), u64::from(i) + 1))
        .collect();

    let mut batch = BatchVerifier::new();
    for signed in &txs {
        assert!(signed.verify_signature().is_ok());
        batch.queue(&signed.tx.sender.0, &signed.tx, &signed.signature);
    }
    assert_eq!(batch.len(), 32);
    assert!(batch.verify(&mut rng).is_ok());

    let mut tampered = txs;
    tampered[17].tx.nonce += 1;
    let mut batch = BatchVerifier::new();
    for signed in &tampered {
        batch.queue(&signed.tx.sender.0, &signed.tx, &signed.signature);
    }
    assert!(tampered[17].verify_signature().is_err());
    assert!(matches!(
        batch.verify(&mut rng),
        Err(SignatureError::BatchInvalid(32))
    ));
}

fn validators(count: u8) -> (Vec<SecretKey>, ValidatorSet) {
    let keys: Vec<SecretKey> = (0..count).map(|i| key(100 + i)).collect();
    let set = ValidatorSet::new(
        keys.iter()
            .map(|k| Validator {
                host: k.host_id(),
                power: 10,
            })
            .collect(),
    )
    .unwrap();
    (keys, set)
}

/// A signer's tick signature over `message` signed among `others` other messages of its tick,
/// at a place that differs by signer.
fn signed_in_tick<T: Signable>(signer: &SecretKey, message: &T, others: usize) -> TickSignature {
    let place = usize::from(signer.public_key()[0]) % (others + 1);
    let mut leaves: Vec<Hash> = (0..others)
        .map(|i| Hash::digest(&(i as u64).to_le_bytes()))
        .collect();
    leaves.insert(place, tick_leaf(message));
    sign_tick(signer, &leaves).swap_remove(place)
}

fn certificate_for(block: Hash, signers: &[&SecretKey]) -> Certificate {
    let vote = precommit(chain(1), block);
    let signatures = signers
        .iter()
        .map(|k| CommitSignature {
            host: k.host_id(),
            signature: signed_in_tick(k, &vote, 6),
        })
        .collect();
    Certificate {
        chain_id: chain(1),
        height: vote.height,
        round: vote.round,
        block_hash: block,
        signatures: BoundedVec::new(signatures).unwrap(),
    }
}

fn certificate(signers: &[&SecretKey]) -> Certificate {
    certificate_for(Hash::digest(b"block"), signers)
}

/// What a third party does with a block it was given: check its certificate from the block,
/// the chain's validator set and the certificate's bytes alone — no host to ask.
fn certifies(block: &Block, set: &ValidatorSet, certificate_bytes: &[u8]) -> bool {
    let Ok(certificate) = decode::<Certificate>("certificate", certificate_bytes) else {
        return false;
    };
    certificate.block_hash == block.hash()
        && certificate.chain_id == block.header.chain_id
        && certificate.height == block.header.height
        && certificate.verify(set).is_ok()
}

#[test]
fn a_certificate_verifies_from_the_block_the_validators_and_itself_alone() {
    let (keys, set) = validators(4);
    let mut block = sample_block();
    block.header.height = precommit(chain(1), Hash::digest(b"")).height;
    let bytes = encode(&certificate_for(
        block.hash(),
        &[&keys[0], &keys[1], &keys[2]],
    ));
    assert!(certifies(&block, &set, &bytes));

    // One altered byte anywhere in a signer's tick signature — its place, a hash of its path,
    // the signature over the root — and the certificate proves nothing.
    let certificate: Certificate = decode("certificate", &bytes).unwrap();
    let tick = encode(&certificate.signatures[1].signature);
    let start = bytes
        .windows(tick.len())
        .position(|w| w == tick.as_slice())
        .unwrap();
    for offset in 0..tick.len() {
        let mut altered = bytes.clone();
        altered[start + offset] ^= 0x10;
        assert!(
            !certifies(&block, &set, &altered),
            "byte {offset} of a tick signature altered, yet the certificate verifies"
        );
    }
    // Nor does it prove another block.
    let mut other = block.clone();
    other.header.timestamp_ms += 1;
    assert!(!certifies(&other, &set, &bytes));
}

#[test]
fn certificate_needs_more_than_two_thirds_of_power() {
    let (keys, set) = validators(4);
    assert!(certificate(&[&keys[0], &keys[1], &keys[2]])
        .verify(&set)
        .is_ok());
    assert_eq!(
        certificate(&[&keys[0], &keys[1]]).verify(&set),
        Err(CertificateError::NoQuorum {
            power: 20,
            total: 40
        })
    );
}

#[test]
fn certificate_refuses_duplicate_unknown_and_bad_signers() {
    let (keys, set) = validators(4);
    let twice = certificate(&[&keys[0], &keys[1], &keys[1]]);
    assert!(matches!(
        twice.verify(&set),
        Err(CertificateError::DuplicateSigner(_))
    ));

    let stranger = key(9);
    let unknown = certificate(&[&keys[0], &keys[1], &stranger]);
    assert!(matches!(
        unknown.verify(&set),
        Err(CertificateError::UnknownSigner(_))
    ));

    let mut other_chain = certificate(&[&keys[0], &keys[1], &keys[2]]);
    other_chain.chain_id = chain(2);
    assert!(matches!(
        other_chain.verify(&set),
        Err(CertificateError::BadSignature { .. })
    ));
}

#[test]
fn validator_set_rules() {
    let v = |seed: u8, power| Validator {
        host: key(seed).host_id(),
        power,
    };
    assert_eq!(ValidatorSet::new(vec![]), Err(ValidatorSetError::Empty));
    assert!(matches!(
        ValidatorSet::new(vec![v(1, 1), v(2, 0)]),
        Err(ValidatorSetError::ZeroPower(_))
    ));
    assert!(matches!(
        ValidatorSet::new(vec![v(1, 1), v(2, 1), v(1, 3)]),
        Err(ValidatorSetError::Duplicate(_))
    ));
    let many = (0..=VALIDATORS_MAX as u8).map(|i| v(i, 1)).collect();
    assert_eq!(
        ValidatorSet::new(many),
        Err(ValidatorSetError::TooMany(VALIDATORS_MAX + 1))
    );
    assert_eq!(
        ValidatorSet::new(vec![v(1, u64::MAX), v(2, 1)]),
        Err(ValidatorSetError::PowerOverflow)
    );

    let a = ValidatorSet::new(vec![v(1, 1), v(2, 2)]).unwrap();
    let b = ValidatorSet::new(vec![v(2, 2), v(1, 1)]).unwrap();
    assert_eq!(
        a.hash(),
        b.hash(),
        "order of the input list does not matter"
    );
    assert_eq!(decode::<ValidatorSet>("set", &encode(&a)).unwrap(), a);
}

fn genesis(owner: &SecretKey) -> SignedGenesis {
    let genesis = Genesis {
        owner: owner.address(),
        symbol: Symbol::new("ALICE").unwrap(),
        decimals: 2,
        max_supply: Some(1_000_000),
        validators: BoundedVec::new(vec![Validator {
            host: key(50).host_id(),
            power: 1,
        }])
        .unwrap(),
        created_at_ms: 1_700_000_000_000,
        salt: 1,
        params: ChainParams::default(),
        kind: ChainKind::Personal,
    };
    SignedGenesis {
        signature: owner.sign(&genesis),
        genesis,
    }
}

#[test]
fn genesis_is_signed_by_its_owner_and_names_its_chain() {
    let owner = key(4);
    let signed = genesis(&owner);
    assert!(signed.verify().is_ok());
    assert_eq!(signed.genesis.chain_id(), signed.genesis.clone().chain_id());

    let mut other = signed.clone();
    other.genesis.salt = 2;
    assert_ne!(other.genesis.chain_id(), signed.genesis.chain_id());
    assert!(matches!(other.verify(), Err(GenesisError::Signature(_))));

    let mut decimals = signed.genesis.clone();
    decimals.decimals = DECIMALS_MAX + 1;
    let resigned = SignedGenesis {
        signature: owner.sign(&decimals),
        genesis: decimals,
    };
    assert_eq!(
        resigned.verify(),
        Err(GenesisError::Decimals(DECIMALS_MAX + 1))
    );

    assert!(Symbol::new("alice").is_err());
    assert!(Symbol::new("").is_err());
    assert!(Symbol::new("ABCDEFGHIJKLM").is_err());

    let mut slow = signed.genesis.clone();
    slow.params.msg_delay_ms = CLOCK_PARAM_MS_MAX + 1;
    let resigned = SignedGenesis::sign(slow, &owner);
    assert_eq!(
        resigned.verify(),
        Err(GenesisError::ClockParam {
            name: "msg_delay_ms",
            value: CLOCK_PARAM_MS_MAX + 1
        })
    );

    let mut capped_at_zero = signed.genesis.clone();
    capped_at_zero.max_supply = Some(0);
    assert_eq!(
        SignedGenesis::sign(capped_at_zero.clone(), &owner).verify(),
        Err(GenesisError::ZeroMaxSupply)
    );
    capped_at_zero.max_supply = Some(1);
    assert!(SignedGenesis::sign(capped_at_zero, &owner).verify().is_ok());

    for (min, max) in [(2, 1), (0, LOCK_MS_MAX + 1)] {
        let mut locks = signed.genesis.clone();
        locks.params.lock_min_ms = min;
        locks.params.lock_max_ms = max;
        assert_eq!(
            SignedGenesis::sign(locks, &owner).verify(),
            Err(GenesisError::LockBounds { min, max })
        );
    }
}

#[test]
fn a_fresh_proposal_is_timely_within_precision_and_message_delay_of_its_arrival() {
    let params = ChainParams {
        precision_ms: 500,
        msg_delay_ms: 2_000,
        ..ChainParams::default()
    };
    let received = 1_000_000;
    let timely = |block_time, round| params.is_timely(block_time, received, Round(round));
    // Sent up to the message delay ago, by a clock up to the precision behind or ahead.
    assert!(timely(received, 0));
    assert!(timely(received + 500, 0));
    assert!(
        !timely(received + 501, 0),
        "from further in the future than clocks drift"
    );
    assert!(timely(received - 2_500, 0));
    assert!(
        !timely(received - 2_501, 0),
        "older than the message delay allows"
    );
    // The delay grows by a tenth each round, so that some round is slow enough for a
    // network slower than the chain's parameters.
    assert!(timely(received - 2_700, 1));
    assert!(!timely(received - 2_701, 1));
    assert!(timely(received - 4_500, 10));
    // At the last round the delay has outgrown any age, without overflowing; the future
    // stays bounded by the precision.
    assert!(timely(0, u32::MAX));
    assert!(!timely(received + 501, u32::MAX));
}

#[test]
fn tx_root_depends_on_every_transaction_and_their_order() {
    let txs: Vec<SignedTransaction> = (1..=5).map(|n| transfer(chain(1), &key(1), n)).collect();
    let root = tx_root(&txs);
    assert_eq!(tx_root(&[]), Hash::ZERO);
    assert_eq!(tx_root(&txs[..1]), txs[0].hash());
    let mut swapped = txs.clone();
    swapped.swap(1, 2);
    assert_ne!(tx_root(&swapped), root);
    assert_ne!(tx_root(&txs[..4]), root);
}

fn sample_block() -> Block {
    let owner = key(5);
    let lock = {
        let tx = Transaction {
            chain_id: chain(1),
            sender: owner.address(),
            nonce: 3,
            kind: TxKind::Lock {
                to: key(6).address(),
                amount: 300,
                hash_lock: Secret([7; 32]).hash_lock(),
                expires_at_ms: 60_000,
                memo: Memo::new(vec![9; 32]).unwrap(),
            },
        };
        SignedTransaction {
            signature: owner.sign(&tx),
            tx,
        }
    };
    let txs = vec![transfer(chain(1), &owner, 1), lock, {
        let tx = Transaction {
            chain_id: chain(1),
            sender: owner.address(),
            nonce: 2,
            kind: TxKind::SetValidators {
                validators: genesis(&owner).genesis.validators,
            },
        };
        SignedTransaction {
            signature: owner.sign(&tx),
            tx,
        }
    }];
    Block {
        header: BlockHeader {
            chain_id: chain(1),
            height: Height(2),
            prev_hash: Hash::digest(b"prev"),
            timestamp_ms: 5,
            proposer: key(6).host_id(),
            tx_root: tx_root(&txs),
            state_root: Hash::digest(b"state"),
            validators_hash: Hash::digest(b"validators"),
        },
        txs: BoundedVec::new(txs).unwrap(),
    }
}

fn proposal(block: &Block, proposer: &SecretKey) -> SignedProposal {
    let proposal = Proposal {
        chain_id: block.header.chain_id,
        height: block.header.height,
        round: Round(2),
        block_hash: block.hash(),
        valid_round: Some(Round(1)),
    };
    SignedProposal {
        signature: sign_alone(proposer, &proposal),
        proposal,
        proposer: proposer.host_id(),
        block: block.clone(),
    }
}

#[test]
fn a_proposal_must_carry_the_block_it_names() {
    let block = sample_block();
    let signed = proposal(&block, &key(8));
    assert!(signed.verify().is_ok());
    let mut swapped = signed.clone();
    swapped.block.header.timestamp_ms += 1;
    assert!(matches!(
        swapped.verify(),
        Err(ProposalError::OtherBlock { .. })
    ));
    let mut other_txs = signed.clone();
    let mut txs = other_txs.block.txs.to_vec();
    txs.pop();
    other_txs.block.txs = BoundedVec::new(txs).unwrap();
    assert_eq!(other_txs.verify(), Err(ProposalError::Transactions));
    let mut replayed = signed;
    replayed.proposal.chain_id = chain(9);
    assert!(replayed.verify().is_err());
}

/// Every decoder that reads bytes from outside, as (name, canonical sample encoding, decode
/// then re-encode). The fuzz targets under `fuzz/` cover the same list.
#[allow(clippy::type_complexity)]
fn decoders() -> Vec<(&'static str, Vec<u8>, fn(&[u8]) -> Option<Vec<u8>>)> {
    fn round<T: borsh::BorshDeserialize + BorshSerialize>(bytes: &[u8]) -> Option<Vec<u8>> {
        decode::<T>("fuzz", bytes).ok().map(|value| encode(&value))
    }
    let block = sample_block();
    let (keys, _) = validators(4);
    let vote = SignedVote {
        vote: precommit(chain(1), block.hash()),
        voter: keys[0].host_id(),
        signature: signed_in_tick(&keys[0], &precommit(chain(1), block.hash()), 3),
    };
    vec![
        (
            "transaction",
            encode(&block.txs[0]),
            round::<SignedTransaction>,
        ),
        ("block", encode(&block), round::<Block>),
        ("vote", encode(&vote), round::<SignedVote>),
        (
            "tick_signature",
            encode(&vote.signature),
            round::<TickSignature>,
        ),
        (
            "certificate",
            encode(&certificate(&[&keys[0], &keys[1], &keys[2]])),
            round::<Certificate>,
        ),
        ("genesis", encode(&genesis(&key(7))), round::<SignedGenesis>),
        (
            "proposal",
            encode(&proposal(&block, &keys[1])),
            round::<SignedProposal>,
        ),
        ("voucher", encode(&sample_voucher()), round::<SignedVoucher>),
        ("object", encode(&sample_escrow()), round::<Object>),
        ("swap_offer", encode(&sample_offer()), round::<SwapOffer>),
        ("quote", encode(&sample_quote()), round::<SignedQuote>),
    ]
}

fn sample_quote() -> SignedQuote {
    let exchanger = key(8);
    let quote = Quote {
        exchanger: exchanger.address(),
        give_chain: chain(1),
        get_chain: chain(2),
        rate: Rate { give: 3, get: 2 },
        min_give: 10,
        max_give: 1_000_000,
        expires_at_ms: 60_000,
        give_account: key(9).address(),
        get_account: key(10).address(),
        sequence: 7,
    };
    SignedQuote::sign(quote, &exchanger)
}

#[test]
fn a_quote_is_fixed_in_size_signed_under_its_own_domain_and_checked_for_form_and_time() {
    let signed = sample_quote();
    assert_eq!(encode(&signed).len(), SIGNED_QUOTE_BYTES);
    assert_eq!(SIGNED_QUOTE_BYTES, 288);
    signed.verify_signature().unwrap();
    // The same bytes signed as a transaction do not verify as a quote.
    let as_tx = Raw::<false>(encode(&signed.quote));
    let wrong = SignedQuote {
        signature: key(8).sign(&as_tx),
        ..signed.clone()
    };
    assert!(wrong.verify_signature().is_err());
    let mut other = signed.clone();
    other.quote.sequence += 1;
    assert!(other.verify_signature().is_err());
    assert_ne!(other.hash(), signed.hash());

    let quote = &signed.quote;
    assert_eq!(quote.check(0), Ok(()));
    assert_eq!(
        quote.check(60_000),
        Err(QuoteError::Expired {
            expires_at_ms: 60_000,
            now_ms: 60_000
        })
    );
    let far = Quote {
        expires_at_ms: QUOTE_LIFETIME_MAX_MS + 1,
        ..quote.clone()
    };
    assert!(matches!(far.check(0), Err(QuoteError::TooLong { .. })));
    assert_eq!(far.check(1), Ok(()));
    let same = Quote {
        get_chain: quote.give_chain,
        ..quote.clone()
    };
    assert_eq!(same.check_form(), Err(QuoteError::SameChain));
    let zero = Quote {
        rate: Rate { give: 0, get: 2 },
        ..quote.clone()
    };
    assert_eq!(
        zero.check_form(),
        Err(QuoteError::ZeroRate { give: 0, get: 2 })
    );
    let inverted = Quote {
        min_give: 5,
        max_give: 4,
        ..quote.clone()
    };
    assert_eq!(
        inverted.check_form(),
        Err(QuoteError::Bounds { min: 5, max: 4 })
    );
    let huge = Quote {
        rate: Rate {
            give: 1,
            get: u64::MAX,
        },
        max_give: u128::MAX / 2,
        ..quote.clone()
    };
    assert_eq!(huge.check_form(), Err(QuoteError::Overflow(u128::MAX / 2)));
}

#[test]
fn a_quote_converts_exactly_rounding_down_and_only_within_its_bounds() {
    let quote = sample_quote().quote;
    // 3 give buy 2 get.
    assert_eq!(quote.get_for(9), None);
    assert_eq!(quote.get_for(10), Some(6));
    assert_eq!(quote.get_for(11), Some(7));
    assert_eq!(quote.get_for(1_000_000), Some(666_666));
    assert_eq!(quote.get_for(1_000_001), None);
    let rate = Rate {
        give: 7,
        get: u64::MAX,
    };
    // Exact where amount · get passes u128.
    let amount = u128::MAX / u128::from(u64::MAX) * 7;
    assert_eq!(
        rate.convert(amount),
        Some(amount / 7 * u128::from(u64::MAX))
    );
    assert_eq!(rate.convert(u128::MAX), None);
    assert_eq!(Rate { give: 3, get: 2 }.to_decimal(4), "0.6666");
    assert_eq!(Rate { give: 1, get: 25 }.to_decimal(2), "25.00");
    use std::cmp::Ordering;
    let (a, b) = (Rate { give: 3, get: 2 }, Rate { give: 4, get: 3 });
    assert_eq!(a.cmp_for_holder(&b), Ordering::Less);
    assert_eq!(b.cmp_for_holder(&a), Ordering::Greater);
    assert_eq!(a.cmp_for_holder(&Rate { give: 6, get: 4 }), Ordering::Equal);
    assert_eq!(a.inverse(), Rate { give: 2, get: 3 });
}

fn sample_offer() -> SwapOffer {
    SwapOffer {
        maker: key(5).address(),
        taker: key(6).address(),
        counter_locker: key(7).address(),
        give_chain: chain(1),
        give: 1_000,
        get_chain: chain(2),
        get: 500,
        hash_lock: Secret([7; 32]).hash_lock(),
        escrow: EscrowId::derive(&chain(1), &key(5).address(), 1),
        expires_at_ms: 7_200_000,
    }
}

#[test]
fn a_swap_offer_reads_back_from_its_text_and_nothing_else_does() {
    let offer = sample_offer();
    assert_eq!(encode(&offer).len(), 264);
    let text = offer.to_text();
    assert!(text.starts_with(SWAP_OFFER_PREFIX));
    assert_eq!(text.len(), 542);
    assert_eq!(text.parse::<SwapOffer>(), Ok(offer.clone()));
    assert_eq!(
        text.to_uppercase()
            .replace("MYRIAD-SWAP-2:", SWAP_OFFER_PREFIX)
            .parse::<SwapOffer>(),
        Ok(offer.clone())
    );
    for bad in [
        format!("{SWAP_OFFER_PREFIX}zz"),
        format!("{SWAP_OFFER_PREFIX}0"),
        text.trim_start_matches(SWAP_OFFER_PREFIX).to_owned(),
        format!("{text}00"),
        text[..text.len() - 2].to_owned(),
        // An offer of the first form, which named no counter-locker.
        text.replace(SWAP_OFFER_PREFIX, "myriad-swap-1:"),
    ] {
        assert!(bad.parse::<SwapOffer>().is_err(), "{bad}");
    }
    // The taker's lock expires halfway to the maker's.
    assert_eq!(offer.counter_expiry(7_000_000), 7_100_000);
}

fn sample_voucher() -> SignedVoucher {
    let voucher = Voucher {
        chain_id: chain(1),
        channel: ChannelId::derive(&chain(1), &key(5).address(), 3),
        cumulative: 250,
    };
    SignedVoucher::sign(voucher, &key(5))
}

/// A claimed escrow: every field set, the secret revealed.
fn sample_escrow() -> Object {
    let secret = Secret([7; 32]);
    Object::Escrow(Escrow {
        id: EscrowId::derive(&chain(1), &key(5).address(), 4),
        locker: key(5).address(),
        to: key(6).address(),
        amount: 300,
        hash_lock: secret.hash_lock(),
        expires_at_ms: 60_000,
        memo: Memo::new(vec![9; 32]).unwrap(),
        state: EscrowState::Claimed {
            secret,
            at_ms: 30_000,
        },
    })
}

#[test]
fn a_secret_opens_the_sha256_hash_lock_and_a_voucher_its_payers_signature_only() {
    // SHA-256 of 32 zero bytes, as Bitcoin's and Lightning's hash locks compute it.
    assert_eq!(
        Secret([0; 32]).hash_lock().to_string(),
        "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
    );
    let voucher = sample_voucher();
    assert!(voucher.verify(&key(5).address()).is_ok());
    assert!(voucher.verify(&key(6).address()).is_err());
    let mut more = voucher;
    more.voucher.cumulative += 1;
    assert!(more.verify(&key(5).address()).is_err());
}

#[test]
fn samples_decode_to_their_own_encoding() {
    for (name, bytes, round) in decoders() {
        assert_eq!(round(&bytes).as_deref(), Some(&bytes[..]), "{name}");
    }
}

#[test]
fn fuzz_corpus_replays_cleanly() {
    // The corpus files live beside the fuzz targets; each must decode or be refused, never
    // panic, and whatever decodes must re-encode to the same bytes.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let mut replayed = 0;
    for (name, _, round) in decoders() {
        let Ok(entries) = std::fs::read_dir(root.join(format!("decode_{name}"))) else {
            continue;
        };
        for entry in entries {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            if let Some(again) = round(&bytes) {
                assert_eq!(again, bytes, "{name}: decoding is not canonical");
            }
            replayed += 1;
        }
    }
    assert!(
        replayed > 0,
        "no fuzz corpus found under {}",
        root.display()
    );
}

proptest! {
    #[test]
    fn parsing_any_text_as_an_id_never_panics(text in "\\PC{0,80}") {
        let _ = text.parse::<Hash>();
        let _ = text.parse::<ChainId>();
        let _ = text.parse::<HostId>();
        let _ = text.parse::<Address>();
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for (name, _, round) in decoders() {
            if let Some(again) = round(&bytes) {
                prop_assert_eq!(&again, &bytes, "{} decoded non-canonically", name);
            }
        }
    }

    #[test]
    fn mutated_encodings_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        for (name, mut bytes, round) in decoders() {
            for (index, value) in &flips {
                let i = index.index(bytes.len());
                bytes[i] = *value;
            }
            let bytes = &bytes[..cut.index(bytes.len() + 1)];
            if let Some(again) = round(bytes) {
                prop_assert_eq!(&again[..], bytes, "{} decoded non-canonically", name);
            }
        }
    }
}

/// Writes each decoder's sample as a seed for its fuzz target:
/// `cargo test -p myriad-types -- --ignored write_fuzz_seeds`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (name, bytes, _) in decoders() {
        let dir = root.join(format!("decode_{name}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sample"), bytes).unwrap();
    }
}

#[test]
fn a_rate_reads_from_a_decimal_in_whole_units_and_reduces() {
    // 1 whole unit (2 decimals) buys 2.5 whole units (6 decimals): 100 base units buy
    // 2,500,000.
    assert_eq!(
        Rate::from_decimal("2.5", 2, 6),
        Ok(Rate {
            give: 1,
            get: 25_000
        })
    );
    assert_eq!(
        Rate::from_decimal("0.5", 2, 2),
        Ok(Rate { give: 2, get: 1 })
    );
    assert!(Rate::from_decimal("0", 2, 2).is_err());
    assert!(Rate::from_decimal("x", 2, 2).is_err());
    // Too fine for u64: the nearest below, for the holder.
    let fine = Rate::reduced(u128::from(u64::MAX) * 3, u128::from(u64::MAX) * 2 + 1).unwrap();
    assert_ne!(
        fine.cmp_for_holder(&Rate { give: 3, get: 2 }),
        std::cmp::Ordering::Greater
    );
    assert_eq!(Rate::reduced(6, 4), Some(Rate { give: 3, get: 2 }));
    assert_eq!(Rate::reduced(0, 4), None);
}
