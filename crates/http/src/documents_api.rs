//! Documents over HTTP: upload, download, and what they say about an artifact (components
//! and licences, findings with inheritance and VEX, the tools that looked at it), plus which
//! artifacts contain a package.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use dossier_core::VersionRange;
use dossier_evidence::about::{self, Received};
use dossier_evidence::Format;
use futures_util::StreamExt;
use serde_json::{json, Value};

use dossier_connectors::documents::{self, Submission, SubmitError, Via};
use dossier_log::documents::Documents;

use dossier_access::Caller;

use crate::error::{blocking, check_params, error, ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/documents", get(list).post(upload))
        .route("/api/v1/documents/{digest}", get(download))
        .route("/api/v1/components", get(components))
        .route("/api/v1/findings", get(findings))
        .route("/api/v1/scans", get(scans))
        .route("/api/v1/contains", get(contains))
}

const MEDIA_TYPES: &str = "application/json, application/vnd.cyclonedx+json, application/spdx+json, application/sarif+json, \
     application/vnd.openvex+json, application/vnd.dsse.envelope.v1+json, application/vnd.in-toto+json";

fn service(s: &AppState) -> Result<std::sync::Arc<Documents>, ApiError> {
    s.documents.clone().ok_or_else(|| error(StatusCode::SERVICE_UNAVAILABLE, "this server keeps no documents (no data directory)"))
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> ApiError {
        let status = match &e {
            SubmitError::Blob(dossier_log::documents::BlobError::TooLarge(_)) => StatusCode::PAYLOAD_TOO_LARGE,
            SubmitError::Document(dossier_evidence::DocumentError::NotJson(_)) => StatusCode::BAD_REQUEST,
            SubmitError::Document(_) => StatusCode::UNPROCESSABLE_ENTITY,
            SubmitError::Artifact(_) | SubmitError::NotAbout(_) => StatusCode::UNPROCESSABLE_ENTITY,
            SubmitError::Io(_) | SubmitError::Blob(_) | SubmitError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            SubmitError::Event(_) | SubmitError::NoAnswer | SubmitError::Encode(_) | SubmitError::NotAnObject => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        error(status, e.to_string())
    }
}

async fn upload(
    State(s): State<AppState>,
    caller: Caller,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult {
    check_params(&params, &["artifact", "sender", "format"])?;
    // The sender is the principal; a `sender` parameter (from before authentication) must name it.
    if let Some(named) = params.get("sender").filter(|n| n.as_str() != caller.principal.name.as_str()) {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "sender {named:?} is not who sends: the sender is taken from the credential ({}); omit the parameter",
                caller.principal.name
            ),
        ));
    }
    let docs = service(&s)?;
    let artifact = params.get("artifact").cloned().ok_or_else(|| {
        error(
            StatusCode::BAD_REQUEST,
            "parameter artifact is required: the purl (or sha256:<hex> digest) of the artifact the document is about",
        )
    })?;
    caller.principal.may_send_about(&artifact).map_err(|denied| error(StatusCode::FORBIDDEN, denied.to_string()))?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !essence.ends_with("json") {
        return Err(error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("content type {content_type:?} is not accepted for a document; send one of: {MEDIA_TYPES}"),
        ));
    }
    let format = match params.get("format") {
        Some(name) => Some(Format::parse(name).ok_or_else(|| {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            error(StatusCode::BAD_REQUEST, format!("format {name:?} is not read; accepted: {}", names.join(", ")))
        })?),
        None => Format::of_media_type(&essence),
    };
    // Stream the body to disk; memory holds one chunk at a time.
    let mut stager = docs.stager()?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(crate::body::read_error)?;
        stager.write(&chunk)?;
    }
    let staged = tokio::task::spawn_blocking(move || stager.finish())
        .await
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let submission = Submission { artifact, sender: Some(caller.principal.name.to_string()), via: Via::Upload, format };
    let (log, lineage, trust) = (s.log.clone(), s.views.lineage.clone(), s.config.trust.clone());
    let receipt = tokio::task::spawn_blocking(move || {
        documents::record(documents::Intake { log: &log, lineage: &lineage, documents: &docs, trust: &trust }, staged, submission)
    })
    .await
    .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let status = if receipt.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(receipt)).into_response())
}

async fn download(State(s): State<AppState>, Path(digest): Path<String>) -> ApiResult {
    let docs = service(&s)?;
    let hex = digest.strip_prefix("sha256:").unwrap_or(&digest);
    let path = docs.path(hex).ok_or_else(|| error(StatusCode::BAD_REQUEST, "a document is named by sha256:<64 lower-case hex digits>"))?;
    let file = tokio::fs::File::open(&path).await.map_err(|_| error(StatusCode::NOT_FOUND, format!("no document {digest}")))?;
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The document entries about `artifact`, oldest first.
pub(crate) async fn received(s: &AppState, artifact: &str) -> Result<Vec<Received>, ApiError> {
    let (log, artifact) = (s.log.clone(), artifact.to_owned());
    blocking(move || dossier_views::documents::received(log.store().as_ref(), &artifact)).await
}

fn required<'a>(params: &'a HashMap<String, String>, name: &str, what: &str) -> Result<&'a str, ApiError> {
    params.get(name).map(String::as_str).ok_or_else(|| error(StatusCode::BAD_REQUEST, format!("parameter {name} is required: {what}")))
}

async fn list(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["artifact"])?;
    let artifact = required(&params, "artifact", "the artifact's purl")?;
    let docs = received(&s, artifact).await?;
    let list: Vec<Value> = docs
        .iter()
        .map(|d| {
            let mut v = json!({"seq": d.seq, "time": d.time, "digest": d.digest, "size": d.size, "format": d.extract.format,
                   "specVersion": d.extract.spec_version, "tools": d.extract.tools, "sender": d.sender, "origin": d.origin,
                   "components": d.extract.components.len(), "findings": d.extract.findings.len(), "vex": d.extract.vex.len(),
                   "predicateType": d.extract.predicate_type, "provenance": d.extract.provenance});
            // Whether a signed document's signatures verified, beside what it states.
            if matches!(d.extract.format, Format::InToto | Format::Sigstore) {
                let verdict = about::Verdict::of(&d.extract);
                v["verified"] = json!(verdict.verified());
                v["verification"] = json!(verdict.reason());
                v["signatures"] = json!(d.extract.checks);
            }
            v
        })
        .collect();
    Ok(Json(json!({"artifact": artifact, "documents": list})).into_response())
}

async fn components(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["artifact"])?;
    let artifact = required(&params, "artifact", "the artifact's purl")?;
    let docs = received(&s, artifact).await?;
    let c = about::components(&docs);
    Ok(Json(json!({"artifact": artifact, "components": c.components, "licenses": c.licenses})).into_response())
}

async fn findings(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["artifact"])?;
    let artifact = required(&params, "artifact", "the artifact's purl")?;
    let own = received(&s, artifact).await?;
    let list = findings_of(&s, artifact, own).await?;
    Ok(Json(json!({"artifact": artifact, "findings": list})).into_response())
}

/// An artifact's findings: its own documents' (`own`) and those its ancestors pass down.
async fn findings_of(s: &AppState, artifact: &str, own: Vec<Received>) -> Result<Vec<about::Reported>, ApiError> {
    let (log, lineage, artifact) = (s.log.clone(), s.views.lineage.clone(), artifact.to_owned());
    blocking(move || dossier_views::documents::findings_of(log.store().as_ref(), &lineage, &artifact, &own)).await
}

async fn scans(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["artifact"])?;
    let artifact = required(&params, "artifact", "the artifact's purl")?;
    let docs = received(&s, artifact).await?;
    Ok(Json(json!({"artifact": artifact, "scans": about::scans(&docs)})).into_response())
}

async fn contains(State(s): State<AppState>, Query(params): Query<HashMap<String, String>>) -> ApiResult {
    check_params(&params, &["package", "versions"])?;
    let package = required(&params, "package", "a package URL without version, e.g. pkg:npm/lodash")?;
    if !package.starts_with("pkg:") || package.contains('@') {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("package {package:?} must be a package URL without version, e.g. pkg:npm/lodash"),
        ));
    }
    let versions = params.get("versions").map(String::as_str).unwrap_or("*");
    let range = VersionRange::of_package(package, versions).map_err(|m| error(StatusCode::BAD_REQUEST, format!("versions: {m}")))?;
    let found = s.views.lineage.read().containing(package, &range);
    Ok(Json(json!({"package": package, "versions": range.to_string(), "artifacts": found})).into_response())
}
