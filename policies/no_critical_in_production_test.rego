package dossier.no_critical_in_production_test

import data.dossier.no_critical_in_production

deploy(env) := {"context": {"type": "dev.cdevents.service.deployed.0.3.0"}, "subject": {"id": "shop", "content": {"environment": {"id": env}}}}

affected := {"artifact": "pkg:oci/shop", "lineage": {"vulnerabilities": [["CVE-2026-1234", "critical"], ["CVE-2026-9", "low"]]}}

test_denies_critical_in_prod if {
	no_critical_in_production.deny == {"pkg:oci/shop runs in prod-eu-1 but is affected by critical CVE-2026-1234"} with input as {"event": deploy("prod-eu-1"), "subject": affected}
}

test_allows_staging if {
	count(no_critical_in_production.deny) == 0 with input as {"event": deploy("staging"), "subject": affected}
}
