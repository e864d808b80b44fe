//! The Kubernetes validating admission webhook: `POST /k8s/admission` takes an
//! `admission.k8s.io/v1` AdmissionReview and answers one with the request's `uid`. Every image
//! the workload would run is asked of the deployment gate, in the environment the workload goes
//! to (configuration: a label, or the namespace); all are decided at one moment and recorded
//! in one commit. The answer is allowed only if every image is: a denial is a 403 listing each
//! reason, audit-mode denials are warnings, and the decisions are an audit annotation.
//!
//! A review that does not read is a 400 with the reason (never a 500): the API server then
//! applies the webhook's `failurePolicy` (fail closed with `Fail`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use dossier_access::Caller;
use dossier_admission::{Reviewed, Verdict, Workload};
use dossier_engine::gate::{Answer, Ask, GateError};

use crate::body::JsonBody;
use crate::error::{error, ApiResult};
use crate::gate_api::gate;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/k8s/admission", post(review))
}

async fn review(State(s): State<AppState>, caller: Caller, JsonBody(bytes): JsonBody) -> ApiResult {
    let reviewed = dossier_admission::read(&bytes).map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))?;
    let (workload, request) = match reviewed {
        Reviewed::NotGated(request, _) => return Ok(Json(dossier_admission::allow(&request)).into_response()),
        Reviewed::Gate(workload, request) => (workload, request),
    };
    let gate = gate(&s)?;
    let environment = s.config.admission.of(&workload);
    let asks = questions(&workload, &environment);
    let requester = caller.principal.name.to_string();
    let answers = tokio::task::spawn_blocking(move || gate.ask_all(asks, &requester))
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error: {e}")))?;
    let verdict = verdict(&workload, &environment, answers)?;
    Ok(Json(dossier_admission::answer(&request, &verdict)).into_response())
}

/// One question per container: its image, in `environment`, under a request id made of the
/// review's uid and the container's place (a review sent again is answered alike).
fn questions(w: &Workload, environment: &str) -> Vec<Ask> {
    w.containers
        .iter()
        .enumerate()
        .map(|(i, c)| Ask {
            artifact: c.image.clone(),
            environment: environment.to_owned(),
            context: json!({"admission": {
                "uid": w.uid, "operation": w.operation, "kind": w.kind.as_str(), "namespace": w.namespace, "name": w.name,
                "container": c.name, "field": c.field, "image": c.image, "user": w.user,
            }}),
            dry_run: w.dry_run,
            request_id: Some(format!("k8s:{}:{i}", w.uid)),
        })
        .collect()
}

/// The answers about each container, as one verdict. An image the gate refuses to look at (a
/// tag alone, not an image reference) is a reason to deny; a gate that could not record its
/// decision is an error (503), for the failure policy to decide.
fn verdict(w: &Workload, environment: &str, answers: Vec<Result<Answer, GateError>>) -> Result<Verdict, crate::error::ApiError> {
    let mut v = Verdict { allowed: true, ..Verdict::default() };
    for (c, answer) in w.containers.iter().zip(answers) {
        let at = format!("{}[{}] {}", c.field, c.name, c.image);
        match answer {
            Ok(a) => {
                v.decisions.push(a.decided.decision_id.clone());
                for s in &a.decided.denies {
                    v.reasons.extend(s.messages.iter().map(|m| format!("{at}: {}: {m}", s.policy)));
                }
                for s in &a.decided.warnings {
                    v.warnings.extend(s.messages.iter().map(|m| format!("{at}: {}: {m}", s.policy)));
                }
            }
            Err(e @ (GateError::TagOnly { .. } | GateError::Image(_) | GateError::Purl(_))) => v.reasons.push(format!("{at}: {e}")),
            Err(e @ GateError::Environment(_)) => v.reasons.push(format!("{at}: the environment {environment:?} it would go to: {e}")),
            Err(e) => return Err(crate::error::ApiError::from(e)),
        }
    }
    v.allowed = v.reasons.is_empty();
    Ok(v)
}
