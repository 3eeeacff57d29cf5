//! A compact sparse Merkle tree: a binary trie on each entry's key hash where a subtree
//! holding a single entry collapses into its leaf. Its shape depends only on the set of
//! keys, so equal sets give equal roots whatever order they were written in. The tree holds
//! the entries themselves: a chain's state keeps its accounts in one and its objects
//! (escrows, channels, allowlists) in another.
//!
//! Hashes: empty = zero; leaf = blake3(0x00 ‖ key ‖ value); branch =
//! blake3(0x01 ‖ left ‖ right), where an account's key is blake3(address) and its value
//! blake3(account), an object's key blake3("myriad/object/1" ‖ object key) and its value
//! blake3(object). An update rehashes one path: O(log n) for n entries.
//!
//! Nodes are shared between copies of a tree: a copy costs one reference count, and an
//! update to a copy copies only the nodes on its path that another copy still holds, so a
//! block is built and checked on a copy of its chain's state at the cost of the entries it
//! touches.

use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use myriad_types::{encode, Account, Address, BoundedVec, Hash, Object, ObjectKey};

/// The deepest a path can go: one level per bit of a key.
pub const TREE_DEPTH_MAX: usize = 256;

/// What a tree holds: entries found by an id, hashed into the tree's key and value.
pub trait TreeEntry: std::fmt::Debug {
    type Id: std::fmt::Debug;
    /// Where the entry of `id` lies in the tree.
    fn tree_key(id: &Self::Id) -> Hash;
    /// What the tree commits to for the entry.
    fn tree_value(&self) -> Hash;
}

impl TreeEntry for Account {
    type Id = Address;
    fn tree_key(address: &Address) -> Hash {
        Hash::digest(address.as_bytes())
    }
    fn tree_value(&self) -> Hash {
        Hash::digest(&encode(self))
    }
}

impl TreeEntry for Object {
    type Id = ObjectKey;
    fn tree_key(key: &ObjectKey) -> Hash {
        key.tree_key()
    }
    fn tree_value(&self) -> Hash {
        Hash::digest(&encode(self))
    }
}

#[derive(Debug, Default)]
enum Node<E: TreeEntry> {
    #[default]
    Empty,
    Leaf(Arc<Leaf<E>>),
    Branch {
        children: Arc<[Node<E>; 2]>,
        hash: Hash,
    },
}

// Derived, this would ask `E: Clone`, which sharing does not need.
impl<E: TreeEntry> Clone for Node<E> {
    fn clone(&self) -> Self {
        match self {
            Node::Empty => Node::Empty,
            Node::Leaf(leaf) => Node::Leaf(Arc::clone(leaf)),
            Node::Branch { children, hash } => Node::Branch {
                children: Arc::clone(children),
                hash: *hash,
            },
        }
    }
}

/// One entry in the tree, with its key, its value and its leaf's hash.
#[derive(Debug)]
struct Leaf<E: TreeEntry> {
    key: Hash,
    value: Hash,
    hash: Hash,
    id: E::Id,
    entry: E,
}

impl<E: TreeEntry> Leaf<E> {
    fn new(id: E::Id, entry: E) -> Leaf<E> {
        let key = E::tree_key(&id);
        let value = entry.tree_value();
        Leaf {
            hash: leaf_hash(&key, &value),
            key,
            value,
            id,
            entry,
        }
    }
}

impl<E: TreeEntry> Node<E> {
    fn hash(&self) -> Hash {
        match self {
            Node::Empty => Hash::ZERO,
            Node::Leaf(leaf) => leaf.hash,
            Node::Branch { hash, .. } => *hash,
        }
    }

    fn branch(children: Arc<[Node<E>; 2]>) -> Node<E> {
        let hash = branch_hash(&children[0].hash(), &children[1].hash());
        Node::Branch { children, hash }
    }
}

fn branch_hash(left: &Hash, right: &Hash) -> Hash {
    Hash::of_parts(&[&[1], &left.0, &right.0])
}

fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    Hash::of_parts(&[&[0], &key.0, &value.0])
}

/// Bit `depth` of `key`, most significant first: 0 goes left, 1 goes right.
fn bit(key: &Hash, depth: usize) -> usize {
    usize::from((key.0[depth / 8] >> (7 - depth % 8)) & 1)
}

/// Whether the first `depth` bits of `a` and `b` agree.
fn shares_prefix(a: &Hash, b: &Hash, depth: usize) -> bool {
    (0..depth).all(|i| bit(a, i) == bit(b, i))
}

/// Entries of one kind, authenticated by one root hash.
#[derive(Debug)]
pub struct Tree<E: TreeEntry> {
    root: Node<E>,
}

impl<E: TreeEntry> Clone for Tree<E> {
    fn clone(&self) -> Self {
        Tree {
            root: self.root.clone(),
        }
    }
}

impl<E: TreeEntry> Default for Tree<E> {
    fn default() -> Self {
        Tree { root: Node::Empty }
    }
}

/// A chain's accounts.
pub type AccountTree = Tree<Account>;
/// A chain's objects.
pub type ObjectTree = Tree<Object>;

impl<E: TreeEntry> Tree<E> {
    pub fn root(&self) -> Hash {
        self.root.hash()
    }

    pub fn is_empty(&self) -> bool {
        matches!(self.root, Node::Empty)
    }

    /// The entry stored for `id`, if any.
    pub fn get(&self, id: &E::Id) -> Option<&E> {
        let key = E::tree_key(id);
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                Node::Empty => return None,
                Node::Leaf(leaf) => return (leaf.key == key).then_some(&leaf.entry),
                Node::Branch { children, .. } => {
                    node = &children[bit(&key, depth)];
                    depth += 1;
                }
            }
        }
    }

    /// Stores `entry` for `id`, replacing what was there.
    pub fn insert(&mut self, id: E::Id, entry: E) {
        let root = std::mem::take(&mut self.root);
        self.root = insert(root, 0, Arc::new(Leaf::new(id, entry)));
    }

    /// Removes the entry of `id`; nothing happens if it is absent.
    pub fn remove(&mut self, id: &E::Id) {
        let root = std::mem::take(&mut self.root);
        self.root = remove(root, 0, &E::tree_key(id));
    }

    /// Every entry, in the order of their keys.
    pub fn iter(&self) -> impl Iterator<Item = (&E::Id, &E)> {
        let mut stack = vec![&self.root];
        std::iter::from_fn(move || loop {
            match stack.pop()? {
                Node::Empty => {}
                Node::Leaf(leaf) => return Some((&leaf.id, &leaf.entry)),
                Node::Branch { children, .. } => {
                    stack.push(&children[1]);
                    stack.push(&children[0]);
                }
            }
        })
    }

    /// The path from the root towards `key`: what [`TreeProof::root_for`] needs.
    pub fn prove(&self, key: &Hash) -> TreeProof {
        let mut siblings = Vec::new();
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                Node::Empty => break TreeProof::new(siblings, Terminal::Empty),
                Node::Leaf(leaf) if leaf.key != *key => {
                    break TreeProof::new(
                        siblings,
                        Terminal::Other {
                            key: leaf.key,
                            value: leaf.value,
                        },
                    )
                }
                Node::Leaf(_) => break TreeProof::new(siblings, Terminal::Included),
                Node::Branch { children, .. } => {
                    let side = bit(key, depth);
                    siblings.push(children[1 - side].hash());
                    node = &children[side];
                    depth += 1;
                }
            }
        }
    }
}

/// Children to change: the node's own, or a copy when another tree still holds them.
fn own<E: TreeEntry>(children: &mut Arc<[Node<E>; 2]>) -> &mut [Node<E>; 2] {
    Arc::make_mut(children)
}

fn insert<E: TreeEntry>(node: Node<E>, depth: usize, leaf: Arc<Leaf<E>>) -> Node<E> {
    match node {
        Node::Empty => Node::Leaf(leaf),
        Node::Leaf(found) if found.key == leaf.key => Node::Leaf(leaf),
        Node::Leaf(found) => split(depth, found, leaf),
        Node::Branch { mut children, .. } => {
            let side = bit(&leaf.key, depth);
            let slot = &mut own(&mut children)[side];
            *slot = insert(std::mem::take(slot), depth + 1, leaf);
            Node::branch(children)
        }
    }
}

/// A subtree at `depth` holding exactly two leaves of distinct keys.
fn split<E: TreeEntry>(depth: usize, a: Arc<Leaf<E>>, b: Arc<Leaf<E>>) -> Node<E> {
    let (side_a, side_b) = (bit(&a.key, depth), bit(&b.key, depth));
    let mut children = [Node::Empty, Node::Empty];
    if side_a == side_b {
        // Distinct keys differ before the last bit, so this recursion ends within the depth.
        debug_assert!(depth + 1 < TREE_DEPTH_MAX);
        children[side_a] = split(depth + 1, a, b);
    } else {
        children[side_a] = Node::Leaf(a);
        children[side_b] = Node::Leaf(b);
    }
    Node::branch(Arc::new(children))
}

fn remove<E: TreeEntry>(node: Node<E>, depth: usize, key: &Hash) -> Node<E> {
    match node {
        Node::Leaf(found) if found.key == *key => Node::Empty,
        Node::Empty | Node::Leaf(_) => node,
        Node::Branch { mut children, hash } => {
            let side = bit(key, depth);
            if matches!(&children[side], Node::Empty) {
                return Node::Branch { children, hash };
            }
            let owned = own(&mut children);
            owned[side] = remove(std::mem::take(&mut owned[side]), depth + 1, key);
            // A branch left with one leaf and nothing else collapses into that leaf.
            match owned {
                [Node::Empty, Node::Empty] => Node::Empty,
                [Node::Empty, leaf @ Node::Leaf(_)] | [leaf @ Node::Leaf(_), Node::Empty] => {
                    std::mem::take(leaf)
                }
                _ => Node::branch(children),
            }
        }
    }
}

/// Where a path towards a key ends.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Terminal {
    /// At the key's own leaf.
    Included,
    /// At an empty subtree: the key is absent.
    Empty,
    /// At the leaf of another key, which shares the path so far: the key is absent.
    Other { key: Hash, value: Hash },
}

/// The sibling hashes from the root down to where the path towards a key ends.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TreeProof {
    pub siblings: BoundedVec<Hash, TREE_DEPTH_MAX>,
    pub terminal: Terminal,
}

impl TreeProof {
    fn new(siblings: Vec<Hash>, terminal: Terminal) -> TreeProof {
        // A path has at most one sibling per bit of the key.
        let siblings = BoundedVec::new(siblings).unwrap_or_default();
        TreeProof { siblings, terminal }
    }

    /// The root this proof implies for `key` holding `value` (`None`: absent), or `None`
    /// when the proof cannot show that.
    pub fn root_for(&self, key: &Hash, value: Option<&Hash>) -> Option<Hash> {
        let mut hash = match (&self.terminal, value) {
            (Terminal::Included, Some(value)) => leaf_hash(key, value),
            (Terminal::Empty, None) => Hash::ZERO,
            (Terminal::Other { key: other, value }, None)
                if other != key && shares_prefix(key, other, self.siblings.len()) =>
            {
                leaf_hash(other, value)
            }
            _ => return None,
        };
        for (depth, sibling) in self.siblings.iter().enumerate().rev() {
            hash = match bit(key, depth) {
                0 => branch_hash(&hash, sibling),
                _ => branch_hash(sibling, &hash),
            };
        }
        Some(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(n: u32) -> Address {
        Address(Hash::digest(&n.to_le_bytes()).0)
    }

    fn account(n: u32) -> Account {
        Account {
            balance: u128::from(n) + 1,
            nonce: u64::from(n),
        }
    }

    /// A tree of the accounts `0..count`.
    fn tree_of(count: u32) -> AccountTree {
        let mut tree = AccountTree::default();
        for n in 0..count {
            tree.insert(address(n), account(n));
        }
        tree
    }

    fn entry(n: u32) -> (Hash, Hash) {
        (Account::tree_key(&address(n)), account(n).tree_value())
    }

    /// The root computed from scratch by definition, for comparison.
    fn reference_root(entries: &[(Hash, Hash)], depth: usize) -> Hash {
        match entries {
            [] => Hash::ZERO,
            [(key, value)] => leaf_hash(key, value),
            _ => {
                let (left, right): (Vec<_>, Vec<_>) =
                    entries.iter().partition(|(key, _)| bit(key, depth) == 0);
                branch_hash(
                    &reference_root(&left, depth + 1),
                    &reference_root(&right, depth + 1),
                )
            }
        }
    }

    #[test]
    fn insert_and_remove_match_the_definition_in_any_order() {
        let all: Vec<u32> = (0..300).collect();
        let mut tree = AccountTree::default();
        for n in all.iter().rev() {
            tree.insert(address(*n), account(*n));
        }
        let entries: Vec<(Hash, Hash)> = all.iter().map(|n| entry(*n)).collect();
        assert_eq!(tree.root(), reference_root(&entries, 0));
        assert_eq!(tree.iter().count(), 300);

        for n in all.iter().step_by(3) {
            tree.remove(&address(*n));
        }
        let kept: Vec<u32> = all.iter().copied().filter(|n| n % 3 != 0).collect();
        let entries: Vec<(Hash, Hash)> = kept.iter().map(|n| entry(*n)).collect();
        assert_eq!(tree.root(), reference_root(&entries, 0));
        assert_eq!(tree.iter().count(), kept.len());
        // Removing what is absent changes nothing.
        tree.remove(&address(0));
        tree.remove(&address(1_000));
        assert_eq!(tree.root(), reference_root(&entries, 0));

        for n in &kept {
            tree.remove(&address(*n));
        }
        assert_eq!(tree.root(), Hash::ZERO);
        assert_eq!(tree.iter().count(), 0);
    }

    #[test]
    fn the_tree_is_a_map_of_accounts() {
        let mut tree = tree_of(100);
        tree.insert(address(7), account(700));
        assert_eq!(tree.iter().count(), 100);
        assert_eq!(tree.get(&address(7)), Some(&account(700)));
        assert_eq!(tree.get(&address(8)), Some(&account(8)));
        assert_eq!(tree.get(&address(100)), None);
        let mut listed: Vec<(Address, Account)> = tree.iter().map(|(a, b)| (*a, *b)).collect();
        listed.sort_by_key(|(_, account)| account.nonce);
        let mut expected: Vec<(Address, Account)> =
            (0..100).map(|n| (address(n), account(n))).collect();
        expected[7].1 = account(700);
        expected.sort_by_key(|(_, account)| account.nonce);
        assert_eq!(listed, expected);
    }

    #[test]
    fn a_copy_changes_apart_from_its_original() {
        let original = tree_of(200);
        let root = original.root();
        let mut copy = original.clone();
        copy.insert(address(5), account(500));
        copy.remove(&address(6));
        copy.insert(address(1_000), account(1_000));
        // The original is as it was, root and entries.
        assert_eq!(original.root(), root);
        assert_eq!(original.get(&address(5)), Some(&account(5)));
        assert_eq!(original.get(&address(6)), Some(&account(6)));
        assert_eq!(original.get(&address(1_000)), None);
        // The copy is what its own updates made of it.
        let mut entries: Vec<(Hash, Hash)> = (0..200).filter(|n| *n != 6).map(entry).collect();
        entries[5] = (Account::tree_key(&address(5)), account(500).tree_value());
        entries.push(entry(1_000));
        assert_eq!(copy.root(), reference_root(&entries, 0));
        assert_eq!(copy.iter().count(), 200);
    }

    #[test]
    fn proofs_show_inclusion_and_absence_and_nothing_else() {
        let tree = tree_of(100);
        let root = tree.root();
        for n in 0..100 {
            let (key, value) = entry(n);
            let proof = tree.prove(&key);
            assert_eq!(proof.root_for(&key, Some(&value)), Some(root));
            assert_ne!(proof.root_for(&key, Some(&entry(n + 1).1)), Some(root));
            assert_eq!(proof.root_for(&key, None), None);
        }
        for n in 100..200 {
            let (key, _) = entry(n);
            let proof = tree.prove(&key);
            assert_eq!(proof.root_for(&key, None), Some(root));
            assert_eq!(proof.root_for(&key, Some(&entry(0).1)), None);
        }
        // A proof for one key says nothing true about another.
        let proof = tree.prove(&entry(1).0);
        assert_ne!(proof.root_for(&entry(2).0, Some(&entry(1).1)), Some(root));
    }
}
