//! The root chain's ledger: hosts registering with bonds, chains anchored only with heads
//! their own validators certified (across validator-set changes), evidence slashing a
//! bond; and validator bonds vesting on a personal chain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use myriad_ledger::{
    apply, build_block, check_stateless, execute_block, follow_from_anchor, AnchorError,
    AnchorProof, BlockTemplate, ChainState, ProofError, TxError, ANCHOR_CLOCK_SKEW_MS,
};
use myriad_testing::{genesis, key, mint, tx, unsigned_genesis};
use myriad_types::{
    decode, encode, pack, sign_alone, sign_tick, tick_leaf, AnchorEntry, AnchoredHead, Block,
    BlockHeader, BoundedBytes, BoundedVec, Certificate, CertificateError, ChainAnchor, ChainKind,
    CommitSignature, Equivocation, ForkEvidence, Hash, Height, HostAnnouncement, HostEntry, HostId,
    Object, ObjectKey, RootParams, Round, SecretKey, SetChange, SignedGenesis, SignedTransaction,
    SignedVote, TxKind, Validator, Vote, VoteStep, SET_HISTORY_MAX,
};

const PARAMS: RootParams = RootParams {
    host_bond_min: 100,
    host_lease_ms: 60_000,
    unbond_ms: 30_000,
    anchor_interval_ms: 10_000,
};

fn announcement(port: u16) -> HostAnnouncement {
    let text = |s: String| BoundedBytes::new(s.into_bytes()).unwrap();
    HostAnnouncement {
        p2p: BoundedVec::new(vec![text(format!("127.0.0.1:{port}"))]).unwrap(),
        api_url: text(format!("http://127.0.0.1:{}", port + 1)),
    }
}

/// The root chain, owned by key 1, validated by key 9; hosts 30.. hold root currency.
struct Root {
    state: ChainState,
    owner: SecretKey,
    now: u64,
}

impl Root {
    fn new() -> Root {
        let owner = key(1);
        let signed = SignedGenesis::sign(
            myriad_types::Genesis {
                kind: ChainKind::Root(PARAMS),
                ..unsigned_genesis(owner.address(), &[(key(9).host_id(), 1)], 0)
            },
            &owner,
        );
        let mut root = Root {
            state: ChainState::from_genesis(&signed).unwrap(),
            owner,
            now: 1_000,
        };
        for (nonce, host) in (30..34).enumerate() {
            let funding = mint(root.id(), &root.owner, nonce as u64 + 1, &key(host), 1_000);
            root.apply(&funding).unwrap();
        }
        root
    }

    fn id(&self) -> myriad_types::ChainId {
        self.state.chain_id()
    }

    fn send(&mut self, who: &SecretKey, kind: TxKind) -> Result<(), TxError> {
        let nonce = self.state.account(&who.address()).nonce + 1;
        let signed = tx(self.id(), who, nonce, kind);
        check_stateless(&self.id(), &signed)?;
        self.apply(&signed)
    }

    fn apply(&mut self, signed: &SignedTransaction) -> Result<(), TxError> {
        apply(&mut self.state, self.now, signed).map(drop)
    }

    /// Ends the block and moves time on by `ms`.
    fn later(&mut self, ms: u64) {
        let (next, _, _) = execute_block(self.state.clone(), self.now, &[]);
        self.state = next;
        self.now += ms;
        assert_eq!(self.state.check_invariants(), Ok(()));
    }

    fn register(&mut self, host: &SecretKey, bond: u128) -> Result<(), TxError> {
        let announcement = announcement(4000);
        self.send(host, TxKind::RegisterHost { announcement, bond })
    }

    fn anchor(&mut self, host: &SecretKey, entries: Vec<AnchorEntry>) -> Result<(), TxError> {
        let entries = BoundedVec::new(entries).unwrap();
        self.send(host, TxKind::Anchor { entries })
    }

    fn host(&self, host: &SecretKey) -> HostEntry {
        match self.state.object(&ObjectKey::Host(host.host_id())) {
            Some(Object::Host(entry)) => entry.clone(),
            other => panic!("no directory entry: {other:?}"),
        }
    }

    fn anchored(&self, chain: myriad_types::ChainId) -> ChainAnchor {
        match self.state.object(&ObjectKey::Anchor(chain)) {
            Some(Object::Anchor(anchor)) => anchor.clone(),
            other => panic!("no anchor: {other:?}"),
        }
    }

    fn balance(&self, who: &SecretKey) -> u128 {
        self.state.account(&who.address()).balance
    }
}

/// A personal chain of key 2's, validated by hosts 20–23, growing block by block; keeps
/// every block and the state after it.
struct Personal {
    genesis: SignedGenesis,
    owner: SecretKey,
    state: ChainState,
    blocks: Vec<(Block, ChainState)>,
}

impl Personal {
    fn new(validators: &[u8]) -> Personal {
        Personal::salted(validators, 7)
    }

    fn salted(validators: &[u8], salt: u64) -> Personal {
        let owner = key(2);
        let hosts: Vec<(HostId, u64)> = validators.iter().map(|s| (key(*s).host_id(), 1)).collect();
        let genesis = genesis(&owner, &hosts, salt);
        let state = ChainState::from_genesis(&genesis).unwrap();
        Personal {
            genesis,
            owner,
            state,
            blocks: Vec::new(),
        }
    }

    /// A block holding the owner's next transaction of `kind`.
    fn block(&mut self, kind: TxKind) -> Block {
        let nonce = self.state.account(&self.owner.address()).nonce + 1;
        let signed = tx(self.state.chain_id(), &self.owner, nonce, kind);
        let prev_hash = self.blocks.last().map_or(Hash::ZERO, |(b, _)| b.hash());
        let proposer = self.state.meta().validators.validators()[0].host;
        let template = BlockTemplate {
            prev_hash,
            timestamp_ms: self.state.meta().time_ms + 1_000,
            proposer,
        };
        let (block, outcome) = build_block(&self.state, &[signed], template, 10).unwrap();
        self.state = outcome.state.clone();
        self.blocks.push((block.clone(), outcome.state));
        block
    }

    fn mint_block(&mut self) -> Block {
        let to = key(3).address();
        self.block(TxKind::Mint { to, amount: 5 })
    }

    fn head(&self, height: u64, signers: &[u8]) -> AnchoredHead {
        let (block, _) = &self.blocks[height as usize - 1];
        AnchoredHead {
            changes: BoundedVec::default(),
            header: block.header.clone(),
            certificate: certify(block, signers),
            bonds: BoundedVec::default(),
        }
    }

    fn change(&self, height: u64, signers: &[u8]) -> SetChange {
        let (block, after) = &self.blocks[height as usize - 1];
        let (accounts_root, objects_root) = (after.accounts_root(), after.objects_root());
        SetChange {
            header: block.header.clone(),
            certificate: certify(block, signers),
            meta: BoundedBytes::new(encode(after.meta())).unwrap(),
            accounts_root,
            objects_root,
        }
    }
}

/// A certificate of `block` signed by the hosts of seeds `signers`.
fn certify(block: &Block, signers: &[u8]) -> Certificate {
    let signers: Vec<SecretKey> = signers.iter().map(|seed| key(*seed)).collect();
    myriad_testing::certify(&block.header, &signers)
}

fn head_entry(head: AnchoredHead) -> AnchorEntry {
    AnchorEntry::Head(Box::new(head))
}

/// A root with host 30 registered, and a chain of hosts `validators` in its directory.
fn entered(validators: &[u8]) -> (Root, SecretKey, Personal) {
    let mut root = Root::new();
    let anchorer = key(30);
    root.register(&anchorer, 100).unwrap();
    let chain = Personal::new(validators);
    let genesis = AnchorEntry::Genesis(Box::new(chain.genesis.clone()));
    root.anchor(&anchorer, vec![genesis]).unwrap();
    (root, anchorer, chain)
}

/// Evidence of a fork: `head` with its changes, followed from the set the root trusted
/// from height `from`.
fn fork_entry(head: AnchoredHead, from: Height) -> AnchorEntry {
    AnchorEntry::Fork(Box::new(ForkEvidence {
        from,
        changes: head.changes,
        header: head.header,
        certificate: head.certificate,
    }))
}

fn anchor_error(result: Result<(), TxError>) -> AnchorError {
    match result {
        Err(TxError::Anchor { error, .. }) => *error,
        other => panic!("expected an anchor refusal, got {other:?}"),
    }
}

#[test]
fn a_host_registers_with_a_bond_renews_and_takes_it_back_after_unbonding() {
    let mut root = Root::new();
    let host = key(30);
    assert_eq!(
        root.register(&host, 99),
        Err(TxError::BondTooSmall { bond: 99, min: 100 })
    );
    root.register(&host, 100).unwrap();
    let entry = root.host(&host);
    assert_eq!((entry.bond, entry.registered_at_ms), (100, 1_000));
    assert_eq!(entry.expires_at_ms, 1_000 + PARAMS.host_lease_ms);
    assert_eq!(entry.announcement.api_url_text(), "http://127.0.0.1:4001");
    assert_eq!(root.balance(&host), 900);
    root.later(50_000);
    // Renewing adds to the bond and extends the lease; it stays registered since 1,000.
    root.register(&host, 50).unwrap();
    let entry = root.host(&host);
    assert_eq!((entry.bond, entry.registered_at_ms), (150, 1_000));
    assert_eq!(entry.expires_at_ms, root.now + PARAMS.host_lease_ms);
    // The bond stays locked until the lease and the unbonding time have passed.
    let free_at_ms = entry.expires_at_ms + PARAMS.unbond_ms;
    assert_eq!(
        root.send(&host, TxKind::WithdrawBond),
        Err(TxError::StillBonded {
            bond: 150,
            free_at_ms
        })
    );
    root.later(free_at_ms - root.now);
    root.send(&host, TxKind::WithdrawBond).unwrap();
    assert_eq!((root.balance(&host), root.host(&host).bond), (1_000, 0));
    root.later(1);
}

#[test]
fn root_transactions_are_refused_on_a_personal_chain_and_announcements_are_checked() {
    let personal = Personal::new(&[20]);
    let mut state = personal.state.clone();
    let host = key(20);
    let register = tx(
        state.chain_id(),
        &host,
        1,
        TxKind::RegisterHost {
            announcement: announcement(1),
            bond: 0,
        },
    );
    assert_eq!(
        apply(&mut state, 5_000, &register).map(drop),
        Err(TxError::RootOnly)
    );
    let mut root = Root::new();
    let mut bad = announcement(1);
    bad.api_url = BoundedBytes::new(b"http://x\n".to_vec()).unwrap();
    let refused = root.send(
        &key(30),
        TxKind::RegisterHost {
            announcement: bad,
            bond: 100,
        },
    );
    assert!(
        matches!(refused, Err(TxError::BadAnnouncement(_))),
        "{refused:?}"
    );
}

#[test]
fn heads_are_anchored_only_as_their_validators_certified_them() {
    let mut root = Root::new();
    let anchorer = key(30);
    let mut chain = Personal::new(&[20, 21, 22, 23]);
    let genesis = AnchorEntry::Genesis(Box::new(chain.genesis.clone()));
    // Only a registered host anchors.
    assert_eq!(
        root.anchor(&anchorer, vec![genesis.clone()]),
        Err(TxError::NotRegistered(anchorer.host_id()))
    );
    root.register(&anchorer, 100).unwrap();
    // A head before the chain's genesis is in the directory is refused.
    chain.mint_block();
    chain.mint_block();
    assert_eq!(
        anchor_error(root.anchor(&anchorer, vec![head_entry(chain.head(2, &[20, 21, 22]))])),
        AnchorError::NotInDirectory
    );
    root.anchor(&anchorer, vec![genesis.clone()]).unwrap();
    let entered = root.anchored(chain.state.chain_id());
    assert_eq!(entered.height, Height(0));
    assert_eq!(entered.owner, chain.owner.address());
    assert_eq!(
        entered.state_root,
        ChainState::from_genesis(&chain.genesis)
            .unwrap()
            .state_root()
    );

    // Two of four validators are not a quorum.
    assert!(matches!(
        anchor_error(root.anchor(&anchorer, vec![head_entry(chain.head(2, &[20, 21]))])),
        AnchorError::Certificate {
            error: CertificateError::NoQuorum { .. },
            ..
        }
    ));
    // Signed by hosts that are not the chain's validators.
    assert!(matches!(
        anchor_error(root.anchor(&anchorer, vec![head_entry(chain.head(2, &[40, 41, 42]))])),
        AnchorError::Certificate {
            error: CertificateError::UnknownSigner(_),
            ..
        }
    ));
    // A header that was never certified: the certificate is for another block.
    let mut never = chain.head(2, &[20, 21, 22]);
    never.header.state_root = Hash([7; 32]);
    assert!(matches!(
        anchor_error(root.anchor(&anchorer, vec![head_entry(never)])),
        AnchorError::CertificateMismatch { .. }
    ));
    // A certificate whose signatures are forged fails before the ledger is asked.
    let mut forged = chain.head(2, &[20, 21, 22]);
    forged.certificate.signatures = BoundedVec::new(
        [40u8, 41, 42]
            .iter()
            .zip([20u8, 21, 22])
            .map(|(signer, named)| CommitSignature {
                host: key(named).host_id(),
                signature: sign_alone(&key(*signer), &forged.certificate.precommit()),
            })
            .collect(),
    )
    .unwrap();
    let forged_tx = tx(
        root.id(),
        &anchorer,
        2,
        TxKind::Anchor {
            entries: BoundedVec::new(vec![head_entry(forged)]).unwrap(),
        },
    );
    assert!(matches!(
        check_stateless(&root.id(), &forged_tx),
        Err(TxError::BadSignature(_))
    ));
    // Refused anchors changed nothing.
    assert_eq!(root.anchored(chain.state.chain_id()), entered);

    root.later(1_000);
    root.anchor(&anchorer, vec![head_entry(chain.head(2, &[20, 21, 23]))])
        .unwrap();
    let anchored = root.anchored(chain.state.chain_id());
    assert_eq!(anchored.height, Height(2));
    assert_eq!(anchored.block_hash, chain.blocks[1].0.hash());
    assert_eq!(anchored.state_root, chain.blocks[1].0.header.state_root);
    assert_eq!(anchored.anchored_at_ms, root.now);
    // An older head, or the same one again, changes nothing.
    root.anchor(&anchorer, vec![head_entry(chain.head(1, &[20, 21, 22]))])
        .unwrap();
    root.anchor(
        &anchorer,
        vec![genesis, head_entry(chain.head(2, &[21, 22, 23]))],
    )
    .unwrap();
    assert_eq!(root.anchored(chain.state.chain_id()), anchored);
    root.later(1);
}

#[test]
fn anchoring_follows_validator_set_changes_with_their_proofs() {
    let (mut root, anchorer, mut chain) = entered(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    let old_set = root.anchored(id).validators_hash;
    chain.mint_block();
    // Block 2 hands the chain to hosts 24–26 from height 3.
    let new_hosts: Vec<Validator> = [24u8, 25, 26]
        .iter()
        .map(|s| Validator {
            host: key(*s).host_id(),
            power: 1,
        })
        .collect();
    chain.block(TxKind::SetValidators {
        validators: BoundedVec::new(new_hosts).unwrap(),
    });
    chain.mint_block();
    chain.mint_block();

    // Head 4, signed by the new set, without the change: the root does not know that set.
    assert!(matches!(
        anchor_error(root.anchor(&anchorer, vec![head_entry(chain.head(4, &[24, 25, 26]))])),
        AnchorError::UnknownSet { .. }
    ));
    // Nor signed by the old set, which did not sign block 4.
    assert!(matches!(
        anchor_error(root.anchor(&anchorer, vec![head_entry(chain.head(4, &[20, 21, 22]))])),
        AnchorError::CertificateMismatch { .. } | AnchorError::UnknownSet { .. }
    ));
    // A change whose meta names other validators does not hash to block 2's state root.
    let mut forged = chain.head(4, &[24, 25, 26]);
    let mut change = chain.change(2, &[20, 21, 22]);
    let mut meta = chain.blocks[0].1.meta().clone();
    meta.height = Height(2);
    change.meta = BoundedBytes::new(encode(&meta)).unwrap();
    forged.changes = BoundedVec::new(vec![change]).unwrap();
    assert_eq!(
        anchor_error(root.anchor(&anchorer, vec![head_entry(forged)])),
        AnchorError::MetaProof { height: Height(2) }
    );
    // A change certified by hosts outside the old set.
    let mut wrong = chain.head(4, &[24, 25, 26]);
    wrong.changes = BoundedVec::new(vec![chain.change(2, &[24, 25, 26])]).unwrap();
    assert!(matches!(
        anchor_error(root.anchor(&anchorer, vec![head_entry(wrong)])),
        AnchorError::Certificate { .. }
    ));
    // With the change certified by the old set, the head of the new set is anchored.
    let mut head = chain.head(4, &[24, 25, 26]);
    head.changes = BoundedVec::new(vec![chain.change(2, &[20, 21, 22])]).unwrap();
    root.anchor(&anchorer, vec![head_entry(head)]).unwrap();
    let anchored = root.anchored(id);
    assert_eq!(anchored.height, Height(4));
    assert_eq!(anchored.validators_from, Height(3));
    assert_eq!(
        anchored.validators_hash,
        chain.state.meta().validators.hash()
    );
    // The new set is held once, and so is the old one, by the chain's set history (fork
    // evidence may start from it while it is kept).
    for set in [old_set, anchored.validators_hash] {
        match root.state.object(&ObjectKey::KnownSet(set)) {
            Some(Object::KnownSet(known)) => assert_eq!(known.chains, 1),
            other => panic!("{other:?}"),
        }
    }
    root.later(1);
}

#[test]
fn a_second_certified_header_at_an_anchored_height_marks_a_fork() {
    let mut root = Root::new();
    let anchorer = key(30);
    root.register(&anchorer, 100).unwrap();
    let mut chain = Personal::new(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    let mut fork = Personal::new(&[20, 21, 22, 23]);
    fork.block(TxKind::Mint {
        to: key(4).address(),
        amount: 9,
    });
    chain.mint_block();
    root.anchor(
        &anchorer,
        vec![
            AnchorEntry::Genesis(Box::new(chain.genesis.clone())),
            head_entry(chain.head(1, &[20, 21, 22])),
        ],
    )
    .unwrap();
    assert_eq!(root.anchored(id).forked_at, None);
    // As a head it is stale; as evidence, a fork.
    root.anchor(&anchorer, vec![head_entry(fork.head(1, &[21, 22, 23]))])
        .unwrap();
    assert_eq!(root.anchored(id).forked_at, None);
    root.anchor(
        &anchorer,
        vec![fork_entry(fork.head(1, &[21, 22, 23]), Height(1))],
    )
    .unwrap();
    let anchored = root.anchored(id);
    assert_eq!(anchored.forked_at, Some(Height(1)));
    assert_eq!(
        anchored.block_hash,
        chain.blocks[0].0.hash(),
        "the first head stays"
    );
}

/// Heads of `blocks`, certified by the hosts of `signers`, each signing all their
/// precommits (and a prevote of another chain) in one tick.
fn ticked_heads(blocks: &[&Block], signers: &[u8]) -> Vec<AnchoredHead> {
    let precommits: Vec<Certificate> = blocks
        .iter()
        .map(|block| Certificate {
            chain_id: block.header.chain_id,
            height: block.header.height,
            round: Round(0),
            block_hash: block.hash(),
            signatures: BoundedVec::default(),
        })
        .collect();
    let other = Vote {
        chain_id: myriad_types::ChainId([9; 32]),
        height: Height(1),
        round: Round(0),
        step: VoteStep::Prevote,
        block_hash: None,
    };
    let leaves: Vec<Hash> = std::iter::once(tick_leaf(&other))
        .chain(precommits.iter().map(|c| tick_leaf(&c.precommit())))
        .collect();
    let ticks: Vec<_> = signers
        .iter()
        .map(|seed| sign_tick(&key(*seed), &leaves))
        .collect();
    blocks
        .iter()
        .zip(precommits)
        .enumerate()
        .map(|(i, (block, mut certificate))| {
            let signatures = signers
                .iter()
                .zip(&ticks)
                .map(|(seed, tick)| CommitSignature {
                    host: key(*seed).host_id(),
                    signature: tick[i + 1].clone(),
                })
                .collect();
            certificate.signatures = BoundedVec::new(signatures).unwrap();
            AnchoredHead {
                changes: BoundedVec::default(),
                header: block.header.clone(),
                certificate,
                bonds: BoundedVec::default(),
            }
        })
        .collect()
}

fn packed(heads: Vec<AnchoredHead>) -> Vec<AnchorEntry> {
    let packed = pack(heads.into_iter().map(head_entry).collect());
    assert!(matches!(packed.as_slice(), [AnchorEntry::Heads(_)]));
    packed
}

#[test]
fn heads_of_many_chains_anchor_in_one_batch_and_a_wrong_signer_or_signature_refuses_it() {
    let mut root = Root::new();
    let anchorer = key(30);
    root.register(&anchorer, 100).unwrap();
    let mut chains: Vec<Personal> = (7..10)
        .map(|salt| Personal::salted(&[20, 21, 22, 23], salt))
        .collect();
    let geneses = chains
        .iter()
        .map(|c| AnchorEntry::Genesis(Box::new(c.genesis.clone())))
        .collect();
    root.anchor(&anchorer, geneses).unwrap();
    let blocks: Vec<Block> = chains.iter_mut().map(Personal::mint_block).collect();
    let block_refs: Vec<&Block> = blocks.iter().collect();

    // Signed by hosts outside the set: refused, naming the chain.
    let heads = ticked_heads(&block_refs, &[20, 24, 25]);
    match root.anchor(&anchorer, packed(heads)) {
        Err(TxError::Anchor { chain, error }) => {
            assert_eq!(chain, blocks[0].header.chain_id);
            assert!(matches!(*error, AnchorError::Certificate { .. }));
        }
        other => panic!("{other:?}"),
    }
    // A tick signature altered: the transaction's signatures do not verify.
    let mut entries = packed(ticked_heads(&block_refs, &[20, 21, 22]));
    if let AnchorEntry::Heads(batch) = &mut entries[0] {
        let mut ticks = batch.ticks.clone().into_inner();
        ticks[1].signature.0[0] ^= 1;
        batch.ticks = BoundedVec::new(ticks).unwrap();
    }
    assert!(matches!(
        root.anchor(&anchorer, entries),
        Err(TxError::BadSignature(_))
    ));
    for chain in &chains {
        assert_eq!(root.anchored(chain.state.chain_id()).height, Height(0));
    }

    let heads = ticked_heads(&block_refs, &[21, 22, 23]);
    root.anchor(&anchorer, packed(heads)).unwrap();
    for block in &blocks {
        let anchored = root.anchored(block.header.chain_id);
        assert_eq!(anchored.height, Height(1));
        assert_eq!(anchored.block_hash, block.hash());
        assert_eq!(anchored.forked_at, None);
    }
}

/// A `SetValidators` handing the chain to the hosts of `seeds`, of power 1 each.
fn set_of(seeds: &[u8]) -> TxKind {
    let validators = seeds
        .iter()
        .map(|s| Validator {
            host: key(*s).host_id(),
            power: 1,
        })
        .collect();
    TxKind::SetValidators {
        validators: BoundedVec::new(validators).unwrap(),
    }
}

#[test]
fn a_head_certified_by_a_set_the_chain_had_replaced_is_a_fork_once_the_chains_header_shows_it() {
    let (mut root, anchorer, mut chain) = entered(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    // The chain hands itself to hosts 24–26 at block 2; the old set keeps signing a fork.
    let mut fork = Personal::new(&[20, 21, 22, 23]);
    for _ in 0..4 {
        fork.mint_block();
    }
    chain.mint_block();
    chain.block(set_of(&[24, 25, 26]));
    for _ in 0..3 {
        chain.mint_block();
    }
    // Before the change reaches the root, the old set's head 4 is anchored: the root cannot
    // tell it from the chain's (a light client's trust in the set it knows).
    root.anchor(&anchorer, vec![head_entry(fork.head(4, &[20, 21, 22]))])
        .unwrap();
    // A change below the anchored head does not move the set the root keeps: the chain's
    // newer head is not taken on it.
    let mut head = chain.head(5, &[24, 25, 26]);
    head.changes = BoundedVec::new(vec![chain.change(2, &[20, 21, 22])]).unwrap();
    assert!(matches!(
        anchor_error(root.anchor(&anchorer, vec![head_entry(head)])),
        AnchorError::UnknownSet { .. }
    ));
    assert_eq!(root.anchored(id).forked_at, None);
    // The chain's own header at the anchored height, certified by the set the change put in
    // force there: as a head it changes nothing; as evidence it shows the fork.
    let mut evidence = chain.head(4, &[24, 25, 26]);
    evidence.changes = BoundedVec::new(vec![chain.change(2, &[20, 21, 22])]).unwrap();
    root.anchor(&anchorer, vec![head_entry(evidence.clone())])
        .unwrap();
    assert_eq!(root.anchored(id).forked_at, None);
    root.anchor(&anchorer, vec![fork_entry(evidence, Height(1))])
        .unwrap();
    let anchored = root.anchored(id);
    assert_eq!(anchored.forked_at, Some(Height(4)));
    assert_eq!(anchored.block_hash, fork.blocks[3].0.hash());
}

/// A chain of hosts 20–23 hands itself to hosts 24–26 at block 2; the old set forges a
/// history of its own, a change at block 3 to hosts 40–42 who certify block 4, and the root
/// anchors it. Returns the root, its anchorer, the chain, and the chain's own block 3 with
/// the change that leads to the set that certified it.
fn forged_set_change() -> (Root, SecretKey, Personal, AnchoredHead) {
    let (mut root, anchorer, mut chain) = entered(&[20, 21, 22, 23]);
    chain.mint_block();
    chain.block(set_of(&[24, 25, 26]));
    for _ in 0..3 {
        chain.mint_block();
    }
    let mut fork = Personal::new(&[20, 21, 22, 23]);
    fork.mint_block();
    fork.mint_block();
    fork.block(set_of(&[40, 41, 42]));
    fork.mint_block();
    let mut forged = fork.head(4, &[40, 41, 42]);
    forged.changes = BoundedVec::new(vec![fork.change(3, &[20, 21, 22])]).unwrap();
    root.anchor(&anchorer, vec![head_entry(forged)]).unwrap();
    let mut evidence = chain.head(3, &[24, 25, 26]);
    evidence.changes = BoundedVec::new(vec![chain.change(2, &[20, 21, 22])]).unwrap();
    (root, anchorer, chain, evidence)
}

#[test]
fn a_set_change_the_replaced_set_forged_does_not_hide_the_fork() {
    let (mut root, anchorer, chain, evidence) = forged_set_change();
    let id = chain.state.chain_id();
    // The set the root keeps is now the forgers', from block 4: the chain's header at the
    // anchored height cannot be reached from it, nor can the chain's newer heads.
    let anchored = root.anchored(id);
    assert_eq!(anchored.validators_from, Height(4));
    let with_change = |height| {
        let mut head = chain.head(height, &[24, 25, 26]);
        head.changes = evidence.changes.clone();
        head
    };
    for entry in [
        fork_entry(with_change(4), Height(4)),
        head_entry(with_change(5)),
    ] {
        assert!(matches!(
            anchor_error(root.anchor(&anchorer, vec![entry])),
            AnchorError::UnknownSet { known, .. } if known == anchored.validators_hash
        ));
    }
    assert_eq!(root.anchored(id).forked_at, None);
    // From the set the forgers replaced (in force from height 1, in the chain's set
    // history), the chain's own change leads to the set that certified its block 3, which
    // is not the block 3 that replaced that set. A height the root trusted no set from, a
    // block above the one the root took, or a quorum short of the set shows nothing.
    assert_eq!(
        anchor_error(root.anchor(&anchorer, vec![fork_entry(evidence.clone(), Height(2))])),
        AnchorError::UnknownStart { from: Height(2) }
    );
    assert_eq!(
        anchor_error(root.anchor(&anchorer, vec![fork_entry(with_change(4), Height(1))])),
        AnchorError::NoFork {
            height: Height(4),
            taken: Height(3)
        }
    );
    let mut short = evidence.clone();
    short.certificate = certify(&chain.blocks[2].0, &[24]);
    assert!(matches!(
        anchor_error(root.anchor(&anchorer, vec![fork_entry(short, Height(1))])),
        AnchorError::Certificate { .. }
    ));
    root.anchor(&anchorer, vec![fork_entry(evidence, Height(1))])
        .unwrap();
    assert_eq!(root.anchored(id).forked_at, Some(Height(3)));
}

#[test]
fn a_replaced_set_shows_a_fork_only_by_certifying_two_blocks_of_its_own_term() {
    let (mut root, anchorer, mut chain) = entered(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    // The chain hands itself to hosts 24–26 at block 2, and the root follows.
    chain.mint_block();
    chain.block(set_of(&[24, 25, 26]));
    chain.mint_block();
    chain.mint_block();
    let mut head = chain.head(4, &[24, 25, 26]);
    head.changes = BoundedVec::new(vec![chain.change(2, &[20, 21, 22])]).unwrap();
    root.anchor(&anchorer, vec![head_entry(head)]).unwrap();
    // The old set, replaced, certifies blocks of its own: one at the anchored height is no
    // evidence from the set it was (the root took its term to end at block 2)…
    let mut fork = Personal::new(&[20, 21, 22, 23]);
    for _ in 0..4 {
        fork.mint_block();
    }
    assert_eq!(
        anchor_error(root.anchor(
            &anchorer,
            vec![fork_entry(fork.head(4, &[20, 21, 22]), Height(1))]
        )),
        AnchorError::NoFork {
            height: Height(4),
            taken: Height(2)
        }
    );
    assert_eq!(root.anchored(id).forked_at, None);
    // …but a second block 2 of its own is.
    root.anchor(
        &anchorer,
        vec![fork_entry(fork.head(2, &[20, 21, 22]), Height(1))],
    )
    .unwrap();
    assert_eq!(root.anchored(id).forked_at, Some(Height(2)));
}

#[test]
fn a_replaced_set_starts_fork_evidence_only_while_the_root_keeps_it() {
    let (mut root, anchorer, chain, evidence) = forged_set_change();
    let id = chain.state.chain_id();
    match root.state.object(&ObjectKey::SetHistory(id)) {
        Some(Object::SetHistory(history)) => {
            let replaced: Vec<_> = history.sets.iter().map(|r| r.from).collect();
            assert_eq!(replaced, vec![Height(1)]);
        }
        other => panic!("no set history: {other:?}"),
    }
    // Past the unbonding time, a quorum of a set replaced that long ago is trusted no more.
    root.later(PARAMS.unbond_ms);
    assert_eq!(
        anchor_error(root.anchor(&anchorer, vec![fork_entry(evidence, Height(1))])),
        AnchorError::UnknownStart { from: Height(1) }
    );
    assert_eq!(root.anchored(id).forked_at, None);
}

#[test]
fn a_chain_that_replaced_too_many_sets_lately_waits_for_the_oldest_to_go() {
    let (mut root, anchorer, mut chain) = entered(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    let sets: [&[u8]; 2] = [&[24, 25, 26], &[20, 21, 22, 23]];
    for change in 0..=SET_HISTORY_MAX {
        chain.block(set_of(sets[change % 2]));
    }
    chain.mint_block();
    let signers = |height: usize| -> &[u8] {
        if height % 2 == 1 {
            &[20, 21, 22]
        } else {
            &[24, 25, 26]
        }
    };
    let changes = |heights: std::ops::RangeInclusive<usize>| {
        let changes = heights
            .map(|h| chain.change(h as u64, signers(h)))
            .collect();
        BoundedVec::new(changes).unwrap()
    };
    // Sixteen changes fill the set history; the seventeenth waits for the oldest to go.
    root.later(20_000);
    let last = SET_HISTORY_MAX + 1;
    let mut head = chain.head(last as u64, signers(last));
    head.changes = changes(1..=SET_HISTORY_MAX);
    root.anchor(&anchorer, vec![head_entry(head)]).unwrap();
    let mut head = chain.head(last as u64 + 1, signers(last + 1));
    head.changes = changes(last..=last);
    let refused = anchor_error(root.anchor(&anchorer, vec![head_entry(head.clone())]));
    assert_eq!(
        refused,
        AnchorError::SetHistoryFull {
            until_ms: root.anchored(id).anchored_at_ms + PARAMS.unbond_ms
        }
    );
    root.later(PARAMS.unbond_ms);
    root.anchor(&anchorer, vec![head_entry(head)]).unwrap();
    assert_eq!(root.anchored(id).height, Height(last as u64 + 1));
    match root.state.object(&ObjectKey::SetHistory(id)) {
        Some(Object::SetHistory(history)) => assert_eq!(history.sets.len(), 1),
        other => panic!("no set history: {other:?}"),
    }
}

#[test]
fn a_head_forged_far_above_the_chain_is_shown_by_a_lower_block_made_after_it() {
    let (mut root, anchorer, mut chain) = entered(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    chain.mint_block();
    // The set about to be replaced certifies a head a billion blocks up, as late as the
    // root takes it; a time later still is refused.
    let forged_at = |timestamp_ms| {
        let header = BlockHeader {
            height: Height(1_000_000_000),
            timestamp_ms,
            state_root: Hash([7; 32]),
            ..chain.blocks[0].0.header.clone()
        };
        let signers = [key(20), key(21), key(22)];
        head_entry(AnchoredHead {
            changes: BoundedVec::default(),
            certificate: myriad_testing::certify(&header, &signers),
            header,
            bonds: BoundedVec::default(),
        })
    };
    let latest = root.now + ANCHOR_CLOCK_SKEW_MS;
    assert!(matches!(
        anchor_error(root.anchor(&anchorer, vec![forged_at(latest + 1)])),
        AnchorError::FromTheFuture { time_ms, .. } if time_ms == latest + 1
    ));
    root.anchor(&anchorer, vec![forged_at(latest)]).unwrap();
    assert_eq!(root.anchored(id).height, Height(1_000_000_000));
    // The chain hands itself to hosts 24–26 at block 2 and goes on, a block a second. A
    // block made before the forged head's time shows nothing; one made at it, the fork.
    chain.block(set_of(&[24, 25, 26]));
    while chain.state.meta().time_ms < latest {
        chain.mint_block();
    }
    let last = chain.blocks.len() as u64;
    for (height, shown) in [(last - 1, false), (last, true)] {
        let mut evidence = chain.head(height, &[24, 25, 26]);
        evidence.changes = BoundedVec::new(vec![chain.change(2, &[20, 21, 22])]).unwrap();
        let result = root.anchor(&anchorer, vec![fork_entry(evidence, Height(1))]);
        if shown {
            result.unwrap();
        } else {
            assert!(matches!(anchor_error(result), AnchorError::NoFork { .. }));
        }
    }
    assert_eq!(root.anchored(id).forked_at, Some(Height(last)));
}

#[test]
fn evidence_of_a_fork_is_another_certified_block_at_the_anchored_height() {
    let (mut root, anchorer, mut chain) = entered(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    for _ in 0..3 {
        chain.mint_block();
    }
    root.anchor(&anchorer, vec![head_entry(chain.head(2, &[20, 21, 22]))])
        .unwrap();
    // The anchored block itself, a block below it and one above it are no evidence.
    for height in [2, 1, 3] {
        let evidence = fork_entry(chain.head(height, &[20, 21, 22]), Height(1));
        assert_eq!(
            anchor_error(root.anchor(&anchorer, vec![evidence])),
            AnchorError::NoFork {
                height: Height(height),
                taken: Height(2)
            }
        );
    }
    assert_eq!(root.anchored(id).forked_at, None);
}

#[test]
fn changes_below_an_anchored_head_neither_roll_its_set_back_nor_mark_a_fork() {
    let (mut root, anchorer, mut chain) = entered(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    chain.mint_block();
    chain.block(set_of(&[24, 25, 26]));
    chain.block(set_of(&[20, 21, 22, 23]));
    for _ in 0..3 {
        chain.mint_block();
    }
    // Head 4 is signed by the first set again, so it anchors without the changes.
    root.anchor(&anchorer, vec![head_entry(chain.head(4, &[20, 21, 22]))])
        .unwrap();
    let kept = root.anchored(id).validators_hash;
    // A stale head with only the first of the two changes, and the same head again with it.
    let mut stale = chain.head(3, &[24, 25, 26]);
    stale.changes = BoundedVec::new(vec![chain.change(2, &[20, 21, 22])]).unwrap();
    root.anchor(&anchorer, vec![head_entry(stale)]).unwrap();
    let mut again = chain.head(4, &[20, 21, 22]);
    again.changes = BoundedVec::new(vec![chain.change(2, &[20, 21, 22])]).unwrap();
    root.anchor(&anchorer, vec![head_entry(again)]).unwrap();
    let anchored = root.anchored(id);
    assert_eq!((anchored.validators_hash, anchored.forked_at), (kept, None));
    // The chain goes on under the set the root kept.
    let mut head = chain.head(5, &[20, 21, 23]);
    head.changes = BoundedVec::new(vec![
        chain.change(2, &[20, 21, 22]),
        chain.change(3, &[24, 25, 26]),
    ])
    .unwrap();
    root.anchor(&anchorer, vec![head_entry(head)]).unwrap();
    root.anchor(&anchorer, vec![head_entry(chain.head(6, &[21, 22, 23]))])
        .unwrap();
    let anchored = root.anchored(id);
    assert_eq!((anchored.height, anchored.forked_at), (Height(6), None));
}

#[test]
fn a_set_the_chain_left_and_came_back_from_cannot_mark_it_forked() {
    let (mut root, anchorer, mut chain) = entered(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    // Hosts 24–26 hold the chain for block 3 only; head 4 comes with both changes.
    chain.mint_block();
    chain.block(set_of(&[24, 25, 26]));
    chain.block(set_of(&[20, 21, 22, 23]));
    chain.mint_block();
    let mut head = chain.head(4, &[20, 21, 22]);
    head.changes = BoundedVec::new(vec![
        chain.change(2, &[20, 21, 22]),
        chain.change(3, &[24, 25, 26]),
    ])
    .unwrap();
    root.anchor(&anchorer, vec![head_entry(head)]).unwrap();
    assert_eq!(root.anchored(id).validators_from, Height(4));
    // Its term over, that set certifies a block 4 of its own: from no set the root
    // trusted does it contradict a block the root took within that set's term.
    let mut theirs = chain.head(4, &[24, 25, 26]);
    let mut fork = Personal::new(&[20, 21, 22, 23]);
    fork.mint_block();
    fork.block(set_of(&[24, 25, 26]));
    fork.mint_block();
    fork.mint_block();
    theirs.header = fork.blocks[3].0.header.clone();
    theirs.certificate = certify(&fork.blocks[3].0, &[24, 25, 26]);
    theirs.changes = BoundedVec::new(vec![chain.change(2, &[20, 21, 22])]).unwrap();
    for (from, taken) in [(1, 2), (3, 3)] {
        let mut evidence = theirs.clone();
        if from == 3 {
            evidence.changes = BoundedVec::default();
        }
        assert_eq!(
            anchor_error(root.anchor(&anchorer, vec![fork_entry(evidence, Height(from))])),
            AnchorError::NoFork {
                height: Height(4),
                taken: Height(taken)
            }
        );
    }
    theirs.changes = BoundedVec::default();
    assert!(matches!(
        anchor_error(root.anchor(&anchorer, vec![fork_entry(theirs, Height(4))])),
        AnchorError::UnknownSet { .. }
    ));
    assert_eq!(root.anchored(id).forked_at, None);
}

fn vote(seed: u8, chain: myriad_types::ChainId, block: u8) -> SignedVote {
    let vote = Vote {
        chain_id: chain,
        height: Height(5),
        round: Round(1),
        step: VoteStep::Precommit,
        block_hash: Some(Hash([block; 32])),
    };
    SignedVote {
        signature: sign_alone(&key(seed), &vote),
        voter: key(seed).host_id(),
        vote,
    }
}

#[test]
fn evidence_of_equivocation_slashes_the_bond_once() {
    let mut root = Root::new();
    let host = key(31);
    root.register(&host, 300).unwrap();
    let chain = Personal::new(&[31]).state.chain_id();
    let supply = root.state.meta().supply;
    let evidence = Equivocation {
        first: vote(31, chain, 1),
        second: vote(31, chain, 2),
    };
    // Two votes for one block are no evidence; neither are two hosts' votes.
    let same = Equivocation {
        first: vote(31, chain, 1),
        second: vote(31, chain, 1),
    };
    let reporter = key(32);
    assert!(matches!(
        root.send(
            &reporter,
            TxKind::SubmitEvidence {
                evidence: Box::new(same)
            }
        ),
        Err(TxError::Evidence(_))
    ));
    let two = Equivocation {
        first: vote(31, chain, 1),
        second: vote(33, chain, 2),
    };
    assert!(matches!(
        root.send(
            &reporter,
            TxKind::SubmitEvidence {
                evidence: Box::new(two)
            }
        ),
        Err(TxError::Evidence(_))
    ));
    // A forged vote fails its signature.
    let mut forged = evidence.clone();
    forged.second.signature = sign_alone(&key(33), &forged.second.vote);
    let forged_tx = tx(
        root.id(),
        &reporter,
        1,
        TxKind::SubmitEvidence {
            evidence: Box::new(forged),
        },
    );
    assert!(check_stateless(&root.id(), &forged_tx).is_err());

    root.send(
        &reporter,
        TxKind::SubmitEvidence {
            evidence: Box::new(evidence.clone()),
        },
    )
    .unwrap();
    let entry = root.host(&host);
    assert_eq!((entry.bond, entry.slashed, entry.evidence), (0, 300, 1));
    assert_eq!(entry.last_evidence, Some(evidence.hash()));
    assert!(!entry.is_registered(root.now));
    assert_eq!(root.state.meta().supply, supply - 300);
    // The same evidence, its votes swapped, slashes nothing more.
    let swapped = Equivocation {
        first: evidence.second.clone(),
        second: evidence.first.clone(),
    };
    assert_eq!(
        root.send(
            &reporter,
            TxKind::SubmitEvidence {
                evidence: Box::new(swapped)
            }
        ),
        Err(TxError::ObjectExists(ObjectKey::Evidence(evidence.hash())))
    );
    root.later(1);
}

#[test]
fn a_validator_bond_vests_and_its_rest_returns_when_the_host_is_dropped() {
    let mut chain = Personal::new(&[20, 21]);
    let owner = chain.owner.clone();
    let id = chain.state.chain_id();
    let operator = key(20);
    let mut state = chain.state.clone();
    let send = |state: &mut ChainState, now: u64, kind: TxKind| {
        let nonce = state.account(&owner.address()).nonce + 1;
        let signed = tx(id, &owner, nonce, kind);
        apply(state, now, &signed).map(drop)
    };
    send(
        &mut state,
        1_000,
        TxKind::Mint {
            to: owner.address(),
            amount: 10_000,
        },
    )
    .unwrap();
    let stranger = key(40).host_id();
    assert_eq!(
        send(
            &mut state,
            1_000,
            TxKind::BondValidator {
                host: stranger,
                amount: 1,
                vesting_ms: 10
            }
        ),
        Err(TxError::NotAValidator(stranger))
    );
    send(
        &mut state,
        1_000,
        TxKind::BondValidator {
            host: operator.host_id(),
            amount: 1_000,
            vesting_ms: 10_000,
        },
    )
    .unwrap();
    assert_eq!(state.account(&owner.address()).balance, 9_000);
    assert_eq!(state.check_invariants(), Ok(()));
    // A quarter of the way, anyone releases a quarter to the host's account.
    let release = tx(
        id,
        &key(5),
        1,
        TxKind::ReleaseBond {
            host: operator.host_id(),
        },
    );
    apply(&mut state, 3_500, &release).unwrap();
    assert_eq!(state.account(&operator.address()).balance, 250);
    let again = tx(
        id,
        &key(5),
        2,
        TxKind::ReleaseBond {
            host: operator.host_id(),
        },
    );
    assert_eq!(
        apply(&mut state, 3_500, &again).map(drop),
        Err(TxError::NothingVested(operator.host_id()))
    );
    // Dropped at 60%: the host gets what vested, the owner the rest, in that block.
    let keep = vec![Validator {
        host: key(21).host_id(),
        power: 1,
    }];
    send(
        &mut state,
        7_000,
        TxKind::SetValidators {
            validators: BoundedVec::new(keep).unwrap(),
        },
    )
    .unwrap();
    assert_eq!(state.account(&operator.address()).balance, 600);
    assert_eq!(state.account(&owner.address()).balance, 9_400);
    assert!(state
        .object(&ObjectKey::ValidatorBond(operator.host_id()))
        .is_none());
    assert_eq!(state.check_invariants(), Ok(()));
    chain.state = state;
}

/// The root's state as a certified root block: its header and the committee's certificate.
fn root_block(root: &Root, committee: &[u8]) -> (myriad_types::BlockHeader, Certificate) {
    let header = myriad_types::BlockHeader {
        chain_id: root.id(),
        height: root.state.meta().height,
        prev_hash: Hash([3; 32]),
        timestamp_ms: root.now,
        proposer: key(9).host_id(),
        tx_root: Hash::ZERO,
        state_root: root.state.state_root(),
        validators_hash: root.state.meta().validators.hash(),
    };
    let block = Block {
        header: header.clone(),
        txs: BoundedVec::default(),
    };
    (header, certify(&block, committee))
}

#[test]
fn an_anchor_proof_verifies_against_the_root_committee_and_fails_on_any_altered_byte() {
    let mut root = Root::new();
    let anchorer = key(30);
    root.register(&anchorer, 100).unwrap();
    let mut chain = Personal::new(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    for _ in 0..3 {
        chain.mint_block();
    }
    root.anchor(
        &anchorer,
        vec![
            AnchorEntry::Genesis(Box::new(chain.genesis.clone())),
            head_entry(chain.head(2, &[20, 21, 22])),
        ],
    )
    .unwrap();
    root.later(1_000);
    let (root_header, root_certificate) = root_block(&root, &[9]);
    let proof = AnchorProof {
        anchor: root.anchored(id),
        path: root.state.prove_object(&ObjectKey::Anchor(id)),
        root_header,
        root_certificate,
    };
    let committee = root.state.meta().validators.as_ref().clone();
    proof.verify(&root.id(), &committee, &id).unwrap();
    let bytes = encode(&proof);
    println!("anchor proof: {} bytes", bytes.len());
    // Every single altered byte is caught: the proof no longer decodes or no longer checks.
    for at in 0..bytes.len() {
        let mut altered = bytes.clone();
        altered[at] ^= 0x01;
        if let Ok(altered) = decode::<AnchorProof>("proof", &altered) {
            assert!(
                altered.verify(&root.id(), &committee, &id).is_err(),
                "byte {at} altered and the proof still verifies"
            );
        }
    }
    // Signed by anyone but the committee, it fails.
    let (header, by_others) = root_block(&root, &[40]);
    let forged = AnchorProof {
        root_header: header,
        root_certificate: by_others,
        ..proof.clone()
    };
    assert!(matches!(
        forged.verify(&root.id(), &committee, &id),
        Err(ProofError::RootCertificate(_))
    ));

    // From the anchored head, the chain's later block 3 follows, certified by its set.
    let set = chain.state.meta().validators.as_ref().clone();
    let block3 = &chain.blocks[2].0;
    let later = vec![(block3.header.clone(), certify(block3, &[20, 22, 23]))];
    assert_eq!(
        follow_from_anchor(&proof.anchor, &set, &later),
        Ok((Height(3), block3.header.state_root))
    );
    assert_eq!(
        follow_from_anchor(&proof.anchor, &set, &[]),
        Ok((Height(2), proof.anchor.state_root))
    );
    let mut lying = later.clone();
    lying[0].0.state_root = Hash([1; 32]);
    assert!(matches!(
        follow_from_anchor(&proof.anchor, &set, &lying),
        Err(ProofError::CertificateMismatch { .. })
    ));
    let weak = vec![(block3.header.clone(), certify(block3, &[20, 22]))];
    assert!(matches!(
        follow_from_anchor(&proof.anchor, &set, &weak),
        Err(ProofError::Certificate { .. })
    ));
}

/// The proof of `host`'s validator bond in the state after block `height` of `chain`.
fn bond_proof(chain: &Personal, height: u64, host: &SecretKey) -> myriad_types::BondProof {
    let state = &chain.blocks[height as usize - 1].1;
    let bond = match state.object(&ObjectKey::ValidatorBond(host.host_id())) {
        Some(Object::ValidatorBond(bond)) => Some(*bond),
        _ => None,
    };
    myriad_types::BondProof {
        host: host.host_id(),
        bond,
        proof: BoundedBytes::new(encode(
            &state.prove_object(&ObjectKey::ValidatorBond(host.host_id())),
        ))
        .unwrap(),
    }
}

fn owner_bond(
    root: &Root,
    host: &SecretKey,
    chain: myriad_types::ChainId,
) -> Option<(u128, Height)> {
    let key = myriad_types::OwnerBond::key_of(&host.host_id(), &chain);
    match root.state.object(&ObjectKey::OwnerBond(key)) {
        Some(Object::OwnerBond(bond)) => Some((bond.held, bond.height)),
        _ => None,
    }
}

#[test]
fn the_directory_records_what_owners_bonded_to_a_host_as_proven_by_anchored_heads() {
    let mut root = Root::new();
    let anchorer = key(30);
    root.register(&anchorer, 100).unwrap();
    let mut chain = Personal::new(&[20, 21, 22, 23]);
    let id = chain.state.chain_id();
    let operator = key(21);
    chain.block(TxKind::Mint {
        to: chain.owner.address(),
        amount: 1_000,
    });
    chain.block(TxKind::BondValidator {
        host: operator.host_id(),
        amount: 400,
        vesting_ms: 3_600_000,
    });
    root.anchor(
        &anchorer,
        vec![AnchorEntry::Genesis(Box::new(chain.genesis.clone()))],
    )
    .unwrap();
    // A bond proof that lies about the amount is refused with the whole anchor.
    let mut lying = bond_proof(&chain, 2, &operator);
    if let Some(bond) = lying.bond.as_mut() {
        bond.amount = 4_000;
    }
    let mut head = chain.head(2, &[20, 21, 22]);
    head.bonds = BoundedVec::new(vec![lying]).unwrap();
    assert_eq!(
        anchor_error(root.anchor(&anchorer, vec![head_entry(head)])),
        AnchorError::BondProof {
            host: operator.host_id()
        }
    );
    assert_eq!(owner_bond(&root, &operator, id), None);
    let mut head = chain.head(2, &[20, 21, 22]);
    head.bonds = BoundedVec::new(vec![bond_proof(&chain, 2, &operator)]).unwrap();
    root.anchor(&anchorer, vec![head_entry(head)]).unwrap();
    assert_eq!(owner_bond(&root, &operator, id), Some((400, Height(2))));
    // Dropped from the set, the host's bond is settled: a proof of absence clears it.
    let keep: Vec<Validator> = [20u8, 22, 23]
        .iter()
        .map(|s| Validator {
            host: key(*s).host_id(),
            power: 1,
        })
        .collect();
    chain.block(TxKind::SetValidators {
        validators: BoundedVec::new(keep).unwrap(),
    });
    let mut head = chain.head(3, &[20, 21, 22]);
    head.bonds = BoundedVec::new(vec![bond_proof(&chain, 3, &operator)]).unwrap();
    assert_eq!(head.bonds[0].bond, None);
    root.anchor(&anchorer, vec![head_entry(head)]).unwrap();
    assert_eq!(owner_bond(&root, &operator, id), None);
    root.later(1);
}
