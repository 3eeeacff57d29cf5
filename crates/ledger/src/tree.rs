//! A compact sparse Merkle tree over accounts: a binary trie on `blake3(address)` where a
//! subtree holding a single account collapses into its leaf. Its shape depends only on the
//! set of keys, so equal account sets give equal roots whatever order they were written in.
//!
//! Hashes: empty = zero; leaf = blake3(0x00 ‖ key ‖ blake3(account)); branch =
//! blake3(0x01 ‖ left ‖ right). An update rehashes one path: O(log n) for n accounts.

use borsh::{BorshDeserialize, BorshSerialize};
use myriad_types::{encode, Account, Address, BoundedVec, Hash};

/// The deepest a path can go: one level per bit of a key.
pub const TREE_DEPTH_MAX: usize = 256;

#[derive(Debug, Clone, Default)]
enum Node {
    #[default]
    Empty,
    Leaf {
        key: Hash,
        value: Hash,
        hash: Hash,
    },
    Branch {
        children: Box<[Node; 2]>,
        hash: Hash,
    },
}

impl Node {
    fn hash(&self) -> Hash {
        match self {
            Node::Empty => Hash::ZERO,
            Node::Leaf { hash, .. } | Node::Branch { hash, .. } => *hash,
        }
    }

    fn branch(children: [Node; 2]) -> Node {
        let hash = branch_hash(&children[0].hash(), &children[1].hash());
        Node::Branch {
            children: Box::new(children),
            hash,
        }
    }
}

fn branch_hash(left: &Hash, right: &Hash) -> Hash {
    Hash::of_parts(&[&[1], &left.0, &right.0])
}

fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    Hash::of_parts(&[&[0], &key.0, &value.0])
}

/// The tree key of an account.
pub fn account_key(address: &Address) -> Hash {
    Hash::digest(address.as_bytes())
}

/// The tree value of an account.
pub fn account_value(account: &Account) -> Hash {
    Hash::digest(&encode(account))
}

/// Bit `depth` of `key`, most significant first: 0 goes left, 1 goes right.
fn bit(key: &Hash, depth: usize) -> usize {
    usize::from((key.0[depth / 8] >> (7 - depth % 8)) & 1)
}

/// Whether the first `depth` bits of `a` and `b` agree.
fn shares_prefix(a: &Hash, b: &Hash, depth: usize) -> bool {
    (0..depth).all(|i| bit(a, i) == bit(b, i))
}

/// The accounts of one chain, authenticated by one root hash.
#[derive(Debug, Clone, Default)]
pub struct AccountTree {
    root: Node,
}

impl AccountTree {
    pub fn root(&self) -> Hash {
        self.root.hash()
    }

    /// Sets the value stored under `key`.
    pub fn insert(&mut self, key: Hash, value: Hash) {
        let root = std::mem::take(&mut self.root);
        self.root = insert(root, 0, Leaf::new(key, value));
    }

    /// Removes `key`; nothing happens if it is absent.
    pub fn remove(&mut self, key: &Hash) {
        let root = std::mem::take(&mut self.root);
        self.root = remove(root, 0, key);
    }

    /// The path from the root towards `key`: what [`TreeProof::root_for`] needs.
    pub fn prove(&self, key: &Hash) -> TreeProof {
        let mut siblings = Vec::new();
        let mut node = &self.root;
        let mut depth = 0;
        loop {
            match node {
                Node::Empty => break TreeProof::new(siblings, Terminal::Empty),
                Node::Leaf {
                    key: found, value, ..
                } if found != key => {
                    break TreeProof::new(
                        siblings,
                        Terminal::Other {
                            key: *found,
                            value: *value,
                        },
                    )
                }
                Node::Leaf { .. } => break TreeProof::new(siblings, Terminal::Included),
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

/// A leaf about to be placed in the tree.
struct Leaf {
    key: Hash,
    value: Hash,
    hash: Hash,
}

impl Leaf {
    fn new(key: Hash, value: Hash) -> Leaf {
        Leaf {
            hash: leaf_hash(&key, &value),
            key,
            value,
        }
    }

    fn into_node(self) -> Node {
        Node::Leaf {
            key: self.key,
            value: self.value,
            hash: self.hash,
        }
    }
}

fn insert(node: Node, depth: usize, leaf: Leaf) -> Node {
    match node {
        Node::Empty => leaf.into_node(),
        Node::Leaf { key, .. } if key == leaf.key => leaf.into_node(),
        Node::Leaf { key, value, hash } => split(depth, Leaf { key, value, hash }, leaf),
        Node::Branch { mut children, .. } => {
            let side = bit(&leaf.key, depth);
            let child = std::mem::take(&mut children[side]);
            children[side] = insert(child, depth + 1, leaf);
            Node::branch(*children)
        }
    }
}

/// A subtree at `depth` holding exactly two leaves of distinct keys.
fn split(depth: usize, a: Leaf, b: Leaf) -> Node {
    let (side_a, side_b) = (bit(&a.key, depth), bit(&b.key, depth));
    let mut children = [Node::Empty, Node::Empty];
    if side_a == side_b {
        // Distinct keys differ before the last bit, so this recursion ends within the depth.
        debug_assert!(depth + 1 < TREE_DEPTH_MAX);
        children[side_a] = split(depth + 1, a, b);
    } else {
        children[side_a] = a.into_node();
        children[side_b] = b.into_node();
    }
    Node::branch(children)
}

fn remove(node: Node, depth: usize, key: &Hash) -> Node {
    match node {
        Node::Leaf { key: found, .. } if found == *key => Node::Empty,
        Node::Empty | Node::Leaf { .. } => node,
        Node::Branch { mut children, .. } => {
            let side = bit(key, depth);
            let child = std::mem::take(&mut children[side]);
            children[side] = remove(child, depth + 1, key);
            // A branch left with one leaf and nothing else collapses into that leaf.
            match &mut *children {
                [Node::Empty, Node::Empty] => Node::Empty,
                [Node::Empty, leaf @ Node::Leaf { .. }]
                | [leaf @ Node::Leaf { .. }, Node::Empty] => std::mem::take(leaf),
                _ => Node::branch(*children),
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

    fn key(n: u32) -> Hash {
        Hash::digest(&n.to_le_bytes())
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
        let entries: Vec<(Hash, Hash)> = (0..300).map(|n| (key(n), key(n + 1000))).collect();
        let mut tree = AccountTree::default();
        for (k, v) in entries.iter().rev() {
            tree.insert(*k, *v);
        }
        assert_eq!(tree.root(), reference_root(&entries, 0));

        for (k, _) in entries.iter().step_by(3) {
            tree.remove(k);
        }
        let kept: Vec<(Hash, Hash)> = entries
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(_, e)| *e)
            .collect();
        assert_eq!(tree.root(), reference_root(&kept, 0));

        for (k, _) in &kept {
            tree.remove(k);
        }
        assert_eq!(tree.root(), Hash::ZERO);
    }

    #[test]
    fn proofs_show_inclusion_and_absence_and_nothing_else() {
        let mut tree = AccountTree::default();
        for n in 0..100 {
            tree.insert(key(n), key(n + 1000));
        }
        let root = tree.root();
        for n in 0..100 {
            let proof = tree.prove(&key(n));
            assert_eq!(proof.root_for(&key(n), Some(&key(n + 1000))), Some(root));
            assert_ne!(proof.root_for(&key(n), Some(&key(n + 1001))), Some(root));
            assert_eq!(proof.root_for(&key(n), None), None);
        }
        for n in 100..200 {
            let proof = tree.prove(&key(n));
            assert_eq!(proof.root_for(&key(n), None), Some(root));
            assert_eq!(proof.root_for(&key(n), Some(&key(0))), None);
        }
        // A proof for one key says nothing true about another.
        let proof = tree.prove(&key(1));
        assert_ne!(proof.root_for(&key(2), Some(&key(1001))), Some(root));
    }
}
