//! certflow's domain rules for intake (RULES.md I1–I8) and application review (A1–A7), pure
//! Rust: no I/O, no clock, no spin-sdk. The intake component decodes a body
//! ([`form::parse_json`] or [`form::decode`]), calls [`validate`] with today's date and its
//! [`IntakeConfig`], and stores the [`Accepted`] application or answers the [`FieldError`]s.
//!
//! Where each rule lives:
//! - I1 (what an application names): the types in [`application`], the field table in
//!   `schema`, the text formats in [`formats`] and the cross-field checks in [`validation`].
//!   How every body (the application's and the operators') is read: [`media`] (UTF-8, no
//!   content coding), [`form::parse_json`] (no member twice, numbers kept as sent) and
//!   `number` (numbers read exactly from their text at each field).
//! - I2 (every error at once): [`validate`] and [`FieldError`].
//! - I3 (editions): [`editions`]. I4 (readiness): [`readiness`]. I5 (refusal): [`refusal`].
//! - I6 (record who consulted): [`application::Consultancy`]; the 2-year bar is D4's.
//! - I7 (duplicates): [`Application::canonical_json`] gives the key material; the one-time
//!   claim is the component's. I8 (no personal data in public): [`application::Contact`] is
//!   the personal data; the public endpoints are the components'.
//! - A1–A7 (application review): [`review`], with its [cfg] values in [`review::Settings`].
//!
//! For the later steps: A6 (multi-site sampling) is [`sampling`], A8 (the audit programme,
//! with C3's surveillance spacing) [`programme`], A10 (transfer) [`transfer`], and M1–M5 (the
//! remote-audit risk assessment) [`remote_audit`]. The people register (D2–D4) is [`people`],
//! audits and nonconformities (N1–N3, with M1/M2 and D4 checked when an audit is recorded)
//! [`audit`], the audit team's composition (T1–T4, docs/CYCLE.md) [`team`], and the certification decision's independence check (D1–D8) [`decision`]; the
//! rules an action breaks are [`violation::Violation`]s. The certificate (C1–C7: numbering,
//! issuance, the C5 lifecycle, the due-date sweep, the public view and the CertSearch
//! export) is [`certificate`]; its certificate-level refusals are `Violation`s too, its
//! JSON bodies' problems `FieldError`s (no new error codes were needed). A date that says
//! something happened (held, ended, submitted, verified) is checked by one helper,
//! [`dates::past_event`] (R1: not after the day it is recorded). Every figure carries its
//! [`explain::Step`]s; every decision its [`explain::Reason`]s.

#![warn(missing_docs)]

pub mod application;
pub mod audit;
pub mod certificate;
pub mod config;
pub mod dates;
pub mod decision;
pub mod editions;
pub mod error;
pub mod explain;
pub mod form;
pub mod formats;
pub mod json_schema;
pub mod media;
mod number;
pub mod people;
pub mod problem;
pub mod programme;
pub mod readiness;
pub mod record;
pub mod refusal;
pub mod remote_audit;
pub mod review;
pub mod sampling;
mod schema;
pub mod team;
pub mod transfer;
pub mod validation;
pub mod violation;
pub mod webhooks;

pub use application::Application;
pub use config::IntakeConfig;
pub use error::{ErrorCode, FieldError};
pub use form::{FormError, JsonError};
pub use problem::Problem;
pub use readiness::ReadinessFlag;
pub use record::{ApplicationRecord, Status, StatusChange, TransitionRefused};
pub use validation::{Accepted, validate, validate_document};
