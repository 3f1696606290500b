"""Conformance validation of a submission package: rules registry (rules.py), checks (checks_*.py),
package reading (package.py), reports (report.py) and the `studyforge validate` command (command.py)."""
