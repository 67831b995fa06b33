"""--check --diff, as an operator runs it first against production: it succeeds on fresh hosts, on the converged topology
and after a failover; it shows the diff of every file that would change with every secret hidden; it changes nothing on
any host or server; and the real converge makes exactly the changes it showed (the record of the check that ran on the
fresh hosts before the first converge, molecule/default/prepare.yml).

Only where the scenario's group_vars set shardinel_test_check_mode (the default scenario).
"""

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from check_run import changed_tasks, check, layout_changes
from expected import BOOTSTRAP, CONFIG_DIR, ENGINE, GROUP_VARS, HOSTS, address, sentinel_addresses
from playbook_run import REPO

pytestmark = pytest.mark.skipif(not GROUP_VARS.get("shardinel_test_check_mode"), reason="only where shardinel_test_check_mode is set")

LIBEXEC = "/usr/local/libexec/shardinel"
UNITS = "/etc/systemd/system"
# Files of the roles that Redis or Sentinel rewrite themselves once they run: compared by their servers' state instead.
SERVER_OWNED = ("/sentinel-",)


def _managed_files(host):
    """Every path the roles lay out on a host that exists now (files and links), with a digest of each file."""
    listing = host.run(
        f"find {CONFIG_DIR} {LIBEXEC} {UNITS}/shardinel-redis.target {UNITS}/shardinel-redis@.service "
        f"{UNITS}/shardinel-sentinel.target {UNITS}/shardinel-sentinel@.service {UNITS}/multi-user.target.wants "
        f"{UNITS}/{ENGINE}-server.service {UNITS}/{ENGINE}-sentinel.service "
        r"\( -type f -o -type l \) -printf '%p %y %m %u\n' 2>/dev/null")
    entries = {}
    for line in listing.stdout.splitlines():
        path, kind, mode, owner = line.rsplit(" ", 3)
        if "/multi-user.target.wants/" in path and "shardinel" not in path:
            continue
        digest = host.run(f"sha256sum {path}").stdout.split()[0] if kind == "f" else host.run(f"readlink {path}").stdout.strip()
        entries[path] = (kind, mode, owner, digest)
    return entries


def _run_ids(admin, sentinel_admin):
    ids = {}
    for shard, (port, first, second) in BOOTSTRAP.items():
        for host in (first, second):
            ids[address(host, port)] = admin(address(host, port), "INFO", "server")
    for sentinel in sentinel_addresses():
        ids[sentinel] = sentinel_admin(sentinel, "INFO", "server")
    return {key: next(line for line in text.splitlines() if line.startswith("run_id:")) for key, text in ids.items()}


def _state(hosts, admin, sentinel_admin):
    """What a check must not change: the roles' files (except Sentinel's own configs) and every server process."""
    files = {name: {path: entry for path, entry in _managed_files(host).items() if not any(part in path for part in SERVER_OWNED)}
             for name, host in hosts.items()}
    acl = {key: hashlib.sha256(admin(key, "ACL", "LIST").encode()).hexdigest()
           for key in [address(h, p) for p, h, _r in BOOTSTRAP.values()]}
    return {"files": files, "servers": _run_ids(admin, sentinel_admin), "acl": acl}


def _no_secret(output, secrets):
    leaked = [name for name, value in secrets.items() if name.endswith("_password") and value and value in output]
    assert not leaked, f"{leaked} in the output of the check"


def test_the_first_converge_made_what_the_check_before_it_showed(hosts):
    record = json.loads((Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "check-before-converge.json").read_text())
    assert set(record["layout"]) == set(HOSTS)
    for name, host in hosts.items():
        shown = set(record["layout"][name]["paths"])
        assert {f"{ENGINE}-server", f"{ENGINE}-sentinel"} <= set(record["layout"][name]["packages"])
        made = set(_managed_files(host))
        assert made - shown == set(), f"{name}: the converge made files the check did not show: {sorted(made - shown)}"
        missing = [path for path in shown if not host.file(path).exists]
        assert not missing, f"{name}: the check showed paths the converge did not make: {missing}"
        diffs = {entry["after_header"].split(" (")[0]: entry["after"] for entry in record["layout"][name]["diffs"]}
        for shard in BOOTSTRAP:
            assert f"port {BOOTSTRAP[shard][0]}" in diffs[f"{CONFIG_DIR}/{shard}.static.conf"]
            acl = diffs[f"{CONFIG_DIR}/{shard}.acl"]
            assert "#********" in acl and not re.search("#[0-9a-f]{64}", acl), "an ACL hash is shown in the diff"


def test_a_static_setting_change_shows_its_file_and_line_and_changes_nothing(hosts, admin, sentinel_admin, secrets):
    before = _state(hosts, admin, sentinel_admin)
    report, output = check(REPO / "site.yml", "-e", "redis_server_maxmemory=65mb")
    _no_secret(output, secrets)
    changes = layout_changes(report)
    for name in HOSTS:
        assert sorted(changes[name]["paths"]) == sorted(f"{CONFIG_DIR}/{shard}.static.conf" for shard in BOOTSTRAP), changes[name]
        for diff in changes[name]["diffs"]:
            assert "maxmemory 64mb" in diff["before"] and "maxmemory 65mb" in diff["after"], diff
    changed = {host: set(tasks) for host, tasks in changed_tasks(report).items()}
    allowed = {"Lay out the instances' directories, configuration files and systemd units",
               "Restart the instances one at a time, failing each master over first"}
    assert all(tasks <= {f"shardinel.redis.redis_server : {task}" for task in allowed} | allowed for tasks in changed.values()), changed
    assert _state(hosts, admin, sentinel_admin) == before


def test_a_check_after_the_failover_reports_no_change(hosts, admin, sentinel_admin, secrets):
    before = _state(hosts, admin, sentinel_admin)
    report, output = check()
    _no_secret(output, secrets)
    assert changed_tasks(report) == {}
    assert _state(hosts, admin, sentinel_admin) == before


@pytest.mark.parametrize("playbook, arguments", [
    ("upgrade.yml", ["-e", "shardinel_upgrade_require_survivable=false"]),
    ("verify.yml", []),
    ("backup.yml", ["-e", "shardinel_backup_set=check-mode"]),
    ("scale.yml", ["-e", json.dumps({"shardinel_shards": [{"name": "shard1"}, {"name": "shard2"}, {"name": "shard3"}]})]),
])
def test_the_other_playbooks_check_cleanly(hosts, admin, sentinel_admin, secrets, playbook, arguments):
    before = _state(hosts, admin, sentinel_admin)
    report, output = check(REPO / "playbooks" / playbook, *arguments)
    _no_secret(output, secrets)
    assert _state(hosts, admin, sentinel_admin) == before
    if playbook == "scale.yml":
        # A grow shows the new shard's files on the hosts that would hold it, though it is not deployed yet.
        shown = [path for changes in layout_changes(report).values() for path in changes["paths"]]
        assert f"{CONFIG_DIR}/shard3.static.conf" in shown, shown
