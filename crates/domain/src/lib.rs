//! certflow's domain rules for intake (RULES.md I1–I8) and application review (A1–A7), pure
//! Rust: no I/O, no clock, no spin-sdk. The intake component decodes a body
//! ([`intake::form::parse_json`] or [`intake::form::decode`]), calls [`validate`] with today's
//! date and its [`IntakeConfig`], and stores the [`Accepted`] application or answers the [`FieldError`]s.
//!
//! Where each rule lives:
//! - I1 (what an application names): the types in [`intake::application`], the field table in
//!   `intake::schema`, the text formats in [`formats`] and the cross-field checks in
//!   [`intake::validation`].
//!   How every body (the application's and the operators') is read: [`media`] (UTF-8, no
//!   content coding), [`intake::form::parse_json`] (no member twice, numbers kept as sent) and
//!   `number` (numbers read exactly from their text at each field).
//! - I2 (every error at once): [`validate`] and [`FieldError`].
//! - I3 (editions): [`intake::editions`]. I4 (readiness): [`intake::readiness`]. I5 (refusal):
//!   [`intake::refusal`].
//! - I6 (record who consulted): [`intake::application::Consultancy`]; the 2-year bar is D4's.
//! - I7 (duplicates): [`Application::canonical_json`] gives the key material; the one-time
//!   claim is the component's. I8 (no personal data in public):
//!   [`intake::application::Contact`] is the personal data; the public endpoints are the components'.
//! - A1–A7 (application review): [`review`], with its [cfg] values in [`review::Settings`].
//!
//! For the later steps: A6 (multi-site sampling) is [`review::sampling`], A8 (the audit
//! programme, with C3's surveillance spacing) [`review::programme`], A10 (transfer)
//! [`review::transfer`], and M1–M5 (the remote-audit risk assessment) [`audit::remote`]. The
//! people register (D2–D4) is [`people`], audits and nonconformities (N1–N3, with M1/M2 and D4 checked when an audit is recorded)
//! [`audit`], the audit team's composition (T1–T4, docs/CYCLE.md) [`audit::team`], and the
//! certification decision's independence check (D1–D8) [`decision`]; the
//! rules an action breaks are [`violation::Violation`]s. The certificate (C1–C7: numbering,
//! issuance, the C5 lifecycle, the due-date sweep, the public view and the CertSearch
//! export) is [`certificate`]; its certificate-level refusals are `Violation`s too, its
//! JSON bodies' problems `FieldError`s (no new error codes were needed). A date that says
//! something happened (held, ended, submitted, verified) is checked by one helper,
//! [`dates::past_event`] (R1: not after the day it is recorded). Every figure carries its
//! [`explain::Step`]s; every decision its [`explain::Reason`]s.

#![warn(missing_docs)]

// The layers, each importing only those above it in this list: the shared pieces, then one
// folder per step in the order an application meets them, the people register the audit and
// decision steps check, then the webhook events and the stored application that tags them.
pub mod shared;
pub use shared::{dates, error, explain, formats, media, problem, settings, violation};

pub mod audit;
pub mod certificate;
pub mod cycle;
pub mod decision;
pub mod intake;
pub mod people;
pub mod record;
pub mod review;
pub mod webhooks;

pub use error::{ErrorCode, FieldError};
pub use intake::application::Application;
pub use intake::config::IntakeConfig;
pub use intake::form::{FormError, JsonError};
pub use intake::readiness::ReadinessFlag;
pub use intake::validation::{Accepted, validate, validate_document};
pub use problem::Problem;
pub use record::{ApplicationRecord, Status, StatusChange, TransitionRefused};
