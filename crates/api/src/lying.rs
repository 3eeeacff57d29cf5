//! A lying host, for the tests of verifiers only (the `lying` feature, which only tests
//! enable): with `MYRIAD_LIE_IN_ANSWERS=1` in its environment, the API shows every account
//! one base unit richer than the proof it serves proves. A verifier must catch it.

use std::sync::OnceLock;

use myriad_types::Account;

/// The environment variable that makes a host built with the feature lie.
pub const LIE_IN_ANSWERS: &str = "MYRIAD_LIE_IN_ANSWERS";

fn lying() -> bool {
    static LYING: OnceLock<bool> = OnceLock::new();
    *LYING.get_or_init(|| std::env::var(LIE_IN_ANSWERS).is_ok_and(|value| value == "1"))
}

/// The account as a lying host shows it.
pub(crate) fn account(mut entry: Account) -> Account {
    if lying() {
        entry.balance = entry.balance.saturating_add(1);
    }
    entry
}
