//! W2: one event on its way to one subscription. Delivery is at least once: every attempt
//! sends the same body under the same `webhook-id` (so a receiver de-duplicates), a 2xx
//! answer delivers it, a `410 Gone` ends it and disables the subscription, anything else (an
//! error status, a timeout, a refused connection) is retried after the waits of
//! [`WebhookSettings::retry_seconds`]; after the last the delivery has failed, stays visible
//! and can be redelivered by hand.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::events::EventType;

/// How long one request of the notify component spends on attempts, in seconds: an attempt
/// starts only when its whole timeout fits in what is left, so `webhook_timeout_seconds` is at
/// most this (a larger one would never start an attempt).
pub const ATTEMPT_BUDGET_SECONDS: u64 = 20;

/// The notify component's [cfg] settings (Spin variables of the same names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Hosts (`host` or `host:port`) to which a subscription may use plain http and a
    /// non-public address (W1). Default: none.
    pub trusted_hosts: Vec<String>,
    /// The waits before attempts 2, 3, … in seconds (default `5,300,1800,7200,18000,36000,36000`:
    /// about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, so 8 attempts over about 27 hours).
    pub retry_seconds: Vec<u64>,
    /// How long an attempt may take, in seconds (default 10, 1 to [`ATTEMPT_BUDGET_SECONDS`]):
    /// no response by then is a retry.
    pub timeout_seconds: u64,
    /// How long a replaced signing secret keeps signing, in hours (default 24).
    pub rotation_hours: u64,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            trusted_hosts: Vec::new(),
            retry_seconds: vec![5, 300, 1_800, 7_200, 18_000, 36_000, 36_000],
            timeout_seconds: 10,
            rotation_hours: 24,
        }
    }
}

impl WebhookSettings {
    /// Reads the settings from the variables' text; `""` keeps a default. Errors name the
    /// variable and what it must hold.
    pub fn parse(
        trusted_hosts: &str,
        retry_seconds: &str,
        timeout_seconds: &str,
        rotation_hours: &str,
    ) -> Result<WebhookSettings, String> {
        let mut settings = WebhookSettings {
            trusted_hosts: trusted_hosts
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
            ..WebhookSettings::default()
        };
        if !retry_seconds.trim().is_empty() {
            settings.retry_seconds = retry_seconds
                .split(',')
                .map(|s| s.trim().parse::<u64>())
                .collect::<Result<Vec<_>, _>>()
                .ok()
                .filter(|waits| waits.len() <= 20 && waits.iter().all(|w| *w <= 7 * 24 * 3600))
                .ok_or("webhook_retry_seconds must be up to 20 comma-separated waits in seconds, each at most 604800")?;
        }
        let number = |text: &str, name: &str, range: std::ops::RangeInclusive<u64>| {
            text.trim()
                .parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or(format!("{name} must be a whole number in {range:?}"))
        };
        if !timeout_seconds.trim().is_empty() {
            settings.timeout_seconds = number(
                timeout_seconds,
                "webhook_timeout_seconds",
                1..=ATTEMPT_BUDGET_SECONDS,
            )?;
        }
        if !rotation_hours.trim().is_empty() {
            settings.rotation_hours =
                number(rotation_hours, "webhook_rotation_hours", 0..=24 * 30)?;
        }
        Ok(settings)
    }

    /// How many attempts a delivery gets before it fails.
    pub fn max_attempts(&self) -> usize {
        self.retry_seconds.len() + 1
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Every attempt failed, or the receiver answered 410, or the subscription was deleted.
    Failed,
}

/// One attempt, as shown in `GET /api/webhooks/:id/deliveries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When it started.
    pub at: DateTime<Utc>,
    /// The receiver's status code; `null` when there was no response.
    pub status_code: Option<u16>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed when there was no response or the status was not 2xx.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What an attempt got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// The receiver answered with this status.
    Response(u16),
    /// No response: a timeout, a refused connection, a TLS or DNS error (the reason).
    NoResponse(String),
}

/// One event for one subscription (stored as `webhook-delivery:<subscription>:<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The message id, sent as `webhook-id` on every attempt: `msg_<hex>`.
    pub id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The application (or, for a certificate without one, the certificate number) whose
    /// events are delivered in order.
    pub stream: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// The exact JSON body sent (the same on every attempt).
    pub body: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// When the next attempt is due (pending only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Until when an attempt in progress holds it (so two dispatchers do not both send it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight_until: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
    /// How many attempts the current round has had (a redelivery starts a new round).
    #[serde(default)]
    pub round_attempts: usize,
    /// The history entry's index in its record: orders deliveries made at the same time.
    #[serde(default)]
    pub entry: usize,
}

/// What [`Delivery::record`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Delivered (2xx).
    Delivered,
    /// To be tried again at this time.
    Retry(DateTime<Utc>),
    /// Every attempt of the round failed.
    Failed,
    /// The receiver answered 410 Gone: the subscription is to be disabled.
    Gone,
}

impl Delivery {
    /// A new pending delivery, due now.
    pub fn new(
        id: String,
        kind: EventType,
        stream: String,
        body: String,
        now: DateTime<Utc>,
    ) -> Delivery {
        Delivery {
            id,
            kind,
            stream,
            created_at: now,
            body,
            status: DeliveryStatus::Pending,
            next_attempt_at: Some(now),
            in_flight_until: None,
            attempts: Vec::new(),
            round_attempts: 0,
            entry: 0,
        }
    }

    /// Whether an attempt may start now: pending, due, and not held by another attempt.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.status == DeliveryStatus::Pending
            && self.next_attempt_at.is_none_or(|at| at <= now)
            && self.in_flight_until.is_none_or(|until| until <= now)
    }

    /// Holds the delivery for an attempt of at most `timeout_seconds` (plus a margin).
    pub fn start_attempt(&mut self, now: DateTime<Utc>, timeout_seconds: u64) {
        let hold = i64::try_from(timeout_seconds)
            .unwrap_or(i64::MAX / 2_000)
            .saturating_add(5);
        self.in_flight_until = Some(now + Duration::seconds(hold));
    }

    /// W2: records an attempt that started at `at` and took `duration_ms`, and decides what
    /// follows.
    pub fn record(
        &mut self,
        result: &AttemptResult,
        at: DateTime<Utc>,
        duration_ms: u64,
        settings: &WebhookSettings,
    ) -> Recorded {
        let (status_code, error) = match result {
            AttemptResult::Response(code) if (200..300).contains(code) => (Some(*code), None),
            AttemptResult::Response(code) => {
                (Some(*code), Some(format!("the receiver answered {code}")))
            }
            AttemptResult::NoResponse(reason) => (None, Some(reason.clone())),
        };
        self.attempts.push(Attempt {
            at,
            status_code,
            duration_ms,
            error,
        });
        self.round_attempts += 1;
        self.in_flight_until = None;
        let outcome = match result {
            AttemptResult::Response(code) if (200..300).contains(code) => Recorded::Delivered,
            AttemptResult::Response(410) => Recorded::Gone,
            _ => match settings.retry_seconds.get(self.round_attempts - 1) {
                Some(wait) => {
                    let wait = i64::try_from(*wait).unwrap_or(604_800);
                    let finished =
                        at + Duration::milliseconds(i64::try_from(duration_ms).unwrap_or(0));
                    Recorded::Retry(finished + Duration::seconds(wait))
                }
                None => Recorded::Failed,
            },
        };
        match outcome {
            Recorded::Delivered => {
                self.status = DeliveryStatus::Delivered;
                self.next_attempt_at = None;
            }
            Recorded::Retry(next) => self.next_attempt_at = Some(next),
            Recorded::Failed | Recorded::Gone => {
                self.status = DeliveryStatus::Failed;
                self.next_attempt_at = None;
            }
        }
        outcome
    }

    /// Ends a pending delivery without an attempt (its subscription was disabled or deleted).
    pub fn abandon(&mut self) {
        if self.status == DeliveryStatus::Pending {
            self.status = DeliveryStatus::Failed;
            self.next_attempt_at = None;
            self.in_flight_until = None;
        }
    }

    /// Queues the delivery again for an attempt now, with a fresh round of retries (the
    /// operator's redelivery). The id and body stay the same (W2).
    pub fn redeliver(&mut self, now: DateTime<Utc>) {
        self.status = DeliveryStatus::Pending;
        self.next_attempt_at = Some(now);
        self.in_flight_until = None;
        self.round_attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(now: DateTime<Utc>) -> Delivery {
        Delivery::new(
            "msg_1".into(),
            EventType::DecisionRecorded,
            "app".into(),
            "{}".into(),
            now,
        )
    }

    #[test]
    fn w2_retries_follow_the_schedule_then_fail() -> Result<(), Box<dyn std::error::Error>> {
        let settings = WebhookSettings::parse("", "5,300", "", "")?;
        let t0: DateTime<Utc> = "2026-11-30T10:00:00Z".parse()?;
        let mut d = delivery(t0);
        assert!(d.is_due(t0));
        d.start_attempt(t0, 10);
        assert!(!d.is_due(t0), "held while in flight");
        assert_eq!(
            d.record(&AttemptResult::Response(500), t0, 1_000, &settings),
            Recorded::Retry(t0 + Duration::seconds(6))
        );
        assert!(!d.is_due(t0 + Duration::seconds(5)));
        assert!(d.is_due(t0 + Duration::seconds(6)));
        let t1 = t0 + Duration::seconds(6);
        assert_eq!(
            d.record(
                &AttemptResult::NoResponse("timeout".into()),
                t1,
                0,
                &settings
            ),
            Recorded::Retry(t1 + Duration::seconds(300))
        );
        assert_eq!(
            d.record(&AttemptResult::Response(503), t1, 0, &settings),
            Recorded::Failed
        );
        assert_eq!(d.status, DeliveryStatus::Failed);
        assert_eq!(d.attempts.len(), 3);
        assert_eq!(d.attempts[1].status_code, None);
        d.redeliver(t1);
        assert!(d.is_due(t1));
        assert_eq!(
            d.record(&AttemptResult::Response(204), t1, 0, &settings),
            Recorded::Delivered
        );
        assert_eq!(
            (d.status, d.id.as_str()),
            (DeliveryStatus::Delivered, "msg_1")
        );
        Ok(())
    }

    #[test]
    fn w2_gone_ends_the_delivery() -> Result<(), chrono::ParseError> {
        let t0: DateTime<Utc> = "2026-11-30T10:00:00Z".parse()?;
        let mut d = delivery(t0);
        assert_eq!(
            d.record(
                &AttemptResult::Response(410),
                t0,
                3,
                &WebhookSettings::default()
            ),
            Recorded::Gone
        );
        assert_eq!(d.status, DeliveryStatus::Failed);
        Ok(())
    }

    #[test]
    fn settings_defaults_and_errors() {
        let s = WebhookSettings::parse(" 127.0.0.1 ,Hooks.Example:8080", "", "", "");
        assert_eq!(
            s.as_ref().map(|s| (
                s.trusted_hosts.clone(),
                s.max_attempts(),
                s.timeout_seconds,
                s.rotation_hours
            )),
            Ok((
                vec!["127.0.0.1".to_string(), "hooks.example:8080".to_string()],
                8,
                10,
                24
            ))
        );
        assert!(WebhookSettings::parse("", "5,x", "", "").is_err());
        assert!(WebhookSettings::parse("", "", "0", "").is_err());
        // W2: a timeout longer than a request's budget for attempts would never start one.
        assert!(WebhookSettings::parse("", "", "20", "").is_ok());
        assert!(WebhookSettings::parse("", "", "21", "").is_err());
        assert!(WebhookSettings::parse("", "", "", "-1").is_err());
    }
}
