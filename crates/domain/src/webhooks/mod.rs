//! Webhooks (issue 13): the events certflow publishes, the operators' subscriptions and the
//! delivery of events to them. Pure rules; the notify component does the I/O.
//!
//! - [`events`]: the event types, the tag a history entry carries (R1: the history is the
//!   event log) and the payload built from an entry: ids, status and links, never personal
//!   data (R3, I8).
//! - [`subscription`]: what a subscription may name (W1: an `https` URL; plain `http`, and a
//!   loopback, private or link-local address, only to hosts the operator trusts).
//! - [`delivery`]: one event on its way to one subscription: attempts, the retry schedule
//!   (W2: at least once, the same `webhook-id` on every attempt) and when it fails for good.
//!
//! The rules W1 and W2 are certflow's own (not from a standard): they are listed in the
//! README's "Webhooks out" section.

pub mod delivery;
pub mod events;
pub mod subscription;

pub use delivery::{Attempt, AttemptResult, Delivery, DeliveryStatus, WebhookSettings};
pub use events::{Event, EventTag, EventType};
pub use subscription::{NewSubscription, SubscriptionRequest};
