//! The shape of the application contract as data (rule I1): every field's type, presence,
//! length cap and format, in one table. Validation walks it to check a JSON document
//! structurally; the form decoder walks it to know which form fields are numbers or booleans.

use serde_json::{Map, Value};

use crate::intake::application::{CertificateStatus, Language, LegalIdType};
use crate::intake::config::IntakeConfig;
use crate::shared::error::{ErrorCode, FieldError};
use crate::shared::formats::{self, DateError};
use crate::shared::number::{self, Inexact};

/// I1: what a field holds.
#[derive(Debug)]
pub(crate) enum Kind {
    /// A JSON object with exactly these fields.
    Object(&'static [Prop]),
    /// A JSON array of at most `max` items.
    Array { item: &'static Kind, max: usize },
    /// Trimmed text.
    Text { cap: Cap, format: Format },
    /// A whole number in `min..=max`.
    Integer { min: i64, max: i64 },
    /// A number in `(above, max]` with at most `decimals` decimals (whole bounds, so messages
    /// need no float formatting), read exactly from its text.
    Number { above: i64, max: i64, decimals: u32 },
    /// `true` or `false`.
    Bool,
    /// One of these strings.
    Enum(&'static [&'static str]),
}

/// I1: a field of an object.
#[derive(Debug)]
pub(crate) struct Prop {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// Missing, null, empty text or an empty list is an error.
    pub(crate) required: bool,
}

/// I1: a text length cap in characters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cap {
    Chars(usize),
    /// [`IntakeConfig::max_scope_len`].
    Scope,
}

/// I1: text formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// One line of text: no control characters.
    Line,
    /// Free text: line breaks and tabs allowed, no other control characters.
    Multiline,
    Date,
    Email,
    Phone,
    Country,
    Url,
}

pub(crate) const fn req(name: &'static str, kind: Kind) -> Prop {
    Prop {
        name,
        kind,
        required: true,
    }
}
pub(crate) const fn opt(name: &'static str, kind: Kind) -> Prop {
    Prop {
        name,
        kind,
        required: false,
    }
}
pub(crate) const fn line(max: usize) -> Kind {
    Kind::Text {
        cap: Cap::Chars(max),
        format: Format::Line,
    }
}
pub(crate) const fn multiline(max: usize) -> Kind {
    Kind::Text {
        cap: Cap::Chars(max),
        format: Format::Multiline,
    }
}
const fn text(format: Format, max: usize) -> Kind {
    Kind::Text {
        cap: Cap::Chars(max),
        format,
    }
}
const DATE: Kind = text(Format::Date, 40);
/// Headcounts: non-negative, capped at a million per figure.
const HEADCOUNT: Kind = Kind::Integer {
    min: 0,
    max: 1_000_000,
};
/// Unknown fields reported one by one per object; the rest are counted in one error (a
/// hostile body cannot make the answer as large as itself).
const MAX_UNKNOWN_REPORTED: usize = 20;
/// Most sites an application may list (also the form decoder's index cap).
pub(crate) const MAX_SITES: usize = 1000;

/// An address (I1), also a certified site's or organisation's in a change (G1).
pub(crate) const ADDRESS: &[Prop] = &[
    req("street", line(200)),
    req("city", line(100)),
    opt("postcode", line(20)),
    req("country", text(Format::Country, 60)),
];
const ORGANIZATION: &[Prop] = &[
    req("legal_name", line(200)),
    req(
        "legal_id",
        Kind::Object(&[
            req("type", Kind::Enum(LegalIdType::NAMES)),
            req("number", line(50)),
        ]),
    ),
    req("address", Kind::Object(ADDRESS)),
    opt("website", text(Format::Url, 200)),
];
const CONTACT: &[Prop] = &[
    req("name", line(100)),
    req("email", text(Format::Email, 254)),
    req("phone", text(Format::Phone, 30)),
];
const STANDARD: Kind = Kind::Object(&[req("code", line(40)), req("edition", line(20))]);
const PART_TIME: Kind = Kind::Object(&[
    req(
        "count",
        Kind::Integer {
            min: 1,
            max: 1_000_000,
        },
    ),
    // A1: hours to the hundredth, as the review computes them.
    req(
        "weekly_hours",
        Kind::Number {
            above: 0,
            max: 168,
            decimals: 2,
        },
    ),
]);
const PERSONNEL: &[Prop] = &[
    req("full_time", HEADCOUNT),
    opt(
        "part_time",
        Kind::Array {
            item: &PART_TIME,
            max: 50,
        },
    ),
    req("temporary", HEADCOUNT),
    req("contractors", HEADCOUNT),
];
const SITE: Kind = Kind::Object(&[
    req("name", line(200)),
    req("central", Kind::Bool),
    opt("virtual", Kind::Bool),
    req("address", Kind::Object(ADDRESS)),
    req("activities", multiline(2000)),
    req("personnel", Kind::Object(PERSONNEL)),
    req("shifts", Kind::Integer { min: 1, max: 24 }),
]);
const REPETITIVE_GROUP: Kind = Kind::Object(&[
    req("description", line(500)),
    req(
        "site",
        Kind::Integer {
            min: 0,
            max: MAX_SITES as i64,
        },
    ),
    req(
        "count",
        Kind::Integer {
            min: 1,
            max: 1_000_000,
        },
    ),
]);
const PROCESS: Kind = line(200);
const CONSULTANCY: Kind = Kind::Object(&[
    req("provider", line(200)),
    req("person", line(100)),
    req("ended_on", DATE),
]);
const STATUS: Kind = Kind::Enum(CertificateStatus::NAMES);
const PREVIOUS_CERTIFICATION: Kind = Kind::Object(&[
    req("certification_body", line(200)),
    req("certificate_number", line(100)),
    req("status", STATUS),
    // Required for suspended or withdrawn certificates: that is I5's check.
    opt("status_changed_on", DATE),
    opt("own_fault", Kind::Bool),
]);

/// I1: the whole application.
pub(crate) static APPLICATION: Kind = Kind::Object(&[
    req("organization", Kind::Object(ORGANIZATION)),
    req("contact", Kind::Object(CONTACT)),
    req(
        "standards",
        Kind::Array {
            item: &STANDARD,
            max: 10,
        },
    ),
    req(
        "scope",
        Kind::Text {
            cap: Cap::Scope,
            format: Format::Multiline,
        },
    ),
    req(
        "sites",
        Kind::Array {
            item: &SITE,
            max: MAX_SITES,
        },
    ),
    opt(
        "repetitive_groups",
        Kind::Array {
            item: &REPETITIVE_GROUP,
            max: 100,
        },
    ),
    req(
        "management_system",
        Kind::Object(&[
            req("operating_since", DATE),
            // Missing audit or review dates are I4's `not_ready`, not I1's `required`.
            opt("last_internal_audit", DATE),
            opt("last_management_review", DATE),
        ]),
    ),
    opt(
        "outsourced_processes",
        Kind::Array {
            item: &PROCESS,
            max: 100,
        },
    ),
    opt(
        "consultancy",
        Kind::Array {
            item: &CONSULTANCY,
            max: 20,
        },
    ),
    req(
        "restricted_records",
        Kind::Object(&[
            req("present", Kind::Bool),
            opt("description", multiline(2000)),
        ]),
    ),
    opt(
        "transfer",
        Kind::Object(&[
            req("previous_cb", line(200)),
            req("certificate_number", line(100)),
            req("status", STATUS),
            req("expires_on", DATE),
            req("issuing_cb_ceased", Kind::Bool),
        ]),
    ),
    opt("recertification_of", line(100)),
    opt(
        "previous_certifications",
        Kind::Array {
            item: &PREVIOUS_CERTIFICATION,
            max: 20,
        },
    ),
    req(
        "declarations",
        Kind::Object(&[
            req("not_on_serious_illegal_list", Kind::Bool),
            req("no_business_suspension_order", Kind::Bool),
            req("no_withdrawal_for_own_fault_in_last_12_months", Kind::Bool),
        ]),
    ),
    req("language", Kind::Enum(Language::NAMES)),
]);

impl Kind {
    /// The field `name` of an object kind (used by the form decoder).
    pub(crate) fn prop(&self, name: &str) -> Option<&Prop> {
        match self {
            Kind::Object(props) => props.iter().find(|p| p.name == name),
            _ => None,
        }
    }

    /// The item kind of an array kind (used by the form decoder).
    pub(crate) fn item(&self) -> Option<&'static Kind> {
        match self {
            Kind::Array { item, .. } => Some(item),
            _ => None,
        }
    }
}

/// I1: checks `input` against [`APPLICATION`], pushing every structural error (I2) and
/// returning the *cleaned* document: strings trimmed, whole numbers normalised, missing
/// optional fields left out, and every invalid value left out (array items become `null`,
/// keeping indexes), so later checks only ever see well-typed values.
pub(crate) fn check(input: &Value, config: &IntakeConfig, errors: &mut Vec<FieldError>) -> Value {
    check_kind(&APPLICATION, input, "I1", config, errors)
}

/// Checks `input` against any `kind` the way [`check`] checks an application (every error at
/// once, cleaned document out), citing `rule` in the errors: other operator inputs (the
/// remote-audit assessment, M1) share the walk.
pub(crate) fn check_kind(
    kind: &Kind,
    input: &Value,
    rule: &'static str,
    config: &IntakeConfig,
    errors: &mut Vec<FieldError>,
) -> Value {
    let mut walker = Walker {
        config,
        errors,
        path: String::new(),
        rule,
    };
    walker.value(kind, Some(input), true).unwrap_or(Value::Null)
}

struct Walker<'a> {
    config: &'a IntakeConfig,
    errors: &'a mut Vec<FieldError>,
    /// JSON pointer of the value being checked.
    path: String,
    /// The rule the errors cite (`I1` for an application).
    rule: &'static str,
}

impl Walker<'_> {
    fn error(&mut self, code: ErrorCode, message: impl Into<String>) {
        self.errors
            .push(FieldError::new(self.path.clone(), code, message, self.rule));
    }

    /// Runs `f` with `segment` appended to the path.
    fn at<T>(&mut self, segment: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.path.len();
        self.path.push('/');
        for c in segment.chars() {
            match c {
                '~' => self.path.push_str("~0"),
                '/' => self.path.push_str("~1"),
                c => self.path.push(c),
            }
        }
        let out = f(self);
        self.path.truncate(len);
        out
    }

    fn missing(&mut self, required: bool, what: &str) -> Option<Value> {
        if required {
            self.error(ErrorCode::Required, format!("{what} is required"));
        }
        None
    }

    fn value(&mut self, kind: &Kind, value: Option<&Value>, required: bool) -> Option<Value> {
        let value = match value {
            None | Some(Value::Null) => return self.missing(required, "this field"),
            Some(v) => v,
        };
        match kind {
            Kind::Object(props) => self.object(props, value),
            Kind::Array { item, max } => self.array(item, *max, value, required),
            Kind::Text { cap, format } => self.text(*cap, *format, value, required),
            Kind::Integer { min, max } => self.integer(*min, *max, value),
            Kind::Number {
                above,
                max,
                decimals,
            } => self.number(*above, *max, *decimals, value),
            Kind::Bool => match value {
                Value::Bool(_) => Some(value.clone()),
                _ => self.invalid_type("true or false"),
            },
            Kind::Enum(names) => match value.as_str().map(str::trim) {
                None => self.invalid_type("text"),
                Some("") => self.missing(required, "this field"),
                Some(s) if names.contains(&s) => Some(Value::from(s)),
                Some(_) => {
                    self.error(
                        ErrorCode::InvalidValue,
                        format!("must be one of: {}", names.join(", ")),
                    );
                    None
                }
            },
        }
    }

    fn invalid_type(&mut self, expected: &str) -> Option<Value> {
        self.error(ErrorCode::InvalidType, format!("expected {expected}"));
        None
    }

    fn object(&mut self, props: &[Prop], value: &Value) -> Option<Value> {
        let Value::Object(map) = value else {
            return self.invalid_type("an object");
        };
        let mut out = Map::new();
        for prop in props {
            if let Some(v) = self.at(prop.name, |w| {
                w.value(&prop.kind, map.get(prop.name), prop.required)
            }) {
                out.insert(prop.name.to_owned(), v);
            }
        }
        let unknown: Vec<&String> = map
            .keys()
            .filter(|k| !props.iter().any(|p| p.name == k.as_str()))
            .collect();
        for key in unknown.iter().take(MAX_UNKNOWN_REPORTED) {
            let hint = props
                .iter()
                .map(|p| p.name)
                .filter(|_| key.chars().count() <= 64)
                .map(|name| (edit_distance(name, key), name))
                .filter(|(distance, _)| *distance <= 2)
                .min()
                .map(|(_, name)| format!("; did you mean `{name}`?"))
                .unwrap_or_default();
            self.at(key, |w| {
                w.error(ErrorCode::UnknownField, format!("unknown field{hint}"))
            });
        }
        if let Some(more) = unknown
            .len()
            .checked_sub(MAX_UNKNOWN_REPORTED)
            .filter(|&n| n > 0)
        {
            self.error(
                ErrorCode::UnknownField,
                format!("and {more} more unknown fields"),
            );
        }
        Some(Value::Object(out))
    }

    fn array(&mut self, item: &Kind, max: usize, value: &Value, required: bool) -> Option<Value> {
        let Value::Array(items) = value else {
            return self.invalid_type("a list");
        };
        if items.is_empty() {
            return self.missing(required, "at least one entry");
        }
        if items.len() > max {
            self.error(ErrorCode::TooLong, format!("at most {max} entries"));
        }
        let out = items
            .iter()
            .take(max)
            .enumerate()
            .map(|(i, v)| {
                self.at(&i.to_string(), |w| w.value(item, Some(v), true))
                    .unwrap_or(Value::Null)
            })
            .collect();
        Some(Value::Array(out))
    }

    fn text(&mut self, cap: Cap, format: Format, value: &Value, required: bool) -> Option<Value> {
        let Some(s) = value.as_str() else {
            return self.invalid_type("text");
        };
        if formats::is_blank(s) {
            return self.missing(required, "this field");
        }
        // A date is read exactly as written (`"2026-11-02 "` is not a date); other texts
        // lose the white space around them.
        let s = if format == Format::Date { s } else { s.trim() };
        let max = match cap {
            Cap::Chars(n) => n,
            Cap::Scope => self.config.max_scope_len,
        };
        let allowed = |c: char| {
            !c.is_control() || (format == Format::Multiline && matches!(c, '\n' | '\r' | '\t'))
        };
        if !s.chars().all(allowed) {
            self.error(ErrorCode::InvalidFormat, "contains a control character");
            return None;
        }
        let len = s.chars().count();
        if len > max {
            self.error(
                ErrorCode::TooLong,
                format!("at most {max} characters (got {len})"),
            );
            return None;
        }
        let problem = match format {
            Format::Line | Format::Multiline => None,
            Format::Date => match formats::parse_date(s) {
                Ok(_) => None,
                Err(DateError::Format) => {
                    Some((ErrorCode::InvalidFormat, "expected a date YYYY-MM-DD"))
                }
                Err(DateError::Range) => {
                    Some((ErrorCode::OutOfRange, "dates before 1900 are not accepted"))
                }
            },
            Format::Email => (!formats::is_email(s))
                .then_some((ErrorCode::InvalidFormat, "expected an email address")),
            Format::Phone => (!formats::is_phone(s)).then_some((
                ErrorCode::InvalidFormat,
                "expected a phone number in international form, e.g. +86 21 5555 0100",
            )),
            Format::Country => (!formats::is_country(s)).then_some((
                ErrorCode::InvalidFormat,
                "expected an ISO 3166-1 alpha-2 country code in capitals, e.g. CN",
            )),
            Format::Url => (!formats::is_url(s)).then_some((
                ErrorCode::InvalidFormat,
                "expected an http:// or https:// address",
            )),
        };
        match problem {
            Some((code, message)) => {
                self.error(code, message);
                None
            }
            None => Some(Value::from(s)),
        }
    }

    /// A whole number in `min..=max`, read exactly from its text (`5.0` and `1e3` are whole;
    /// `0.5` and `1e-400` are not, `1e40` is out of range).
    fn integer(&mut self, min: i64, max: i64, value: &Value) -> Option<Value> {
        let Value::Number(n) = value else {
            return self.invalid_type("a whole number");
        };
        match number::scaled(n, 0) {
            Ok(i) if (min..=max).contains(&i) => Some(Value::from(i)),
            Err(Inexact::Decimals) => self.invalid_type("a whole number"),
            _ => {
                self.error(
                    ErrorCode::OutOfRange,
                    format!("must be between {min} and {max}"),
                );
                None
            }
        }
    }

    /// A number in `(above, max]` with at most `decimals` decimals, read exactly from its
    /// text: more decimals (`1e-28` for two) is `invalid_value`, never rounded.
    fn number(&mut self, above: i64, max: i64, decimals: u32, value: &Value) -> Option<Value> {
        let Value::Number(n) = value else {
            return self.invalid_type("a number");
        };
        let unit = 10i64.pow(decimals);
        match number::scaled(n, decimals) {
            Ok(scaled) if scaled > above * unit && scaled <= max * unit => {
                // The canonical form: a whole number, or the shortest decimal (exact: at most
                // two decimals of a number below 10^6 round-trip through an f64).
                if scaled % unit == 0 {
                    Some(Value::from(scaled / unit))
                } else {
                    serde_json::Number::from_f64(scaled as f64 / unit as f64).map(Value::Number)
                }
            }
            Err(Inexact::Decimals) => {
                self.error(
                    ErrorCode::InvalidValue,
                    format!("at most {decimals} decimals"),
                );
                None
            }
            _ => {
                self.error(
                    ErrorCode::OutOfRange,
                    format!("must be more than {above} and at most {max}"),
                );
                None
            }
        }
    }
}

/// Levenshtein distance, for "did you mean" hints on unknown fields (I1; also review settings
/// and inputs).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// The checked document `doc` as a `T`, or the checking's `errors`: the last step of every
/// reader built on [`check_kind`].
pub(crate) fn typed<T: serde::de::DeserializeOwned>(
    doc: Value,
    errors: Vec<FieldError>,
    rule: &'static str,
) -> Result<T, Vec<FieldError>> {
    if !errors.is_empty() {
        return Err(errors);
    }
    // Unreachable when the schema and the types agree (a test holds them together).
    serde_json::from_value(doc).map_err(|e| {
        vec![FieldError::new(
            "",
            ErrorCode::InvalidType,
            e.to_string(),
            rule,
        )]
    })
}

/// A body checked against `kind` (every error at once, citing `rule`) and read as a `T`: the
/// whole of a reader that needs no check beyond the table.
pub(crate) fn read<T: serde::de::DeserializeOwned>(
    kind: &Kind,
    input: &Value,
    rule: &'static str,
) -> Result<T, Vec<FieldError>> {
    let mut errors = Vec::new();
    let doc = check_kind(kind, input, rule, &IntakeConfig::default(), &mut errors);
    typed(doc, errors, rule)
}
