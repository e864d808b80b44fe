# No artifact affected by a critical vulnerability runs in a production environment, unless an
# exception in force waives that vulnerability for it there, or a VEX statement about the artifact
# says it is not affected (input.subject.lineage.vex, wherever it runs). Looked at again when a deployment
# changes and when an exception covering the artifact expires.
package dossier.no_critical_in_production

triggers := [
	"dev.cdevents.service.deployed.*", "dev.cdevents.service.upgraded.*", "dev.cdevents.service.rolledback.*",
	"dev.cdeventsx.dossier-exception.expired.*",
]

mode := "enforce"

production(env) if startswith(env, "prod")

# Production environments the artifact runs in: the deployment's own, or after an expiry,
# wherever the lineage says it runs.
environments contains env if {
	env := input.event.subject.content.environment.id
	production(env)
}

environments contains d.environment if {
	startswith(input.event.context.type, "dev.cdeventsx.dossier-exception.expired.")
	some d in input.subject.lineage.deployments
	d.artifact == input.subject.artifact
	production(d.environment)
}

waiver(vulnerability, env) := e.id if {
	some e in input.exceptions
	vulnerability in e.vulnerabilities
	in_scope(e.environments, env)
}

in_scope(environments, _) if count(environments) == 0

in_scope(environments, env) if env in environments

# A VEX statement about the artifact says it is not affected.
not_affected(vulnerability) if {
	some w in object.get(input.subject.lineage, "vex", [])
	w.vulnerability == vulnerability
}

violations contains [env, v[0]] if {
	some env in environments
	some v in input.subject.lineage.vulnerabilities
	v[1] == "critical"
	not not_affected(v[0])
}

deny contains msg if {
	some [env, vulnerability] in violations
	not waiver(vulnerability, env)
	msg := sprintf("%s runs in %s but is affected by critical %s", [input.subject.artifact, env, vulnerability])
}

exceptions_applied contains waiver(vulnerability, env) if some [env, vulnerability] in violations
