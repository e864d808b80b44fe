# A new critical vulnerability reaching a running production deployment: open a ticket and
# quarantine what runs there.
package dossier.critical_in_production_response

triggers := ["dev.cdeventsx.dossier-vulnerability.discovered.*"]

mode := "enforce"

allowed_actions := ["emit", "quarantine"]

production_deployments contains d if {
	input.event.subject.content.severity == "critical"
	some d in input.impact.deployments
	startswith(d.environment, "prod")
}

warn contains msg if {
	some d in production_deployments
	msg := sprintf("%s reaches %s in %s through %s", [input.event.subject.id, d.service, d.environment, d.artifact])
}

actions contains {
	"kind": "emit",
	"type": "dev.cdevents.ticket.created.0.2.0",
	"subject": sprintf("vuln-%s", [input.event.subject.id]),
	"content": {
		"summary": sprintf("%s (critical) runs in production", [input.event.subject.id]),
		"creator": "dossier",
		"uri": sprintf("https://tickets.example.com/new?vulnerability=%s", [input.event.subject.id]),
		"ticketType": "incident",
		"priority": "high",
	},
} if {
	count(production_deployments) > 0
}

actions contains {"kind": "quarantine", "artifact": d.artifact, "reason": sprintf("%s is critical and runs in %s", [input.event.subject.id, d.environment])} if {
	some d in production_deployments
}
