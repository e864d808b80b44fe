# Warn when an unsigned artifact is published or deployed.
package dossier.unsigned_artifact

triggers := ["dev.cdevents.artifact.published.*", "dev.cdevents.service.deployed.*", "dev.cdevents.service.upgraded.*"]

mode := "audit"

warn contains msg if {
	input.subject.artifact != null
	not input.subject.signed
	msg := sprintf("artifact %s has no signature (no artifact.signed event names it)", [input.subject.artifact])
}
