"""Check that every collection in requirements.yml is installed in a satisfying version.

Galaxy is not reachable from our machines; the collections come from the `ansible`
package on PyPI. This is molecule's dependency step: it fails, naming the collection,
when one is missing or too old, instead of trying to download it.
"""
import json
import subprocess
import sys

import yaml
from ansible.utils.version import SemanticVersion


def installed():
    out = subprocess.run(["ansible-galaxy", "collection", "list", "--format", "json"],
                         check=True, capture_output=True, text=True).stdout
    found = {}
    for collections in json.loads(out).values():
        for name, info in collections.items():
            version = info.get("version") or "0.0.0"
            if name not in found or SemanticVersion(version) > SemanticVersion(found[name]):
                found[name] = version
    return found


def satisfied(version, spec):
    for clause in (spec or "*").split(","):
        clause = clause.strip()
        if clause in ("", "*"):
            continue
        for op in (">=", "<=", "==", "!=", ">", "<"):
            if clause.startswith(op):
                want = SemanticVersion(clause[len(op):].strip())
                have = SemanticVersion(version)
                ok = {">=": have >= want, "<=": have <= want, "==": have == want,
                      "!=": have != want, ">": have > want, "<": have < want}[op]
                if not ok:
                    return False
                break
        else:
            if SemanticVersion(version) != SemanticVersion(clause):
                return False
    return True


def main(path):
    with open(path, encoding="utf-8") as handle:
        wanted = yaml.safe_load(handle).get("collections", [])
    have = installed()
    missing = []
    for item in wanted:
        name, spec = item["name"], str(item.get("version", "*"))
        if name not in have:
            missing.append(f"{name} ({spec}) is not installed")
        elif not satisfied(have[name], spec):
            missing.append(f"{name} {have[name]} does not satisfy {spec}")
        else:
            print(f"ok: {name} {have[name]} ({spec})")
    if missing:
        sys.exit("missing collections: " + "; ".join(missing)
                 + " (install the pinned `ansible` package from requirements-dev.txt)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "requirements.yml")
