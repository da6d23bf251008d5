//! Intake (RULES.md I1–I8): what an application names ([`application`]), how its body is read
//! ([`form`], the field table `schema` that every body's reader shares, and the JSON Schema
//! [`json_schema`] generated from it), its checks ([`validation`], with [`editions`] I3,
//! [`readiness`] I4 and [`refusal`] I5) and the intake's [cfg] values ([`config`]).

pub mod application;
pub mod config;
pub mod editions;
pub mod form;
pub mod json_schema;
pub mod readiness;
pub mod refusal;
pub(crate) mod schema;
pub mod validation;
