//! Text formats the application contract uses (rule I1): dates, email, phone, ISO 3166
//! country codes, URLs, and China's unified social credit code (GB 32100-2015).

use chrono::NaiveDate;

/// Whether `text` shows nothing: every character is white space or an invisible format
/// character (zero-width space and joiners, word joiner, BOM, soft hyphen, bidirectional
/// marks, Hangul fillers, variation selectors). A required text that is blank is missing
/// (I1, C1: a certificate must not show a blank CB name).
pub fn is_blank(text: &str) -> bool {
    text.chars().all(|c| {
        c.is_whitespace()
            || matches!(
                c,
                '\u{00AD}'
                    | '\u{034F}'
                    | '\u{115F}'
                    | '\u{1160}'
                    | '\u{180E}'
                    | '\u{200B}'..='\u{200F}'
                    | '\u{202A}'..='\u{202E}'
                    | '\u{2060}'..='\u{206F}'
                    | '\u{3164}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{FEFF}'
                    | '\u{FFA0}'
            )
    })
}

/// Why a date string was rejected (I1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateError {
    /// Not `YYYY-MM-DD`, or not a calendar date (`2026-02-30`).
    Format,
    /// A calendar date before 1900-01-01.
    Range,
}

/// I1: parses a strict ISO 8601 calendar date `YYYY-MM-DD` from 1900 on.
pub fn parse_date(s: &str) -> Result<NaiveDate, DateError> {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !digits(0..4)
        || !digits(5..7)
        || !digits(8..10)
    {
        return Err(DateError::Format);
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(DateError::Format);
    };
    let year = i32::try_from(y).map_err(|_| DateError::Format)?;
    let date = NaiveDate::from_ymd_opt(year, m, d).ok_or(DateError::Format)?;
    if year < 1900 {
        Err(DateError::Range)
    } else {
        Ok(date)
    }
}

/// I1: email syntax (`local@domain.tld`): no quoting or IP literals; letters may be non-ASCII.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    local_ok && domain_ok
}

/// I1: an E.164-like phone number: digits, spaces, hyphens and parentheses, optionally one
/// leading `+`; 7 to 15 digits.
pub fn is_phone(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    body.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
        && body.starts_with(|c: char| c.is_ascii_digit() || c == '(')
        && (7..=15).contains(&digits)
}

/// The officially assigned ISO 3166-1 alpha-2 codes (249, from the iso-codes 4.15 data).
pub(crate) const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ \
DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ \
GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN \
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS \
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT \
PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF \
TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM \
ZW";

/// I1: an officially assigned ISO 3166-1 alpha-2 code, uppercase (`CN`, not `cn`).
pub fn is_country(s: &str) -> bool {
    s.len() == 2
        && s.bytes().all(|b| b.is_ascii_uppercase())
        && COUNTRIES.split(' ').any(|c| c == s)
}

/// I1: an absolute `http://` or `https://` URL with a host and no whitespace.
pub fn is_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split(['/', '?', '#']).next().unwrap_or("");
        !host.is_empty() && !r.chars().any(char::is_whitespace)
    })
}

/// The 31 characters of a unified social credit code, in value order (GB 32100-2015: the
/// digits and the capital letters without I, O, Z, S, V).
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Why a unified social credit code was rejected (I1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsccError {
    /// Not 18 characters.
    Length,
    /// A character outside the code's alphabet (or a non-digit in the region code, 3rd–8th),
    /// at this 1-based position.
    Character(usize),
    /// The 18th character is not the check character computed from the first 17.
    Checksum {
        /// The check character the first 17 give.
        expected: char,
    },
}

/// I1: the GB 32100-2015 check character for the first 17 characters of a unified social
/// credit code: weights 3^(i) mod 31, check value 31 − (Σ mod 31), 31 meaning 0.
pub fn uscc_check_character(first17: &str) -> Option<char> {
    let values: Vec<usize> = first17
        .bytes()
        .map(|b| USCC_CHARS.iter().position(|&c| c == b))
        .collect::<Option<_>>()?;
    if values.len() != 17 {
        return None;
    }
    let mut weight = 1;
    let mut sum = 0;
    for v in values {
        sum += v * weight;
        weight = weight * 3 % 31;
    }
    let check = (31 - sum % 31) % 31;
    USCC_CHARS.get(check).map(|&c| char::from(c))
}

/// I1: checks a unified social credit code: 18 characters of its alphabet, digits in the
/// region code (3rd–8th), and the check character.
pub fn check_uscc(code: &str) -> Result<(), UsccError> {
    if code.chars().count() != 18 {
        return Err(UsccError::Length);
    }
    for (i, c) in code.bytes().enumerate() {
        let in_alphabet = USCC_CHARS.contains(&c);
        if !in_alphabet || ((2..8).contains(&i) && !c.is_ascii_digit()) {
            return Err(UsccError::Character(i + 1));
        }
    }
    let expected = code
        .get(..17)
        .and_then(uscc_check_character)
        .ok_or(UsccError::Length)?;
    if code.ends_with(expected) {
        Ok(())
    } else {
        Err(UsccError::Checksum { expected })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i1_uscc_checksum() {
        // The worked example of GB 32100-2015 and a corrected DESIGN example.
        assert_eq!(check_uscc("91350100M000100Y43"), Ok(()));
        assert_eq!(check_uscc("91310000MA1FL8XQ37"), Ok(()));
        // The DESIGN page's example number has a wrong check character (C; 7 is right).
        assert_eq!(
            check_uscc("91310000MA1FL8XQ3C"),
            Err(UsccError::Checksum { expected: '7' })
        );
        assert_eq!(check_uscc("91350100M000100Y4"), Err(UsccError::Length));
        assert_eq!(
            check_uscc("91350100M000100YI3"),
            Err(UsccError::Character(17))
        );
        assert_eq!(
            check_uscc("9135010AM000100Y43"),
            Err(UsccError::Character(8))
        );
        assert_eq!(
            check_uscc("91350100m000100Y43"),
            Err(UsccError::Character(9))
        );
        assert_eq!(uscc_check_character("91350100M000100Y4"), Some('3'));
        assert_eq!(uscc_check_character("short"), None);
    }

    #[test]
    fn i1_uscc_check_value_31_maps_to_zero() {
        // The last weight (28) is invertible mod 31, so the 31 possible 17th characters give
        // 31 different check characters: every value 0..=30 occurs, 0 included (sum ≡ 0).
        let mut checks: Vec<char> = USCC_CHARS
            .iter()
            .filter_map(|&c| uscc_check_character(&format!("9131000012345678{}", char::from(c))))
            .collect();
        checks.sort_unstable();
        checks.dedup();
        assert_eq!(checks.len(), 31);
        assert!(checks.contains(&'0'));
    }

    #[test]
    fn i1_dates_are_strict_iso() {
        assert_eq!(
            parse_date("2026-01-15"),
            NaiveDate::from_ymd_opt(2026, 1, 15).ok_or(DateError::Format)
        );
        for bad in [
            "2026-1-15",
            "2026-02-30",
            "15/01/2026",
            "2026-01-15T00:00",
            "+2026-01-1",
            "２０２６-01-15",
        ] {
            assert_eq!(parse_date(bad), Err(DateError::Format), "{bad}");
        }
        assert_eq!(parse_date("1899-12-31"), Err(DateError::Range));
    }

    #[test]
    fn i1_c1_invisible_text_is_blank() {
        for blank in [
            "",
            " ",
            "\u{200B}",
            " \u{FEFF}\u{2060} ",
            "\u{3164}",
            "\u{00A0}",
        ] {
            assert!(is_blank(blank), "{blank:?}");
        }
        for shown in ["a", "\u{200B}a", "中", "-"] {
            assert!(!is_blank(shown), "{shown:?}");
        }
    }

    #[test]
    fn i1_email_phone_country_url() {
        assert!(is_email("li.wei@acme.example"));
        assert!(is_email("李伟@例子.中国"));
        for bad in [
            "li.wei",
            "@acme.example",
            "li@acme",
            "li..wei@acme.example",
            "li@-acme.example",
            "li@acme.123",
            "li wei@acme.example",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_phone("+86 21 5555 0100"));
        assert!(is_phone("(021) 5555-0100"));
        for bad in [
            "+86 21 5555 0100 ext 3",
            "++86 215555",
            "12345",
            "+",
            "86+215555010",
        ] {
            assert!(!is_phone(bad), "{bad}");
        }
        assert!(is_country("CN") && is_country("GB") && is_country("ZW"));
        assert!(!is_country("cn") && !is_country("XX") && !is_country("CHN") && !is_country("UK"));
        assert!(is_url("https://acme.example") && is_url("http://acme.example/a?b#c"));
        assert!(!is_url("acme.example") && !is_url("https://") && !is_url("https://acme example"));
    }
}
