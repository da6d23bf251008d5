//! Exact reading of JSON numbers (I1 and every other body's readers): a number is taken
//! from its text (serde_json's `arbitrary_precision` keeps it), never through an `f64` that
//! rounds `1e-28` up to a hundredth or `1e-400` down to 0. A value that cannot be held
//! exactly at the precision its field allows is refused at that field.

use serde_json::Number;

/// Why a number cannot be read at the precision asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inexact {
    /// It has more decimals than the field allows (`1.5` for a whole number, `1e-28` for
    /// hours to two decimals, `1e-400`).
    Decimals,
    /// Its magnitude is beyond every bound a field has (more than 10^17 once scaled).
    TooLarge,
}

/// Most digits a scaled value may have: 10^17 and more is beyond every field's bound, and an
/// `i64` holds it without overflow.
const MAX_DIGITS: i64 = 17;

/// `number × 10^decimals` as a whole number, exactly: `Ok(1250)` for `12.5` with 2 decimals,
/// `Ok(1000)` for `1e3` with 0, `Err(Decimals)` for `1e-28` with 2, `Err(TooLarge)` for
/// `1e40`. Zero in any form (`0`, `-0`, `0.000`, `0e-400`) is `Ok(0)`.
pub(crate) fn scaled(number: &Number, decimals: u32) -> Result<i64, Inexact> {
    // With `arbitrary_precision`, the text as sent; without it, what the f64 prints.
    let text = number.to_string();
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], parse_exponent(&unsigned[at + 1..])),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return Err(Inexact::TooLarge); // not a decimal number (NaN or infinity printed)
    }
    // The value is digits × 10^(exponent − fraction length); drop leading and trailing zeros.
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    let trimmed = digits.trim_end_matches('0');
    if trimmed.is_empty() {
        return Ok(0);
    }
    let fraction_len = i64::try_from(fraction.len()).unwrap_or(i64::MAX);
    let trailing_zeros = i64::try_from(digits.len() - trimmed.len()).unwrap_or(0);
    let power = exponent
        .saturating_sub(fraction_len)
        .saturating_add(trailing_zeros)
        .saturating_add(i64::from(decimals));
    if power < 0 {
        return Err(Inexact::Decimals);
    }
    let length = i64::try_from(trimmed.len()).unwrap_or(i64::MAX);
    if length.saturating_add(power) > MAX_DIGITS {
        return Err(Inexact::TooLarge);
    }
    let mut value: i64 = 0;
    for b in trimmed.bytes() {
        value = value * 10 + i64::from(b - b'0');
    }
    for _ in 0..power {
        value *= 10;
    }
    Ok(if negative { -value } else { value })
}

/// The exponent after `e`, saturated far beyond any meaningful power (`1e99999999999999999999`
/// is too large, `1e-99999999999999999999` has too many decimals).
fn parse_exponent(text: &str) -> i64 {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = digits.bytes().fold(0i64, |acc, b| {
        acc.saturating_mul(10)
            .saturating_add(i64::from(b.wrapping_sub(b'0')))
            .min(1 << 40)
    });
    if negative { -magnitude } else { magnitude }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Number {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Number(n)) => n,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn i1_numbers_are_read_exactly_from_their_text() {
        for (text, decimals, expected) in [
            ("0", 0, Ok(0)),
            ("-0", 0, Ok(0)),
            ("0.000", 2, Ok(0)),
            ("0e-400", 0, Ok(0)),
            ("120", 0, Ok(120)),
            ("120.0", 0, Ok(120)),
            ("1e3", 0, Ok(1000)),
            ("1.5E1", 0, Ok(15)),
            ("-42", 0, Ok(-42)),
            ("37.5", 2, Ok(3750)),
            ("12.25", 2, Ok(1225)),
            ("12.250000", 2, Ok(1225)),
            ("0.5", 0, Err(Inexact::Decimals)),
            ("12.345", 2, Err(Inexact::Decimals)),
            ("1e-28", 2, Err(Inexact::Decimals)),
            ("1e-400", 0, Err(Inexact::Decimals)),
            ("1e-400", 2, Err(Inexact::Decimals)),
            ("1.0000000000000000001", 0, Err(Inexact::Decimals)),
            ("4294967295", 0, Ok(4_294_967_295)),
            ("1e17", 0, Err(Inexact::TooLarge)),
            ("99999999999999999999999", 0, Err(Inexact::TooLarge)),
            ("1e400", 0, Err(Inexact::TooLarge)),
            ("1e99999999999999999999999", 0, Err(Inexact::TooLarge)),
            ("1e-99999999999999999999999", 0, Err(Inexact::Decimals)),
        ] {
            assert_eq!(scaled(&number(text), decimals), expected, "{text}");
        }
    }
}
