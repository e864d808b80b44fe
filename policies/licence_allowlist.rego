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

# Python packages state their licence as a trove classifier, in words; these are the SPDX ids
# the common ones stand for. ("BSD License" does not say which BSD: it reads as BSD-3-Clause.)
classifiers := {
	"License :: OSI Approved :: Apache Software License": "Apache-2.0",
	"License :: OSI Approved :: MIT License": "MIT",
	"License :: OSI Approved :: MIT No Attribution License (MIT-0)": "MIT-0",
	"License :: OSI Approved :: BSD License": "BSD-3-Clause",
	"License :: OSI Approved :: ISC License (ISCL)": "ISC",
	"License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
	"License :: OSI Approved :: Python Software Foundation License": "PSF-2.0",
	"License :: OSI Approved :: The Unlicense (Unlicense)": "Unlicense",
	"License :: OSI Approved :: zlib/libpng License": "Zlib",
	"License :: OSI Approved :: GNU General Public License v2 (GPLv2)": "GPL-2.0-only",
	"License :: OSI Approved :: GNU General Public License v3 (GPLv3)": "GPL-3.0-only",
	"License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3.0-only",
	"License :: OSI Approved :: GNU Affero General Public License v3": "AGPL-3.0-only",
}

# The licences an expression names: "Apache-2.0 AND (MIT OR ISC)" names three; a classifier
# names the SPDX id it stands for, or itself, whole, when it is not in the table above.
named(expression) := {classifiers[expression]} if {
	classifiers[expression]
} else := {expression} if {
	startswith(expression, "License :: ")
} else := {id |
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
