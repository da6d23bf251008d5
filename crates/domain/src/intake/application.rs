//! The application an organisation submits to `POST /api/applications` (DESIGN, "The
//! application (API contract)"; the fields rule I1 requires).
//!
//! These types are what a *validated* application looks like: build them with
//! [`crate::validate`], which reports every problem at once (I2) instead of failing on the
//! first serde error. Field names are the contract's; nothing is renamed.
//!
//! Contract extension: `previous_certifications` (rule I5), see [`PreviousCertification`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A complete, validated application for certification (I1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// The legal entity applying (I1).
    pub organization: Organization,
    /// The applicant's contact person: personal data, never shown publicly (I8).
    pub contact: Contact,
    /// Requested standards with their editions, at least one (I1; editions: I3).
    pub standards: Vec<RequestedStandard>,
    /// The requested certification scope (I1).
    pub scope: String,
    /// Sites, at least one, exactly one of them the central function (I1).
    pub sites: Vec<Site>,
    /// Groups doing identical, simple, supervised work (I1; counted under A1).
    #[serde(default)]
    pub repetitive_groups: Vec<RepetitiveGroup>,
    /// When the management system began operating and was last audited and reviewed (I1, I4).
    pub management_system: ManagementSystem,
    /// Outsourced processes, possibly none (I1).
    #[serde(default)]
    pub outsourced_processes: Vec<String>,
    /// Consultancy used to build the management system (I1, I6).
    #[serde(default)]
    pub consultancy: Vec<Consultancy>,
    /// Whether some records cannot be shown to auditors (I1; seed ZBT item f).
    pub restricted_records: RestrictedRecords,
    /// Present when the certificate is transferred from another CB (I1; checked under A10).
    #[serde(default)]
    pub transfer: Option<Transfer>,
    /// S4 (docs/CYCLE.md): the number of this CB's certificate the application renews, for a
    /// recertification; absent for an initial certification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recertification_of: Option<String>,
    /// Contract extension for I5: certificates the applicant held before, with any suspension
    /// or withdrawal.
    #[serde(default)]
    pub previous_certifications: Vec<PreviousCertification>,
    /// The applicant's declarations; any `false` is a refusal (I5).
    pub declarations: Declarations,
    /// Language of correspondence and documents (I1).
    pub language: Language,
}

impl Application {
    /// I7: the canonical JSON text of this application. Two submissions of the same
    /// application (a form sent twice, a retried webhook) give the same text once validated
    /// (strings trimmed, fields in contract order), so intake hashes it for its one-time
    /// duplicate claim.
    pub fn canonical_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// The legal entity (I1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    /// Registered legal name (I1).
    pub legal_name: String,
    /// Legal-status document (I1).
    pub legal_id: LegalId,
    /// Registered address (I1).
    pub address: Address,
    /// Optional website, `http(s)://` (I1).
    #[serde(default)]
    pub website: Option<String>,
}

/// Legal-status document: its type and number (I1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LegalId {
    /// Kind of document (`type` in the contract).
    #[serde(rename = "type")]
    pub kind: LegalIdType,
    /// The number; for [`LegalIdType::Uscc`] an 18-character GB 32100-2015 code (I1).
    pub number: String,
}

/// Kinds of legal-status document (I1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalIdType {
    /// China's unified social credit code (统一社会信用代码, GB 32100-2015), checksum verified.
    Uscc,
    /// A company or business register number.
    BusinessRegistration,
    /// A tax identification number.
    TaxId,
    /// Any other legal-status document.
    Other,
}

impl LegalIdType {
    /// The contract's names, in declaration order (I1).
    pub const NAMES: &'static [&'static str] =
        &["uscc", "business_registration", "tax_id", "other"];
}

/// A postal address; `country` is an ISO 3166-1 alpha-2 code (I1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    /// Street and number.
    pub street: String,
    /// City.
    pub city: String,
    /// Postcode, where the country has them.
    #[serde(default)]
    pub postcode: Option<String>,
    /// ISO 3166-1 alpha-2 country code, uppercase (`CN`).
    pub country: String,
}

/// The contact person (I1). Personal data: never on public endpoints (I8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Full name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Phone number, international form (`+86 21 5555 0100`).
    pub phone: String,
}

/// A requested standard and edition (I1); which are accepted is the edition table (I3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestedStandard {
    /// The standard.
    pub code: StandardCode,
    /// The edition year, e.g. `"2022"`.
    pub edition: String,
}

/// The standards the CB certifies against (I1, I3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StandardCode {
    /// ISMS.
    #[serde(rename = "ISO/IEC 27001")]
    Iso27001,
    /// PIMS.
    #[serde(rename = "ISO/IEC 27701")]
    Iso27701,
    /// BCMS.
    #[serde(rename = "ISO 22301")]
    Iso22301,
    /// BCMS, China's national equivalent of ISO 22301.
    #[serde(rename = "GB/T 30146")]
    GbT30146,
}

impl StandardCode {
    /// Every code, in declaration order (I1, I3).
    pub const ALL: [StandardCode; 4] = [
        Self::Iso27001,
        Self::Iso27701,
        Self::Iso22301,
        Self::GbT30146,
    ];

    /// The contract's spelling, e.g. `"ISO/IEC 27001"` (I1).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Iso27001 => "ISO/IEC 27001",
            Self::Iso27701 => "ISO/IEC 27701",
            Self::Iso22301 => "ISO 22301",
            Self::GbT30146 => "GB/T 30146",
        }
    }

    /// Parses the contract's spelling (exact) (I1).
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }
}

/// A site (I1). `virtual` marks a site where work is done entirely online (M4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Site name.
    pub name: String,
    /// Whether this is the central function; exactly one site is (I1).
    pub central: bool,
    /// A virtual site (`virtual` in the contract); absent means `false`.
    #[serde(rename = "virtual", default)]
    pub is_virtual: bool,
    /// Site address.
    pub address: Address,
    /// Activities carried out at the site.
    pub activities: String,
    /// Headcount (I1; effective personnel is A1).
    pub personnel: Personnel,
    /// Number of shifts, at least 1 (I1).
    pub shifts: u32,
}

/// Personnel figures of one site (I1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Personnel {
    /// Full-time staff.
    pub full_time: u32,
    /// Part-time staff, grouped by weekly hours.
    #[serde(default)]
    pub part_time: Vec<PartTime>,
    /// Temporary staff.
    pub temporary: u32,
    /// Contractors working within the scope.
    pub contractors: u32,
}

impl Personnel {
    /// Headcount: people, not full-time equivalents (I1; the FTE conversion is A1).
    pub fn headcount(&self) -> u64 {
        u64::from(self.full_time)
            + self
                .part_time
                .iter()
                .map(|p| u64::from(p.count))
                .sum::<u64>()
            + u64::from(self.temporary)
            + u64::from(self.contractors)
    }
}

/// Part-time staff working the same weekly hours (I1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartTime {
    /// Number of people, at least 1.
    pub count: u32,
    /// Weekly hours each, in (0, 168].
    pub weekly_hours: f64,
}

/// A group doing identical, simple, supervised work at one site (I1; reduction under A1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepetitiveGroup {
    /// What the group does.
    pub description: String,
    /// Index into `sites`.
    pub site: usize,
    /// People in the group, at most the site's headcount.
    pub count: u32,
}

/// Management-system dates (I1; readiness I4). All three are required once valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagementSystem {
    /// The date the system began operating.
    pub operating_since: NaiveDate,
    /// The last internal audit (missing: `not_ready`, I4).
    pub last_internal_audit: NaiveDate,
    /// The last management review (missing: `not_ready`, I4).
    pub last_management_review: NaiveDate,
}

/// A consultancy the applicant used: who and when (I1). Recorded so that nobody who consulted
/// for the applicant within 2 years audits or decides on it (I6; enforced at decision, D4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consultancy {
    /// Consulting firm (or "independent").
    pub provider: String,
    /// The consultant.
    pub person: String,
    /// When the consultancy ended (or is planned to end, if still running).
    pub ended_on: NaiveDate,
}

/// Records that cannot be shown to auditors (I1; seed ZBT item f).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictedRecords {
    /// Whether there are such records.
    pub present: bool,
    /// What they are and why; required when `present` (I1).
    #[serde(default)]
    pub description: Option<String>,
}

/// Transfer of a certificate from another CB (I1; eligibility A10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The issuing CB.
    pub previous_cb: String,
    /// The certificate number.
    pub certificate_number: String,
    /// The certificate's current status.
    pub status: CertificateStatus,
    /// The certificate's expiry date.
    pub expires_on: NaiveDate,
    /// Whether the issuing CB ceased trading or lost accreditation (A10).
    pub issuing_cb_ceased: bool,
}

/// Status of a certificate (C5 vocabulary; used by I1 transfer and I5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    /// Valid.
    Active,
    /// Temporarily invalid.
    Suspended,
    /// Withdrawn.
    Withdrawn,
    /// Past its expiry date.
    Expired,
    /// C2, C5: issued but not yet effective (before its effective date). Computed for
    /// certflow's own certificates ([`crate::certificate::Certificate::status_on`]); never
    /// stored, and not accepted for an applicant's previous certificate (not in [`Self::NAMES`]).
    Pending,
}

impl CertificateStatus {
    /// The contract's names an applicant may give for a previous or transferred certificate
    /// (I1, I5, A10), in declaration order: `pending` is certflow's own, computed status.
    pub const NAMES: &'static [&'static str] = &["active", "suspended", "withdrawn", "expired"];

    /// Its name in JSON and in messages.
    pub fn name(self) -> &'static str {
        match self {
            CertificateStatus::Active => "active",
            CertificateStatus::Suspended => "suspended",
            CertificateStatus::Withdrawn => "withdrawn",
            CertificateStatus::Expired => "expired",
            CertificateStatus::Pending => "pending",
        }
    }
}

/// Contract extension for I5: a certificate the applicant held (from any CB, including a
/// transfer's). For `suspended` or `withdrawn`, `status_changed_on` and `own_fault` are
/// required: a suspension or withdrawal for the applicant's own fault less than 12 months
/// [cfg] before the application is a refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PreviousCertification {
    /// The CB that issued it.
    pub certification_body: String,
    /// Its number.
    pub certificate_number: String,
    /// Its status.
    pub status: CertificateStatus,
    /// When it was suspended or withdrawn.
    #[serde(default)]
    pub status_changed_on: Option<NaiveDate>,
    /// Whether the suspension or withdrawal was the applicant's own fault.
    #[serde(default)]
    pub own_fault: Option<bool>,
}

/// The applicant's declarations; all three must be `true` (I5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declarations {
    /// Not on the list of seriously illegal or dishonest enterprises.
    pub not_on_serious_illegal_list: bool,
    /// Not under an order to suspend business.
    pub no_business_suspension_order: bool,
    /// No certificate suspended or withdrawn for its own fault in the last 12 months.
    pub no_withdrawal_for_own_fault_in_last_12_months: bool,
}

/// Language of correspondence (I1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Chinese.
    Zh,
    /// English.
    En,
}

impl Language {
    /// The contract's names (I1).
    pub const NAMES: &'static [&'static str] = &["zh", "en"];
}
