//! Kubernetes admission reviews, read and answered, with no I/O: which images a workload would
//! run, which environment it goes to, and the `AdmissionReview` that carries the gate's answer
//! back to the API server.
//!
//! The review and the workloads are the well-kept types of `kube-core` and `k8s-openapi`, not
//! hand-written structs: a Pod's `containers`, `initContainers` and `ephemeralContainers` (the
//! `pods/ephemeralcontainers` subresource too), the pod template of Deployments, ReplicaSets,
//! StatefulSets, DaemonSets and Jobs, and a CronJob's `jobTemplate`. A kind the gate does not
//! look at is [`Reviewed::NotGated`]; a review that does not read is a [`ReviewError`], which
//! the endpoint answers with 400 (the API server then applies the webhook's failure policy).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Pod, PodSpec, PodTemplateSpec};
use kube_core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation};
use kube_core::DynamicObject;
use serde::de::DeserializeOwned;

/// The annotation (in the review's `auditAnnotations`, prefixed by the webhook's name in the
/// audit log) that names the gate's decisions.
pub const DECISIONS_ANNOTATION: &str = "decisions";

/// Containers a review may carry: each is a decision recorded; a review past it is refused
/// rather than decided for as long as its body allows.
pub const MAX_CONTAINERS: usize = 128;

/// The kinds whose images are gated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
}

impl Kind {
    fn of(group: &str, kind: &str) -> Option<Kind> {
        Some(match (group, kind) {
            ("", "Pod") => Kind::Pod,
            ("apps", "Deployment") => Kind::Deployment,
            ("apps", "ReplicaSet") => Kind::ReplicaSet,
            ("apps", "StatefulSet") => Kind::StatefulSet,
            ("apps", "DaemonSet") => Kind::DaemonSet,
            ("batch", "Job") => Kind::Job,
            ("batch", "CronJob") => Kind::CronJob,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
        }
    }
}

/// One container of a workload and the image it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// Where it is declared: `containers`, `initContainers` or `ephemeralContainers`.
    pub field: &'static str,
    pub name: String,
    pub image: String,
}

/// A workload the gate decides about.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    pub uid: String,
    pub kind: Kind,
    pub name: String,
    pub namespace: Option<String>,
    /// The workload's labels, then its pod template's (a template's label wins).
    pub labels: BTreeMap<String, String>,
    pub containers: Vec<Container>,
    pub dry_run: bool,
    pub operation: &'static str,
    /// Who asked the API server (the review's `userInfo.username`).
    pub user: Option<String>,
}

/// What a review comes to.
#[derive(Debug)]
pub enum Reviewed {
    /// A workload whose images the gate decides about.
    Gate(Workload, Box<AdmissionRequest<DynamicObject>>),
    /// A kind, subresource or operation the gate does not look at: allowed, and why.
    NotGated(Box<AdmissionRequest<DynamicObject>>, String),
}

/// Why a review does not read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    #[error("the body is not an AdmissionReview: {0}")]
    NotAReview(String),
    #[error("apiVersion {0:?}: this webhook answers admission.k8s.io/v1 reviews; set admissionReviewVersions: [\"v1\"] in the webhook's configuration")]
    Version(String),
    #[error("the AdmissionReview has no request")]
    NoRequest,
    #[error("request.object: {kind} {name:?} does not read as a {kind}: {reason}")]
    Object { kind: &'static str, name: String, reason: String },
    #[error("request.object is missing for a {0} {1}")]
    NoObject(&'static str, &'static str),
    #[error("request.object: {kind} {name:?} runs {count} containers; the gate decides at most {MAX_CONTAINERS} per review")]
    TooManyContainers { kind: &'static str, name: String, count: usize },
}

/// Reads an `admission.k8s.io/v1` review.
pub fn read(body: &[u8]) -> Result<Reviewed, ReviewError> {
    // Which version first: a v1beta1 review would otherwise fail on a field it lacks.
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Head {
        #[serde(default)]
        api_version: String,
        #[serde(default)]
        kind: String,
    }
    let head: Head = serde_json::from_slice(body).map_err(|e| ReviewError::NotAReview(e.to_string()))?;
    if head.kind != "AdmissionReview" {
        return Err(ReviewError::NotAReview(format!("kind is {:?}, not \"AdmissionReview\"", head.kind)));
    }
    if head.api_version != "admission.k8s.io/v1" {
        return Err(ReviewError::Version(head.api_version));
    }
    let review: AdmissionReview<DynamicObject> = serde_json::from_slice(body).map_err(|e| ReviewError::NotAReview(e.to_string()))?;
    let request: AdmissionRequest<DynamicObject> = review.try_into().map_err(|_| ReviewError::NoRequest)?;
    let operation = match request.operation {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => return Ok(Reviewed::NotGated(Box::new(request), "a deletion runs no image".into())),
        Operation::Connect => return Ok(Reviewed::NotGated(Box::new(request), "a connection runs no new image".into())),
    };
    let Some(kind) = Kind::of(&request.kind.group, &request.kind.kind) else {
        let why = format!("Dossier gates the images of Pods and workloads, not {}", request.kind.kind);
        return Ok(Reviewed::NotGated(Box::new(request), why));
    };
    match (kind, request.sub_resource.as_deref()) {
        (_, None) | (Kind::Pod, Some("ephemeralcontainers")) => {}
        (_, Some(sub)) => {
            let why = format!("the {sub} subresource runs no new image");
            return Ok(Reviewed::NotGated(Box::new(request), why));
        }
    }
    let object = request.object.as_ref().ok_or(ReviewError::NoObject(kind.as_str(), operation))?;
    let name = object.metadata.name.clone().or_else(|| object.metadata.generate_name.clone()).unwrap_or_default();
    let mut labels: BTreeMap<String, String> = object.metadata.labels.clone().unwrap_or_default().into_iter().collect();
    let value = serde_json::to_value(object).map_err(|e| ReviewError::NotAReview(e.to_string()))?;
    let bad = |reason: String| ReviewError::Object { kind: kind.as_str(), name: name.clone(), reason };
    let template = |t: Option<PodTemplateSpec>| t.map(|t| (t.metadata.and_then(|m| m.labels), t.spec));
    let (template_labels, spec): (Option<BTreeMap<String, String>>, Option<PodSpec>) = match kind {
        Kind::Pod => (None, typed::<Pod>(&value).map_err(bad)?.spec),
        Kind::Deployment => template(Some(typed::<Deployment>(&value).map_err(bad)?.spec.template)).unwrap_or_default(),
        Kind::ReplicaSet => template(typed::<ReplicaSet>(&value).map_err(bad)?.spec.template).unwrap_or_default(),
        Kind::StatefulSet => template(Some(typed::<StatefulSet>(&value).map_err(bad)?.spec.template)).unwrap_or_default(),
        Kind::DaemonSet => template(Some(typed::<DaemonSet>(&value).map_err(bad)?.spec.template)).unwrap_or_default(),
        Kind::Job => template(typed::<Job>(&value).map_err(bad)?.spec.map(|s| s.template)).unwrap_or_default(),
        Kind::CronJob => {
            let job = typed::<CronJob>(&value).map_err(bad)?.spec.job_template.spec;
            template(job.map(|j| j.template)).unwrap_or_default()
        }
    };
    labels.extend(template_labels.unwrap_or_default());
    let mut containers = Vec::new();
    if let Some(spec) = spec {
        containers.extend(spec.containers.into_iter().map(|c| Container {
            field: "containers",
            name: c.name,
            image: c.image.unwrap_or_default(),
        }));
        containers.extend(spec.init_containers.into_iter().flatten().map(|c| Container {
            field: "initContainers",
            name: c.name,
            image: c.image.unwrap_or_default(),
        }));
        containers.extend(spec.ephemeral_containers.into_iter().flatten().map(|c| Container {
            field: "ephemeralContainers",
            name: c.name,
            image: c.image.unwrap_or_default(),
        }));
    }
    if containers.len() > MAX_CONTAINERS {
        return Err(ReviewError::TooManyContainers { kind: kind.as_str(), name, count: containers.len() });
    }
    let workload = Workload {
        uid: request.uid.clone(),
        kind,
        name,
        namespace: request.namespace.clone(),
        labels,
        containers,
        dry_run: request.dry_run,
        operation,
        user: request.user_info.username.clone(),
    };
    Ok(Reviewed::Gate(workload, Box::new(request)))
}

fn typed<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, String> {
    serde_json::from_value(value.clone()).map_err(|e| e.to_string())
}

/// Which environment a workload goes to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environments {
    /// A label on the workload (or its pod template) naming the environment, e.g.
    /// `dossier.dev/environment`; it wins over the namespace.
    pub label: Option<String>,
    /// Namespace → environment; a namespace not named here is its own environment.
    pub namespaces: BTreeMap<String, String>,
}

impl Environments {
    /// The environment of `w`: its label's value, else its namespace's mapping, else the
    /// namespace itself (`default` for a cluster-scoped object).
    pub fn of(&self, w: &Workload) -> String {
        if let Some(value) = self.label.as_ref().and_then(|l| w.labels.get(l)) {
            return value.clone();
        }
        let namespace = w.namespace.clone().unwrap_or_else(|| "default".into());
        self.namespaces.get(&namespace).cloned().unwrap_or(namespace)
    }
}

/// The gate's answer about a workload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    pub allowed: bool,
    /// Every reason it is denied, one per line of the message.
    pub reasons: Vec<String>,
    /// Shown to the user by kubectl (audit-mode denials, warnings).
    pub warnings: Vec<String>,
    /// The decisions made, recorded in the API server's audit log.
    pub decisions: Vec<String>,
}

/// The `AdmissionReview` answering `request` with `verdict`: `allowed`, a 403 with every reason
/// when denied, warnings, and the decisions as an audit annotation.
pub fn answer(request: &AdmissionRequest<DynamicObject>, verdict: &Verdict) -> AdmissionReview<DynamicObject> {
    let mut response = AdmissionResponse::from(request);
    if !verdict.allowed {
        let message = format!("Dossier denied this: {}", verdict.reasons.join("; "));
        response = response.deny(message);
        response.result.code = 403;
    }
    if !verdict.warnings.is_empty() {
        response.warnings = Some(verdict.warnings.clone());
    }
    if !verdict.decisions.is_empty() {
        response.audit_annotations.insert(DECISIONS_ANNOTATION.into(), verdict.decisions.join(","));
    }
    response.into_review()
}

/// The review answering `request` with an allowance that says why nothing was checked.
pub fn allow(request: &AdmissionRequest<DynamicObject>) -> AdmissionReview<DynamicObject> {
    AdmissionResponse::from(request).into_review()
}
