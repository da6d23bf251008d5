//! certflow notify: outbound webhooks (issue 13, W1, W2). The only component that may reach
//! hosts outside the app (`allowed_outbound_hosts` from the `webhook_outbound_host*`
//! variables).
//!
//! - Operators manage subscriptions (`/api/webhooks`, `/api/webhooks/:id`, rotation of the
//!   signing secret, ping, the deliveries and their redelivery) and run the dispatcher
//!   (`POST /api/webhooks/dispatch`, every minute from a scheduler).
//! - Every component that changes a published record chains
//!   `POST /internal/records/<record key>` once it has answered (`certflow_component::outbox`):
//!   notify turns the record's new history entries into deliveries ([`outbox`]), answers 202,
//!   and then tries them at once ([`deliver`]).
//!
//! Keys: `webhooks` (the subscription ids), `webhook:<id>`, `webhook-queue:<id>`,
//! `webhook-delivery:<id>:<msg id>`, `outbox:<record key>` (the cursor); see docs/STORAGE.md.

use certflow_component::{
    Method, Outcome, Reply, Request, method_not_allowed, now, open_store, require_operator,
};
use certflow_domain::Problem;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};
use spin_sdk::http_component;

mod deliver;
mod outbox;
mod subscriptions;

/// Largest body accepted: a subscription, or the outbox's announcement.
const MAX_BODY: usize = 16 * 1024;

/// What to do once the reply is sent: deliver what is due for these streams (`None`: none).
pub(crate) struct FollowUp {
    /// (subscription id, stream) pairs whose queue heads are to be tried now; an empty stream
    /// means every stream of the subscription.
    pub streams: Vec<(String, String)>,
    /// What the request already loaded (the store, settings, subscriptions), when it did.
    pub context: Option<deliver::Context>,
}

#[http_component]
async fn handle(incoming: IncomingRequest, out: ResponseOutparam) {
    let head = certflow_component::is_head(&incoming);
    let (outcome, follow_up) = match Request::read(incoming, MAX_BODY).await {
        Ok(req) => route(&req),
        Err(problem) => (Err(problem), None),
    };
    outcome.unwrap_or_else(Reply::problem).send(head, out).await;
    // The caller has its answer; the receivers are tried now, within the time left.
    if let Some(follow_up) = follow_up {
        let context = match follow_up.context {
            Some(context) => Ok(context),
            None => open_store().and_then(|bucket| deliver::Context::load(bucket, now())),
        };
        match context {
            Ok(context) => {
                let mut tally = deliver::Tally::default();
                context.deliver_streams(&follow_up.streams, &mut tally);
            }
            Err(problem) => eprintln!("deliveries not tried: {}", problem.to_json()),
        }
    }
}

fn route(req: &Request) -> (Outcome, Option<FollowUp>) {
    let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (segments.as_slice(), &req.method) {
        (["internal", "records", key], Method::Post) => match outbox::announced(req, key) {
            Ok((reply, follow_up)) => (Ok(reply), Some(follow_up)),
            Err(problem) => (Err(problem), None),
        },
        (["internal", ..], _) => (Err(method_not_allowed("POST")), None),
        _ => match require_operator(req) {
            Ok(by) => operator_route(req, &segments, &by),
            Err(problem) => (Err(problem), None),
        },
    }
}

fn operator_route(req: &Request, segments: &[&str], by: &str) -> (Outcome, Option<FollowUp>) {
    let plain = |outcome: Outcome| (outcome, None);
    match (segments, &req.method) {
        // I7: a retried creation with its Idempotency-Key gets the first 201 again (its secret
        // included: the idempotency record keeps the reply as the subscription keeps the
        // secret, in the same store), never a second subscription.
        (["api", "webhooks"], Method::Post) => {
            plain(certflow_component::idempotent(req, "webhooks", || {
                subscriptions::create(req, by)
            }))
        }
        (["api", "webhooks"], Method::Get) => plain(subscriptions::list()),
        (["api", "webhooks"], _) => plain(Err(method_not_allowed("GET, POST"))),
        (["api", "webhooks", "dispatch"], Method::Post) => plain(deliver::dispatch()),
        (["api", "webhooks", "dispatch"], _) => plain(Err(method_not_allowed("POST"))),
        (["api", "webhooks", id], Method::Get) => plain(subscriptions::read(id)),
        (["api", "webhooks", id], Method::Delete) => plain(subscriptions::delete(id)),
        (["api", "webhooks", _], _) => plain(Err(method_not_allowed("GET, DELETE"))),
        (["api", "webhooks", id, "secret"], Method::Post) => plain(subscriptions::rotate(id)),
        (["api", "webhooks", id, "ping"], Method::Post) => plain(deliver::ping(id)),
        (["api", "webhooks", id, "deliveries"], Method::Get) => plain(deliver::list(id)),
        (["api", "webhooks", _, "secret" | "ping"], _) => plain(Err(method_not_allowed("POST"))),
        (["api", "webhooks", _, "deliveries"], _) => plain(Err(method_not_allowed("GET"))),
        (["api", "webhooks", id, "deliveries", delivery], Method::Get) => {
            plain(deliver::read(id, delivery))
        }
        (["api", "webhooks", _, "deliveries", _], _) => plain(Err(method_not_allowed("GET"))),
        (["api", "webhooks", id, "deliveries", delivery, "redeliver"], Method::Post) => {
            match deliver::redeliver(id, delivery) {
                Ok((reply, follow_up)) => (Ok(reply), Some(follow_up)),
                Err(problem) => (Err(problem), None),
            }
        }
        (["api", "webhooks", _, "deliveries", _, "redeliver"], _) => {
            plain(Err(method_not_allowed("POST")))
        }
        _ => plain(Err(not_found("no such webhook route"))),
    }
}

/// 404 with a detail.
pub(crate) fn not_found(detail: &str) -> Problem {
    Problem::new(404, "not-found", "Not found").detail(detail)
}
