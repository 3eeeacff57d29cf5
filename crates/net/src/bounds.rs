//! Connections accepted from outside, counted in total and per remote address, so that no
//! one address (and no crowd of them) holds every socket a server has.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{0} connections are open, the most allowed")]
    Total(usize),
    #[error("{1} connections from {0} are open, the most allowed from one address")]
    PerAddress(IpAddr, usize),
}

/// The open connections of one server, within `total_max` and `per_address_max`.
#[derive(Debug)]
pub struct ConnectionBounds {
    total_max: usize,
    per_address_max: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    /// Only addresses with at least one connection open.
    per_address: HashMap<IpAddr, usize>,
}

impl ConnectionBounds {
    pub fn new(total_max: usize, per_address_max: usize) -> ConnectionBounds {
        ConnectionBounds {
            total_max,
            per_address_max,
            open: Mutex::default(),
        }
    }

    /// Counts a new connection from `address`, unless it would pass a bound.
    pub fn admit(&self, address: IpAddr) -> Result<(), Refusal> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.total_max {
            return Err(Refusal::Total(open.total));
        }
        let from_address = open.per_address.entry(address).or_default();
        if *from_address >= self.per_address_max {
            let count = *from_address;
            return Err(Refusal::PerAddress(address, count));
        }
        *from_address += 1;
        open.total += 1;
        Ok(())
    }

    /// Forgets a connection [`admit`](Self::admit) counted.
    pub fn release(&self, address: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(from_address) = open.per_address.get_mut(&address) else {
            debug_assert!(
                false,
                "released a connection from {address} that was never admitted"
            );
            return;
        };
        *from_address -= 1;
        if *from_address == 0 {
            open.per_address.remove(&address);
        }
        open.total -= 1;
    }

    /// How many connections are open.
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_either_bound_and_admits_again_after_a_release() {
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let c: IpAddr = [10, 0, 0, 3].into();
        let bounds = ConnectionBounds::new(3, 2);
        assert_eq!(bounds.admit(a), Ok(()));
        assert_eq!(bounds.admit(a), Ok(()));
        assert_eq!(bounds.admit(a), Err(Refusal::PerAddress(a, 2)));
        assert_eq!(bounds.admit(b), Ok(()));
        assert_eq!(bounds.admit(c), Err(Refusal::Total(3)));
        assert_eq!(bounds.open(), 3);
        bounds.release(a);
        assert_eq!(bounds.admit(c), Ok(()));
        assert_eq!(bounds.admit(a), Err(Refusal::Total(3)));
        for address in [a, b, c] {
            bounds.release(address);
        }
        assert_eq!(bounds.open(), 0);
        assert_eq!(bounds.admit(a), Ok(()));
    }
}
