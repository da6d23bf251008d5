//! Rule I3: which standard editions the CB accepts for new (initial or recertification)
//! applications, as data with validity windows rather than code branches.

use chrono::NaiveDate;
use serde_json::Value;

use crate::intake::application::StandardCode;
use crate::shared::error::{ErrorCode, FieldError};

/// I3: one row of the edition table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditionRule {
    /// The standard.
    pub standard: StandardCode,
    /// The edition as applicants write it (`"2022"`; GB/T 30146-2023 is `"2023"`).
    pub edition: &'static str,
    /// First day new applications are accepted; `None`: since publication.
    pub accepted_from: Option<NaiveDate>,
    /// First day new applications are **no longer** accepted (exclusive end); `None`: open.
    pub accepted_until: Option<NaiveDate>,
    /// Another standard that must be requested in the same application.
    pub requires: Option<StandardCode>,
    /// Why, for people reading the table and for error messages.
    pub note: &'static str,
}

impl EditionRule {
    /// I3: whether a new application for this edition is accepted on `today`.
    pub fn accepts_on(&self, today: NaiveDate) -> bool {
        self.accepted_from.is_none_or(|from| today >= from)
            && self.accepted_until.is_none_or(|until| today < until)
    }
}

const fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) => d,
        None => panic!("invalid date in the edition table"),
    }
}

/// I3: the edition table. Editions not listed are not accepted.
pub static EDITIONS: &[EditionRule] = &[
    EditionRule {
        standard: StandardCode::Iso27001,
        edition: "2013",
        accepted_from: None,
        accepted_until: Some(date(2024, 5, 1)),
        requires: None,
        note: "IAF MD26: no initial or recertification audits to ISO/IEC 27001:2013 from 2024-05-01; \
               all 2013 certificates invalid after 2025-10-31",
    },
    EditionRule {
        standard: StandardCode::Iso27001,
        edition: "2022",
        accepted_from: Some(date(2022, 10, 25)),
        accepted_until: None,
        requires: None,
        note: "current edition, published 2022-10-25",
    },
    EditionRule {
        standard: StandardCode::Iso22301,
        edition: "2012",
        accepted_from: None,
        accepted_until: Some(date(2021, 11, 1)),
        requires: None,
        note: "withdrawn: replaced by ISO 22301:2019; no initial or recertification audits after 2021-10-31",
    },
    EditionRule {
        standard: StandardCode::Iso22301,
        edition: "2019",
        accepted_from: Some(date(2019, 10, 31)),
        accepted_until: None,
        requires: None,
        note: "current edition, published 2019-10-31",
    },
    EditionRule {
        standard: StandardCode::GbT30146,
        edition: "2023",
        accepted_from: None,
        accepted_until: None,
        requires: None,
        note: "GB/T 30146-2023, China's equivalent of ISO 22301:2019",
    },
    EditionRule {
        standard: StandardCode::Iso27701,
        edition: "2019",
        accepted_from: None,
        accepted_until: None,
        requires: Some(StandardCode::Iso27001),
        note: "an extension of ISO/IEC 27001: certified only together with ISO/IEC 27001",
    },
    EditionRule {
        standard: StandardCode::Iso27701,
        edition: "2025",
        accepted_from: None,
        accepted_until: None,
        requires: None,
        note: "second edition (October 2025): a stand-alone privacy management system standard",
    },
];

/// I3: the table row for a standard and edition, if any.
pub fn lookup(standard: StandardCode, edition: &str) -> Option<&'static EditionRule> {
    EDITIONS
        .iter()
        .find(|r| r.standard == standard && r.edition == edition)
}

/// I3: the editions of `standard` accepted for new applications on `today`.
pub fn accepted_editions(standard: StandardCode, today: NaiveDate) -> Vec<&'static str> {
    EDITIONS
        .iter()
        .filter(|r| r.standard == standard && r.accepts_on(today))
        .map(|r| r.edition)
        .collect()
}

/// I3: checks the requested `(code, edition)` pairs, in application order, on `today`;
/// `None` stands for an entry whose code or edition was already reported as invalid (I1).
/// Errors: `standard_not_accepted` (unknown code), `edition_not_accepted` (edition not in
/// the table or outside its window), `requires_standard` (e.g. 27701:2019 without 27001).
pub fn check(requested: &[(Option<&str>, Option<&str>)], today: NaiveDate) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let present: Vec<StandardCode> = requested
        .iter()
        .filter_map(|(code, _)| code.and_then(StandardCode::parse))
        .collect();
    for (i, (code, edition)) in requested.iter().enumerate() {
        let Some(code) = code else { continue };
        let Some(standard) = StandardCode::parse(code) else {
            let known: Vec<&str> = StandardCode::ALL.iter().map(|c| c.as_str()).collect();
            errors.push(FieldError::new(
                format!("/standards/{i}/code"),
                ErrorCode::StandardNotAccepted,
                format!(
                    "`{code}` is not certified here; the standards are: {}",
                    known.join(", ")
                ),
                "I3",
            ));
            continue;
        };
        let Some(edition) = edition else { continue };
        let rule = lookup(standard, edition);
        match rule {
            Some(rule) if rule.accepts_on(today) => {}
            _ => {
                let accepted = accepted_editions(standard, today);
                let why = rule.map(|r| format!(" ({})", r.note)).unwrap_or_default();
                errors.push(FieldError::new(
                    format!("/standards/{i}/edition"),
                    ErrorCode::EditionNotAccepted,
                    format!(
                        "{}:{edition} is not accepted for new applications{why}; accepted: {}",
                        standard.as_str(),
                        accepted.join(", ")
                    ),
                    "I3",
                ));
            }
        }
        if let Some(needed) = rule
            .and_then(|r| r.requires)
            .filter(|needed| !present.contains(needed))
        {
            errors.push(FieldError::new(
                format!("/standards/{i}"),
                ErrorCode::RequiresStandard,
                format!(
                    "{}:{edition} requires {} in the same application ({})",
                    standard.as_str(),
                    needed.as_str(),
                    rule.map_or("", |r| r.note)
                ),
                "I3",
            ));
        }
    }
    errors
}

/// I3 over a cleaned document (see `schema::check`): reads `/standards`.
pub(crate) fn check_document(doc: &Value, today: NaiveDate, errors: &mut Vec<FieldError>) {
    let requested: Vec<(Option<&str>, Option<&str>)> = doc
        .pointer("/standards")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|s| {
                    (
                        s.get("code").and_then(Value::as_str),
                        s.get("edition").and_then(Value::as_str),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    errors.extend(check(&requested, today));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        date(y, m, d)
    }

    fn codes(errors: &[FieldError]) -> Vec<(&str, ErrorCode)> {
        errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    #[test]
    fn i3_27001_2013_refused_from_2024_05_01() {
        let req = [(Some("ISO/IEC 27001"), Some("2013"))];
        assert!(check(&req, day(2024, 4, 30)).is_empty());
        let errors = check(&req, day(2024, 5, 1));
        assert_eq!(
            codes(&errors),
            [("/standards/0/edition", ErrorCode::EditionNotAccepted)]
        );
        assert_eq!(errors[0].rule, "I3");
        assert!(
            errors[0].message.contains("accepted: 2022"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn i3_27001_2022_accepted() {
        assert!(check(&[(Some("ISO/IEC 27001"), Some("2022"))], day(2026, 11, 23)).is_empty());
    }

    #[test]
    fn i3_22301_2012_refused_2019_accepted() {
        let today = day(2026, 11, 23);
        let errors = check(
            &[
                (Some("ISO 22301"), Some("2012")),
                (Some("ISO 22301"), Some("2019")),
            ],
            today,
        );
        assert_eq!(
            codes(&errors),
            [("/standards/0/edition", ErrorCode::EditionNotAccepted)]
        );
    }

    #[test]
    fn i3_gbt_30146_2023_accepted_other_editions_not() {
        let today = day(2026, 11, 23);
        assert!(check(&[(Some("GB/T 30146"), Some("2023"))], today).is_empty());
        let errors = check(&[(Some("GB/T 30146"), Some("2013"))], today);
        assert_eq!(
            codes(&errors),
            [("/standards/0/edition", ErrorCode::EditionNotAccepted)]
        );
    }

    #[test]
    fn i3_27701_2019_requires_27001() {
        let today = day(2026, 11, 23);
        let alone = check(&[(Some("ISO/IEC 27701"), Some("2019"))], today);
        assert_eq!(
            codes(&alone),
            [("/standards/0", ErrorCode::RequiresStandard)]
        );
        assert!(
            check(
                &[
                    (Some("ISO/IEC 27001"), Some("2022")),
                    (Some("ISO/IEC 27701"), Some("2019"))
                ],
                today
            )
            .is_empty()
        );
        // A 27001 entry whose edition is invalid still counts as present.
        assert!(
            check(
                &[
                    (Some("ISO/IEC 27001"), None),
                    (Some("ISO/IEC 27701"), Some("2019"))
                ],
                today
            )
            .is_empty()
        );
    }

    #[test]
    fn i3_27701_2025_stands_alone() {
        assert!(check(&[(Some("ISO/IEC 27701"), Some("2025"))], day(2026, 11, 23)).is_empty());
    }

    #[test]
    fn i3_unknown_standard_and_edition() {
        let today = day(2026, 11, 23);
        let errors = check(
            &[
                (Some("ISO 9001"), Some("2015")),
                (Some("ISO/IEC 27001"), Some("2099")),
            ],
            today,
        );
        assert_eq!(
            codes(&errors),
            [
                ("/standards/0/code", ErrorCode::StandardNotAccepted),
                ("/standards/1/edition", ErrorCode::EditionNotAccepted)
            ]
        );
    }

    #[test]
    fn i3_window_bounds_are_from_inclusive_until_exclusive() {
        let Some(rule) = lookup(StandardCode::Iso27001, "2022") else {
            panic!("27001:2022 is in the table")
        };
        assert!(!rule.accepts_on(day(2022, 10, 24)));
        assert!(rule.accepts_on(day(2022, 10, 25)));
        let Some(old) = lookup(StandardCode::Iso27001, "2013") else {
            panic!("27001:2013 is in the table")
        };
        assert!(old.accepts_on(day(2024, 4, 30)) && !old.accepts_on(day(2024, 5, 1)));
    }

    #[test]
    fn i3_table_rows_are_unique_and_windows_ordered() {
        for (i, a) in EDITIONS.iter().enumerate() {
            assert!(
                EDITIONS[i + 1..]
                    .iter()
                    .all(|b| (a.standard, a.edition) != (b.standard, b.edition))
            );
            if let (Some(from), Some(until)) = (a.accepted_from, a.accepted_until) {
                assert!(from < until);
            }
        }
        for code in StandardCode::ALL {
            assert!(
                !accepted_editions(code, day(2026, 11, 23)).is_empty(),
                "{code:?} has an accepted edition"
            );
        }
    }
}
