//! Amounts as people write them: decimal text in a chain's display units (`12.50` with two
//! decimals is 1250 base units), parsed exactly and shown with every decimal.

use crate::ids::Amount;

/// Why a written amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("amount `{0}` is not a number: write digits with at most one `.`, e.g. 12.50")]
    NotANumber(String),
    #[error(
        "amount `{text}` has more than {decimals} decimals, the most this chain's currency has"
    )]
    TooPrecise { text: String, decimals: u8 },
    #[error("amount `{0}` is too large")]
    TooLarge(String),
}

/// Parses `text` (`12`, `12.5`, `12.50`) as an amount of a currency with `decimals` decimals,
/// in base units. Refuses signs, exponents, separators and more decimals than the currency has.
pub fn parse_amount(text: &str, decimals: u8) -> Result<Amount, AmountError> {
    let not_a_number = || AmountError::NotANumber(text.to_owned());
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(not_a_number());
    }
    if text.ends_with('.') {
        return Err(not_a_number());
    }
    // Trailing zeros past the currency's decimals change nothing: `1.500` is `1.50`.
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > usize::from(decimals) {
        return Err(AmountError::TooPrecise {
            text: text.to_owned(),
            decimals,
        });
    }
    let too_large = || AmountError::TooLarge(text.to_owned());
    let scale = 10u128
        .checked_pow(u32::from(decimals))
        .ok_or_else(too_large)?;
    let whole: Amount = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_large())?
    };
    let padded = format!("{fraction:0<width$}", width = usize::from(decimals));
    let fraction: Amount = if padded.is_empty() {
        0
    } else {
        padded.parse().map_err(|_| too_large())?
    };
    whole
        .checked_mul(scale)
        .and_then(|units| units.checked_add(fraction))
        .ok_or_else(too_large)
}

/// Shows `amount` base units of a currency with `decimals` decimals, every decimal written:
/// 1250 with two decimals is `12.50`.
pub fn format_amount(amount: Amount, decimals: u8) -> String {
    let Some(scale) = 10u128.checked_pow(u32::from(decimals)) else {
        return amount.to_string();
    };
    if decimals == 0 {
        return amount.to_string();
    }
    format!(
        "{}.{:0width$}",
        amount / scale,
        amount % scale,
        width = usize::from(decimals)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_what_people_write() {
        assert_eq!(parse_amount("12.50", 2), Ok(1250));
        assert_eq!(parse_amount("12.5", 2), Ok(1250));
        assert_eq!(parse_amount("12", 2), Ok(1200));
        assert_eq!(parse_amount(".5", 2), Ok(50));
        assert_eq!(parse_amount("0.01", 2), Ok(1));
        assert_eq!(parse_amount("1.500", 2), Ok(150));
        assert_eq!(parse_amount("7", 0), Ok(7));
        assert_eq!(parse_amount("007", 0), Ok(7));
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        for text in [
            "", ".", "1.", "-1", "+1", "1e3", "1,5", "1.2.3", " 1", "abc",
        ] {
            assert_eq!(
                parse_amount(text, 2),
                Err(AmountError::NotANumber(text.to_owned())),
                "{text:?}"
            );
        }
        assert!(matches!(
            parse_amount("0.001", 2),
            Err(AmountError::TooPrecise { decimals: 2, .. })
        ));
        assert!(matches!(
            parse_amount("1.5", 0),
            Err(AmountError::TooPrecise { decimals: 0, .. })
        ));
        let max = u128::MAX.to_string();
        assert!(parse_amount(&max, 0).is_ok());
        assert!(matches!(
            parse_amount(&max, 2),
            Err(AmountError::TooLarge(_))
        ));
        assert!(matches!(
            parse_amount(&format!("{max}0"), 0),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn shows_every_decimal() {
        assert_eq!(format_amount(1250, 2), "12.50");
        assert_eq!(format_amount(1, 2), "0.01");
        assert_eq!(format_amount(0, 2), "0.00");
        assert_eq!(format_amount(7, 0), "7");
        assert_eq!(format_amount(u128::MAX, 18).len(), 40);
    }

    proptest! {
        #[test]
        fn shown_amounts_parse_back(amount in any::<u128>(), decimals in 0u8..=18) {
            prop_assert_eq!(parse_amount(&format_amount(amount, decimals), decimals), Ok(amount));
        }
    }
}
