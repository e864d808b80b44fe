package dossier.critical_in_production_response_test

import data.dossier.critical_in_production_response as response

discovered(severity) := {"context": {"type": "dev.cdeventsx.dossier-vulnerability.discovered.0.1.0"}, "subject": {"id": "CVE-1", "content": {"severity": severity}}}

impact := {"deployments": [{"environment": "prod-eu", "service": "shop", "artifact": "pkg:oci/shop"}, {"environment": "staging", "service": "shop", "artifact": "pkg:oci/shop2"}]}

test_tickets_and_quarantines_what_runs_in_production if {
	acts := response.actions with input as {"event": discovered("critical"), "impact": impact}
	count(acts) == 2
	some a in acts
	a.kind == "quarantine"
	a.artifact == "pkg:oci/shop"
}

test_ignores_a_high_one if {
	count(response.actions) == 0 with input as {"event": discovered("high"), "impact": impact}
}
