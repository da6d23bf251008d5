//! The stored application: the accepted application, where it stands, and its append-only
//! history (R1: who, when, what, and the rule relied on). Components load, append and store
//! it; they never rewrite history.

use crate::{Application, ReadinessFlag};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an application stands in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Accepted at intake (I1–I5), waiting for application review (A*).
    Submitted,
}

/// One entry of the history (R1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The status after the change.
    pub status: Status,
    /// Who made the change: `applicant`, `integration`, `operator:<name>` or a component.
    pub by: String,
    /// The rules relied on.
    pub rules: Vec<String>,
    /// What happened, in a sentence.
    pub note: String,
}

/// An application as stored under `application:<id>`. `A` is the typed [`Application`], or
/// for intake, which stores and shows the document without interpreting it, the cleaned JSON
/// document of [`crate::validate_document`] (the same JSON either way).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApplicationRecord<A = Application> {
    /// Unguessable id (128 random bits, hex).
    pub id: String,
    /// Current status: always the status of the last history entry.
    pub status: Status,
    /// What the applicant submitted, validated (I1).
    pub application: A,
    /// Readiness flags raised at intake (I4).
    pub flags: Vec<ReadinessFlag>,
    /// SHA-256 (hex) of the applicant's access token; the token itself is never stored.
    pub access_token_sha256: String,
    /// Append-only history (R1).
    pub history: Vec<StatusChange>,
}

impl<A> ApplicationRecord<A> {
    /// A freshly submitted application (I1–I5 passed), with its first history entry.
    pub fn submitted(
        id: String,
        accepted: crate::Accepted<A>,
        access_token_sha256: String,
        at: DateTime<Utc>,
        by: &str,
    ) -> ApplicationRecord<A> {
        let mut note = "application received and validated".to_string();
        if !accepted.flags.is_empty() {
            note.push_str("; flagged: not yet ready for the initial audit (I4)");
        }
        ApplicationRecord {
            id,
            status: Status::Submitted,
            application: accepted.application,
            flags: accepted.flags,
            access_token_sha256,
            history: vec![StatusChange {
                at,
                status: Status::Submitted,
                by: by.to_string(),
                rules: ["I1", "I2", "I3", "I4", "I5"].map(String::from).to_vec(),
                note,
            }],
        }
    }
}
