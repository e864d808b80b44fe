//! Admission reviews of every workload kind the gate looks at, as the API server sends them:
//! which images each would run, where they are declared, which environment it goes to; the
//! kinds, subresources and operations it lets through unread; and the reviews that do not read.

use std::path::PathBuf;

use dossier_admission::{answer, read, Container, Environments, Kind, ReviewError, Reviewed, Verdict};
use serde_json::{json, Value};

const H: &str = "sha256:4a5b6c7d8e9f00112233445566778899aabbccddeeff00112233445566778899";

fn review(name: &str) -> Vec<u8> {
    std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reviews").join(format!("{name}.json"))).unwrap()
}

fn c(field: &'static str, name: &str, image: &str) -> Container {
    Container { field, name: name.into(), image: image.into() }
}

fn the_pod_spec() -> Vec<Container> {
    vec![
        c("containers", "shop", &format!("ghcr.io/acme/shop@{H}")),
        c("containers", "proxy", "docker.io/library/nginx:1.27"),
        c("initContainers", "migrate", &format!("ghcr.io/acme/migrate@{H}")),
    ]
}

#[test]
fn every_workload_kind_gives_the_images_its_pods_would_run() {
    for (file, kind, dry_run) in [
        ("pod", Kind::Pod, false),
        ("deployment", Kind::Deployment, false),
        ("replicaset", Kind::ReplicaSet, false),
        ("statefulset", Kind::StatefulSet, false),
        ("daemonset", Kind::DaemonSet, false),
        ("job", Kind::Job, true),
        ("cronjob", Kind::CronJob, false),
    ] {
        let Ok(Reviewed::Gate(w, request)) = read(&review(file)) else { panic!("{file} is gated") };
        assert_eq!(w.kind, kind, "{file}");
        assert_eq!(w.containers, the_pod_spec(), "{file}");
        assert_eq!((w.name.as_str(), w.namespace.as_deref(), w.operation, w.dry_run), ("shop", Some("shop"), "CREATE", dry_run), "{file}");
        assert_eq!(w.user.as_deref(), Some("system:serviceaccount:argocd:argocd-application-controller"));
        assert_eq!(request.uid, w.uid);
        // The pod template's label names the environment; a bare Pod goes by its namespace.
        let envs = Environments { label: Some("dossier.dev/environment".into()), namespaces: [("shop".into(), "staging".into())].into() };
        assert_eq!(envs.of(&w), if kind == Kind::Pod { "staging" } else { "production" }, "{file}");
        assert_eq!(Environments::default().of(&w), "shop", "{file}: a namespace not mapped is its own environment");
    }
}

#[test]
fn the_ephemeral_containers_subresource_is_gated_with_the_debug_image() {
    let Ok(Reviewed::Gate(w, _)) = read(&review("pod-ephemeralcontainers")) else { panic!("gated") };
    assert_eq!(w.operation, "UPDATE");
    assert_eq!(w.containers.last(), Some(&c("ephemeralContainers", "debugger", &format!("ghcr.io/acme/debug@{H}"))));
}

#[test]
fn kinds_subresources_and_operations_that_run_no_new_image_are_let_through_with_why() {
    for (file, why) in [
        ("configmap", "Dossier gates the images of Pods and workloads, not ConfigMap"),
        ("deployment-scale", "the scale subresource runs no new image"),
    ] {
        match read(&review(file)) {
            Ok(Reviewed::NotGated(_, reason)) => assert_eq!(reason, why, "{file}"),
            other => panic!("{file}: {other:?}"),
        }
    }
}

#[test]
fn reviews_that_do_not_read_say_why() {
    let Err(ReviewError::Object { kind, name, reason }) = read(&review("deployment-malformed")) else { panic!("refused") };
    assert_eq!((kind, name.as_str()), ("Deployment", "shop"));
    assert!(reason.contains("invalid type: string \"not a list\", expected a sequence"), "{reason}");
    assert_eq!(read(b"[]").unwrap_err().to_string().split(':').next(), Some("the body is not an AdmissionReview"));
    assert_eq!(
        read(br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{}}"#).unwrap_err(),
        ReviewError::Version("admission.k8s.io/v1beta1".into())
    );
    assert_eq!(read(br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#).unwrap_err(), ReviewError::NoRequest);
}

#[test]
fn the_answer_carries_the_uid_every_reason_warnings_and_the_decisions() {
    let Ok(Reviewed::Gate(_, request)) = read(&review("deployment")) else { panic!("gated") };
    let verdict = Verdict {
        allowed: false,
        reasons: vec!["containers[shop] …: no_critical_in_production: critical CVE-1".into(), "containers[proxy] …: a tag".into()],
        warnings: vec!["(audit) unsigned".into()],
        decisions: vec!["gd-1".into(), "gd-2".into()],
    };
    let v: Value = serde_json::to_value(answer(&request, &verdict)).unwrap();
    assert_eq!(v["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(v["kind"], "AdmissionReview");
    let r = &v["response"];
    assert_eq!(r["uid"], "22222222-0000-4000-8000-000000000002");
    assert_eq!(r["allowed"], false);
    assert_eq!(r["status"]["code"], 403);
    assert_eq!(
        r["status"]["message"],
        "Dossier denied this: containers[shop] …: no_critical_in_production: critical CVE-1; containers[proxy] …: a tag"
    );
    assert_eq!(r["warnings"], json!(["(audit) unsigned"]));
    assert_eq!(r["auditAnnotations"], json!({"decisions": "gd-1,gd-2"}));
    let allowed: Value = serde_json::to_value(answer(&request, &Verdict { allowed: true, ..Verdict::default() })).unwrap();
    assert_eq!(allowed["response"]["allowed"], true);
    assert!(allowed["response"].get("warnings").is_none_or(Value::is_null), "{allowed}");
}

#[test]
fn a_review_of_more_containers_than_the_gate_decides_is_refused_with_the_bound() {
    let mut review: Value = serde_json::from_slice(&review("pod")).unwrap();
    let many: Vec<Value> = (0..129).map(|i| json!({"name": format!("c{i}"), "image": format!("ghcr.io/acme/shop@{H}")})).collect();
    review["request"]["object"]["spec"]["containers"] = json!(many);
    let err = read(&serde_json::to_vec(&review).unwrap()).unwrap_err();
    assert_eq!(
        err,
        ReviewError::TooManyContainers { kind: "Pod", name: "shop".into(), count: 130 },
        "129 containers and the init container"
    );
    assert_eq!(err.to_string(), "request.object: Pod \"shop\" runs 130 containers; the gate decides at most 128 per review");
}
