//! The CB's settings that more than one step reads, as data with their checks: where the CB
//! operates ([`Jurisdiction`]: C3, C4, C5 differ), the decision's limits
//! ([`DecisionSettings`]: D4 for audits and decisions, D6) and the certificate's
//! ([`CertificateSettings`]: C1–C5, C7; the review's settings document carries them). The
//! rules that use them live in their steps.

use serde::{Deserialize, Serialize};

use crate::shared::error::{ErrorCode, FieldError};

/// Where the CB operates: which national [cfg] variants apply (C3, C4, C5).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jurisdiction {
    /// IAF rules only.
    #[default]
    Iaf,
    /// China: CNAS and CNCA rules on top (e.g. surveillance every 12 months).
    Cn,
}

/// D4, D6: the decision settings [cfg].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionSettings {
    /// D6: months after the last day of stage 2 within which majors must be verified
    /// (default 6).
    pub major_verification_months: u32,
    /// D4: years after a consultancy during which the consultant may not audit or decide
    /// (default 2).
    pub consultancy_years: u32,
}

impl Default for DecisionSettings {
    fn default() -> Self {
        Self {
            major_verification_months: 6,
            consultancy_years: 2,
        }
    }
}

/// C1: the CB named on every certificate [cfg].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertificationBody {
    /// The CB's name.
    pub name: String,
    /// The CB's address, one line.
    pub address: String,
    /// The accreditation mark shown (e.g. `"CNAS C000-M"`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<String>,
}

impl Default for CertificationBody {
    fn default() -> Self {
        Self {
            name: "certflow Certification Body".to_string(),
            address: "to be configured".to_string(),
            mark: None,
        }
    }
}

/// C7: the accreditation body that accredits the CB [cfg], named in every IAF CertSearch
/// record (`accreditation_body_name`, `accreditation_body_acronym_name`,
/// `certificate_accreditation_status`, all mandatory in CertSearch's upload API). Default:
/// CNAS, China National Accreditation Service for Conformity Assessment, accredited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccreditationBody {
    /// The accreditation body's full name (1 to 200 characters, one line).
    pub name: String,
    /// Its acronym as CertSearch lists it (1 to 20 characters, one line), e.g. `"CNAS"`.
    pub acronym: String,
    /// Whether the certificates are issued under this accreditation: CertSearch's
    /// `certificate_accreditation_status` is `"Accredited"`, otherwise `"Unaccredited"`.
    pub accredited: bool,
}

impl Default for AccreditationBody {
    fn default() -> Self {
        Self {
            name: "China National Accreditation Service for Conformity Assessment".to_string(),
            acronym: "CNAS".to_string(),
            accredited: true,
        }
    }
}

/// C1–C5: the certificate settings [cfg], passed in by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CertificateSettings {
    /// C1: the number's prefix (default `"CF"`).
    pub number_prefix: String,
    /// C1: the sequence's zero-padded width (default 6).
    pub number_digits: usize,
    /// C5: a suspension unresolved this many months later is flagged for withdrawal or scope
    /// reduction (default 6).
    pub suspension_months: u32,
    /// C3: most months between two surveillance audits under IAF (default 15).
    pub max_gap_months: u32,
    /// C3: the same under the `cn` jurisdiction (default 12).
    pub cn_max_gap_months: u32,
    /// C4: the client applies for recertification this many months before expiry
    /// (default 3).
    pub recertification_application_months: u32,
    /// C4: under IAF a recertification decided this many months after the previous expiry
    /// still continues the cycle (restoration, default 6); under `cn` none is allowed.
    pub restore_after_expiry_months: u32,
    /// C1: the CB's name, address and mark.
    pub certification_body: CertificationBody,
    /// C2: the effective date may lie at most this many days after the certification
    /// decision (default 90; 0 to 365). The cycle starts with the decision (ISO/IEC 17021-1
    /// 9.1.3.2), so a later effective date never lengthens it; a recertification may also
    /// take effect on the day after the previous expiry.
    pub effective_within_days: u32,
    /// C7: the accreditation body named in the CertSearch export.
    pub accreditation_body: AccreditationBody,
    /// S5: what a recertification issues: a new revision of the same certificate number
    /// (`revision`, the default) or a certificate with a new number (`new_number`).
    pub recertification_numbering: RecertificationNumbering,
}

/// S5 (docs/CYCLE.md; seed §5.6.3): how the certificate of a new cycle is numbered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecertificationNumbering {
    /// The same number, a new revision continuing from the old expiry; the old revisions
    /// stay, obsolete (C1).
    #[default]
    Revision,
    /// A new number; the old certificate runs to its expiry.
    NewNumber,
}

impl RecertificationNumbering {
    /// The contract's names, in declaration order.
    pub const NAMES: &'static [&'static str] = &["revision", "new_number"];
}

impl Default for CertificateSettings {
    fn default() -> Self {
        Self {
            number_prefix: "CF".to_string(),
            number_digits: 6,
            suspension_months: 6,
            max_gap_months: 15,
            cn_max_gap_months: 12,
            recertification_application_months: 3,
            restore_after_expiry_months: 6,
            certification_body: CertificationBody::default(),
            effective_within_days: 90,
            accreditation_body: AccreditationBody::default(),
            recertification_numbering: RecertificationNumbering::default(),
        }
    }
}

impl CertificateSettings {
    /// C1: the number format these settings give.
    pub fn number_format(&self) -> NumberFormat {
        NumberFormat {
            prefix: self.number_prefix.clone(),
            digits: self.number_digits,
        }
    }

    /// C1–C5: the settings' problems, every one at once: a number width of 1 to 12 digits
    /// and a prefix of 1 to 20 letters, digits, `-`, `_` or `.` (C1), the CB's name (at most
    /// 200 characters) and address (at most 500), neither blank, and a mark, when given, not
    /// blank (at most 100) (C1), gap limits of 12 to 24 months (C3, as the programme's),
    /// an application lead of at most 11 months (C4), a restoration window of at most 6
    /// months (C4) and a suspension limit of 1 to 12 months (C5); an effective-date bound of
    /// 0 to 365 days (C2) and an accreditation body with a name of 1 to 200 and an acronym of
    /// 1 to 20 characters, one line each (C7).
    pub fn check(&self) -> Vec<FieldError> {
        let mut errors = self.check_effective_and_accreditation();
        let mut out = |field: &str, ok: bool, rule: &'static str, message: &str| {
            if !ok {
                errors.push(FieldError::new(field, ErrorCode::OutOfRange, message, rule));
            }
        };
        out(
            "/number_digits",
            (1..=12).contains(&self.number_digits),
            "C1",
            "1 to 12 digits",
        );
        out(
            "/number_prefix",
            (1..=20).contains(&self.number_prefix.len())
                && self
                    .number_prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
            "C1",
            // Verifiers type the number into a URL (C6): nothing that needs escaping.
            "1 to 20 ASCII letters, digits, '-', '_' or '.'",
        );
        out(
            "/max_gap_months",
            (12..=24).contains(&self.max_gap_months),
            "C3",
            "12 to 24 months",
        );
        out(
            "/cn_max_gap_months",
            (12..=24).contains(&self.cn_max_gap_months),
            "C3",
            "12 to 24 months",
        );
        out(
            "/recertification_application_months",
            self.recertification_application_months <= 11,
            "C4",
            "at most 11 months",
        );
        out(
            "/restore_after_expiry_months",
            self.restore_after_expiry_months <= 6,
            "C4",
            "at most 6 months (IAF)",
        );
        out(
            "/suspension_months",
            (1..=12).contains(&self.suspension_months),
            "C5",
            "1 to 12 months",
        );
        // C1: every certificate names the CB by name and address: neither may be blank.
        let cb = &self.certification_body;
        for (field, text, max, required) in [
            ("/certification_body/name", Some(&cb.name), 200, true),
            ("/certification_body/address", Some(&cb.address), 500, true),
            ("/certification_body/mark", cb.mark.as_ref(), 100, false),
        ] {
            let Some(text) = text else { continue };
            let problem = if crate::shared::formats::is_blank(text) {
                Some((
                    ErrorCode::Required,
                    if required {
                        "must not be blank: every certificate shows it".to_owned()
                    } else {
                        "must not be blank: leave it out for no mark".to_owned()
                    },
                ))
            } else if text.chars().any(char::is_control) {
                Some((
                    ErrorCode::InvalidFormat,
                    "contains a control character".to_owned(),
                ))
            } else if text.trim().chars().count() > max {
                Some((ErrorCode::TooLong, format!("at most {max} characters")))
            } else {
                None
            };
            if let Some((code, message)) = problem {
                errors.push(FieldError::new(field, code, message, "C1"));
            }
        }
        errors
    }

    /// C2, C7: the effective-date bound and the accreditation body (see [`Self::check`]).
    fn check_effective_and_accreditation(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if self.effective_within_days > 365 {
            errors.push(FieldError::new(
                "/effective_within_days",
                ErrorCode::OutOfRange,
                "0 to 365 days",
                "C2",
            ));
        }
        let line_of = |s: &str, max: usize| {
            let s = s.trim();
            !s.is_empty() && s.chars().count() <= max && !s.chars().any(char::is_control)
        };
        if !line_of(&self.accreditation_body.name, 200) {
            errors.push(FieldError::new(
                "/accreditation_body/name",
                ErrorCode::InvalidValue,
                "the accreditation body's name: 1 to 200 characters, one line",
                "C7",
            ));
        }
        if !line_of(&self.accreditation_body.acronym, 20) {
            errors.push(FieldError::new(
                "/accreditation_body/acronym",
                ErrorCode::InvalidValue,
                "the accreditation body's acronym: 1 to 20 characters, one line",
                "C7",
            ));
        }
        errors
    }

    /// C3: the surveillance gap limit in `jurisdiction` (IAF 15, cn 12 months).
    pub fn max_gap(&self, jurisdiction: Jurisdiction) -> u32 {
        match jurisdiction {
            Jurisdiction::Iaf => self.max_gap_months,
            Jurisdiction::Cn => self.cn_max_gap_months,
        }
    }
}

/// C1: how certificate numbers are written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberFormat {
    /// The prefix, e.g. `"CF"`.
    pub prefix: String,
    /// The sequence's zero-padded width, e.g. 6.
    pub digits: usize,
}

impl Default for NumberFormat {
    fn default() -> Self {
        CertificateSettings::default().number_format()
    }
}
