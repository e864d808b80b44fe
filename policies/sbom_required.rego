# Every published artifact has an SBOM; if none arrived, ask for one to be generated.
package dossier.sbom_required

triggers := ["dev.cdevents.artifact.published.*"]

mode := "enforce"

allowed_actions := ["emit"]

deny contains msg if {
	input.subject.sbom == null
	msg := sprintf("artifact %s was published without an SBOM", [input.event.subject.id])
}

# Queue an SBOM generation run for the scanner's pipeline to pick up.
actions contains {
	"kind": "emit",
	"type": "dev.cdevents.testsuiterun.queued.0.3.0",
	"subject": sprintf("sbom-%s", [input.event.subject.id]),
	"content": {"testSuite": {"id": "sbom-generation"}, "environment": {"id": "security"}},
} if {
	input.subject.sbom == null
}
