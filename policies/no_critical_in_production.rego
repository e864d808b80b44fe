# No artifact affected by a critical vulnerability is deployed to a production environment.
package dossier.no_critical_in_production

triggers := ["dev.cdevents.service.deployed.*", "dev.cdevents.service.upgraded.*", "dev.cdevents.service.rolledback.*"]

mode := "enforce"

production(env) if startswith(env, "prod")

deny contains msg if {
	env := input.event.subject.content.environment.id
	production(env)
	some v in input.subject.lineage.vulnerabilities
	v[1] == "critical"
	msg := sprintf("%s runs in %s but is affected by critical %s", [input.subject.artifact, env, v[0]])
}
