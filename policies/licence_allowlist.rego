# Every component of an SBOM carries a licence on the allowlist. A component whose licence is
# not on it is denied, unless an exception in force waives this policy for the artifact.
# Edit `allowed` to your organisation's list (SPDX ids; an expression is allowed when every
# licence it names is).
package dossier.licence_allowlist

triggers := ["dev.cdeventsx.dossier-document.received.*"]

mode := "enforce"

allowed := {
	"0BSD", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "MIT", "MPL-2.0", "PSF-2.0", "Python-2.0",
	"Unicode-DFS-2016", "Unlicense", "Zlib",
}

# The licences an expression names: "Apache-2.0 AND (MIT OR ISC)" names three.
named(expression) := {id |
	some word in regex.split(`[ ()]+`, expression)
	word != ""
	not upper(word) in {"AND", "OR", "WITH"}
	id := word
}

refused contains sprintf("%s (%s)", [component_name(c), concat(", ", sort(bad))]) if {
	some c in input.event.subject.content.components
	some licence in c.licenses
	bad := named(licence) - allowed
	count(bad) > 0
}

refused contains sprintf("%s (no licence stated)", [component_name(c)]) if {
	some c in input.event.subject.content.components
	c.purl
	count(object.get(c, "licenses", [])) == 0
}

component_name(c) := c.purl if c.purl
component_name(c) := c.name if not c.purl

waiver := e.id if {
	some e in input.exceptions
	"licence_allowlist" in e.policies
}

deny contains msg if {
	count(refused) > 0
	not waiver
	msg := sprintf("%s contains components whose licences are not allowed: %s", [input.subject.artifact, concat("; ", sort(refused))])
}

exceptions_applied contains waiver if count(refused) > 0
