//! The announcer of expiries: the moment an exception runs out, an `expired` entry per concerned
//! artifact — which is what makes policies look again at what it covered.

use std::sync::Arc;
use std::time::Duration;

use dossier_core::own::{OwnType, EXCEPTIONS_SOURCE as SOURCE};
use dossier_exceptions::Exception;
use dossier_log::own::{hex, now_nanos, own_event};
use dossier_log::EvidenceLog;
use dossier_views::exceptions::concerned;
use dossier_views::Views;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Appends the `expired` entries due at `now`: one per concerned artifact (one without an
/// artifact when none is), all of an exception in one commit.
pub fn announce_due(log: &EvidenceLog, views: &Views, now: i64) {
    let rules = views.exceptions.rules();
    let due: Vec<Exception> = views.exceptions.read().due(now, &rules).into_iter().cloned().collect();
    for e in due {
        let artifacts = concerned(&views.lineage, &e);
        let targets: Vec<Option<&String>> = if artifacts.is_empty() { vec![None] } else { artifacts.iter().map(Some).collect() };
        let mut events = Vec::new();
        for artifact in targets {
            let mut content = json!({"expires": e.expires, "vulnerabilities": e.scope.vulnerabilities, "environments": e.scope.environments, "policies": e.scope.policies});
            let id = match artifact {
                Some(a) => {
                    content["artifactId"] = json!(a);
                    format!("expired-{}-{}", e.id, &hex(&Sha256::digest(a.as_bytes()))[..16])
                }
                None => format!("expired-{}", e.id),
            };
            match own_event(id, SOURCE, OwnType::ExceptionExpired, &e.id, content, None) {
                Ok(event) => events.push(event),
                Err(err) => tracing::error!("announcing the expiry of {}: {err}", e.id),
            }
        }
        if let Err(err) = log.append_blocking(events) {
            tracing::error!("announcing the expiry of {}: {err}", e.id);
        }
    }
}

/// Appends a `dossier-token.expired` entry for each token whose expiry has passed (the token
/// stops working at its expiry whether or not the entry is written yet).
pub fn announce_token_expiries(log: &EvidenceLog, views: &Views, now: i64) {
    let due: Vec<(String, Option<String>)> =
        views.tokens.read().expiries_due(now).into_iter().map(|t| (t.grant.id.clone(), t.grant.expires.clone())).collect();
    for (id, expires) in due {
        let content = json!({"id": id, "expires": expires});
        match own_event(format!("expired-{id}"), dossier_core::own::TOKENS_SOURCE, OwnType::TokenExpired, &id, content, None) {
            Ok(mut event) => {
                event.sender = Some("dossier".to_owned());
                if let Err(err) = log.append_blocking(vec![event]) {
                    tracing::error!("announcing the expiry of token {id}: {err}");
                }
            }
            Err(err) => tracing::error!("announcing the expiry of token {id}: {err}"),
        }
    }
}

/// Announces expiries as they come, checking every 200 ms.
pub async fn announce_expiries(log: Arc<EvidenceLog>, views: Views) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        let (l, v) = (log.clone(), views.clone());
        let _ = tokio::task::spawn_blocking(move || {
            let now = now_nanos();
            announce_due(&l, &v, now);
            announce_token_expiries(&l, &v, now);
        })
        .await;
    }
}
