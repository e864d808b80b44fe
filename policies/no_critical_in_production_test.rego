package dossier.no_critical_in_production_test

import data.dossier.no_critical_in_production

deploy(env) := {"context": {"type": "dev.cdevents.service.deployed.0.3.0"}, "subject": {"id": "shop", "content": {"environment": {"id": env}}}}

affected := {"artifact": "pkg:oci/shop", "lineage": {"vulnerabilities": [["CVE-2026-1234", "critical"], ["CVE-2026-9", "low"]], "deployments": [{"environment": "prod-eu-1", "artifact": "pkg:oci/shop", "service": "shop"}]}}

waived := [{"id": "exc-1", "vulnerabilities": ["CVE-2026-1234"], "environments": ["prod-eu-1"], "policies": []}]

test_denies_critical_in_prod if {
	no_critical_in_production.deny == {"pkg:oci/shop runs in prod-eu-1 but is affected by critical CVE-2026-1234"} with input as {"event": deploy("prod-eu-1"), "subject": affected, "exceptions": []}
}

test_allows_staging if {
	count(no_critical_in_production.deny) == 0 with input as {"event": deploy("staging"), "subject": affected, "exceptions": []}
}

test_an_exception_in_force_lets_it_through_and_is_named if {
	count(no_critical_in_production.deny) == 0 with input as {"event": deploy("prod-eu-1"), "subject": affected, "exceptions": waived}
	no_critical_in_production.exceptions_applied == {"exc-1"} with input as {"event": deploy("prod-eu-1"), "subject": affected, "exceptions": waived}
}

test_an_exception_for_another_environment_does_not if {
	count(no_critical_in_production.deny) == 1 with input as {"event": deploy("prod-us-1"), "subject": affected, "exceptions": waived}
}

test_an_expiry_looks_again_where_the_artifact_runs if {
	expired := {"context": {"type": "dev.cdeventsx.dossier-exception.expired.0.1.0"}, "subject": {"id": "exc-1", "content": {"artifactId": "pkg:oci/shop"}}}
	no_critical_in_production.deny == {"pkg:oci/shop runs in prod-eu-1 but is affected by critical CVE-2026-1234"} with input as {"event": expired, "subject": affected, "exceptions": []}
}

test_a_vex_statement_that_the_artifact_is_not_affected_lets_it_through if {
	vex := object.union(affected, {"lineage": object.union(affected.lineage, {"vex": [{"vulnerability": "CVE-2026-1234", "by": {"kind": "vex", "document": "sha256:v", "statement": 0, "seq": 9}}]})})
	count(no_critical_in_production.deny) == 0 with input as {"event": deploy("prod-eu-1"), "subject": vex, "exceptions": []}
	other := object.union(affected, {"lineage": object.union(affected.lineage, {"vex": [{"vulnerability": "CVE-2026-9", "by": {"kind": "vex", "document": "sha256:v", "statement": 1, "seq": 9}}]})})
	count(no_critical_in_production.deny) == 1 with input as {"event": deploy("prod-eu-1"), "subject": other, "exceptions": []}
}
