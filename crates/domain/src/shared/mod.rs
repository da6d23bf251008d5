//! The pieces every step uses, below all of them: field errors and their codes ([`error`]),
//! explanations ([`explain`]), dates of past events ([`dates`]), problem documents
//! ([`problem`]) and the rules an action breaks ([`violation`]), how a body is decoded
//! ([`media`]) and its numbers and text formats read (`number`, [`formats`]), and the CB's
//! settings more than one step reads ([`settings`]). Nothing here imports a step.

pub mod dates;
pub mod error;
pub mod explain;
pub mod formats;
pub mod media;
pub(crate) mod number;
pub mod problem;
pub mod settings;
pub mod violation;
