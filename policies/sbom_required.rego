# Every published artifact gets an SBOM and a security scan. With neither reference nor SBOM
# document at publication, an SBOM generation is queued at once; 15 minutes later, whatever
# has not arrived — SBOM or scan — is queued again and reported.
package dossier.sbom_required

triggers := ["dev.cdevents.artifact.published.*"]

mode := "enforce"

allowed_actions := ["emit", "recheck"]

# An SBOM reference on an artifact event, or an SBOM document received about it.
has_sbom if input.subject.sbom != null

has_sbom if count(input.subject.components) > 0

# A scan: a document from a tool that reports findings (SARIF, OSV, a CycloneDX scan report).
has_scan if {
	some s in input.subject.scans
	s.format in {"sarif", "osv"}
}

has_scan if {
	some s in input.subject.scans
	s.findings > 0
}

queue(suite) := {
	"kind": "emit",
	"type": "dev.cdevents.testsuiterun.queued.0.3.0",
	"subject": sprintf("%s-%s", [suite, input.event.subject.id]),
	"content": {"testSuite": {"id": suite}, "environment": {"id": "security"}},
}

deny contains msg if {
	not has_sbom
	msg := sprintf("artifact %s was published without an SBOM", [input.event.subject.id])
}

deny contains msg if {
	input.recheck
	not has_scan
	msg := sprintf("no security scan of %s arrived within 15 minutes of its publication", [input.event.subject.id])
}

actions contains queue("sbom-generation") if not has_sbom

actions contains queue("security-scan") if {
	input.recheck
	not has_scan
}

# Look again once the pipelines have had time to send what they produce.
actions contains {"kind": "recheck", "after": "15m"} if not input.recheck
