"""Lay out a host's part of the topology in one run: one round trip per role and host, however many shards.

The redis_server and redis_sentinel roles run it with the host's Python (python -c), the layout as JSON on stdin:

    {"check": false,
     "packages": ["redis-server", ...],
     "directories": [{"path": ..., "owner": ..., "group": ..., "mode": "0750"}],
     "files": [{"path": ..., "content": ..., "owner": ..., "group": ..., "mode": "0640",
                "validate": "checker --option %s", "create_only": false}],
     "links": [{"path": ..., "target": ...}],
     "units": ["name.service", ...],
     "sentinels": {"addresses": ["ip:port", ...], "user": ..., "password": ..., "cli": ["/usr/bin/redis-cli", "--tls", ...]},
     "redact": ["secret", ...]}

In this order:

- packages: if one is not installed, nothing else is done; the report lists the missing ones, for the role
  to install them and run this again.
- directories are created (with their parents) and get their owner, group and mode.
- files are rewritten only when their content differs: the new content goes to a temporary file next to the
  old one, the validate command (if any) must accept it, then it replaces the old one atomically. Owner, group
  and mode are corrected in place. A create_only file that exists is left alone (a service owns it from then
  on); one whose content is null is needed but not known yet (it depends on the live topology): if it does
  not exist it is reported as deferred, for the role to run this again with its content.
- links are created or pointed at their target.
- units: those that systemd neither runs nor is starting (or restarting after a delay) are reported.
- sentinels: each address is asked for SENTINEL MASTERS (the "cli" argv, redis-cli by default, all at once, 5 s timeout); the answers
  are reported by address.

Prints {"missing_packages", "changed", "created", "deferred", "inactive", "views"} as JSON. With "check": true
nothing is written and the paths that would change are reported. On error, prints the error (naming the path)
on stderr and exits 1; what was applied before the error stays applied. The error may quote a validator's
output, which may quote a line of a file: every "redact" string in it, as is or in the double-quoted form of a
Redis config value, is replaced by ********.
"""

import grp
import json
import os
import pwd
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time

SENTINEL_TIMEOUT = 5.0


class LayoutError(Exception):
    pass


def missing_packages(packages):
    if not packages:
        return []
    if shutil.which("dpkg-query"):
        command = ["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Status}\\n"]
        installed = {line.split()[0] for line in run_lines(command + list(packages)) if line.endswith(" installed")}
    elif shutil.which("rpm"):
        installed = set(run_lines(["rpm", "--query", "--queryformat", "%{NAME}\\n"] + list(packages)))
    else:
        return list(packages)
    return [package for package in packages if package not in installed]


def run_lines(argv):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    return result.stdout.decode("utf-8", "replace").splitlines()


def ids(item, check):
    """uid and gid to set (-1: leave alone). In check mode an owner that does not exist yet (its
    package is not installed) counts as a difference: -2, which no file has."""
    try:
        uid = pwd.getpwnam(item["owner"]).pw_uid if item.get("owner") else -1
        gid = grp.getgrnam(item["group"]).gr_gid if item.get("group") else -1
    except KeyError as error:
        if check:
            return -2, -2
        raise LayoutError("%s: unknown owner or group (%s)" % (item["path"], error))
    return uid, gid


def attributes_differ(status, uid, gid, mode):
    return (uid != -1 and status.st_uid != uid) or (gid != -1 and status.st_gid != gid) or (
        mode is not None and stat.S_IMODE(status.st_mode) != mode)


def set_attributes(path, uid, gid, mode):
    os.chown(path, uid, gid, follow_symlinks=False)
    if mode is not None:
        os.chmod(path, mode)


def parse_mode(item):
    return int(item["mode"], 8) if item.get("mode") else None


def apply_directory(item, check):
    path, (uid, gid), mode = item["path"], ids(item, check), parse_mode(item)
    if not os.path.isdir(path):
        if os.path.lexists(path):
            raise LayoutError("%s exists and is not a directory" % path)
        if not check:
            os.makedirs(path)
            set_attributes(path, uid, gid, mode)
        return "created"
    if attributes_differ(os.stat(path), uid, gid, mode):
        if not check:
            set_attributes(path, uid, gid, mode)
        return "changed"
    return None


def validate(command, temporary, path):
    argv = [part.replace("%s", temporary) for part in shlex.split(command)]
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise LayoutError("%s: the new content was rejected, the file is unchanged (%s): %s" % (
            path, command, result.stdout.decode("utf-8", "replace").strip()))


def write_file(item, content, uid, gid, mode):
    directory, name = os.path.split(item["path"])
    handle, temporary = tempfile.mkstemp(prefix=".%s." % name, dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            stream.flush()
            os.fsync(stream.fileno())
        set_attributes(temporary, uid, gid, mode)
        if item.get("validate"):
            validate(item["validate"], temporary, item["path"])
        os.replace(temporary, item["path"])
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def apply_file(item, check):
    path = item["path"]
    exists = os.path.lexists(path)
    if exists and item.get("create_only"):
        return None
    if item.get("content") is None:
        return "deferred"
    (uid, gid), mode = ids(item, check), parse_mode(item)
    content = item["content"].encode("utf-8")
    if exists and not os.path.isfile(path):
        raise LayoutError("%s exists and is not a regular file" % path)
    if exists:
        with open(path, "rb") as stream:
            same = stream.read() == content
        if same:
            if not attributes_differ(os.stat(path), uid, gid, mode):
                return None
            if not check:
                set_attributes(path, uid, gid, mode)
            return "changed"
    if not check:
        write_file(item, content, uid, gid, mode)
    return "changed" if exists else "created"


def apply_link(item, check):
    path, target = item["path"], item["target"]
    if os.path.islink(path) and os.readlink(path) == target:
        return None
    exists = os.path.lexists(path)
    if exists and not os.path.islink(path):
        raise LayoutError("%s exists and is not a symbolic link" % path)
    if not check:
        directory = os.path.dirname(path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o755)
        temporary = os.path.join(directory, ".%s.%d" % (os.path.basename(path), os.getpid()))
        os.symlink(target, temporary)
        os.replace(temporary, path)
    return "changed" if exists else "created"


def inactive_units(units):
    if not units:
        return []
    result = subprocess.run(["systemctl", "is-active"] + list(units), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    states = result.stdout.decode("utf-8", "replace").split()
    if len(states) != len(units):
        raise LayoutError("systemctl is-active: %s" % result.stderr.decode("utf-8", "replace").strip())
    return [unit for unit, state in zip(units, states) if state not in ("active", "activating", "reloading")]


def ask_sentinels(addresses, cli, user, password, command, timeout=SENTINEL_TIMEOUT):
    """{"ip:port": JSON answer} of the Sentinels that answer ``command`` within ``timeout`` s; all asked at once.

    Also imported by redis-start-role, installed next to this file on the data hosts.
    """
    environment = dict(os.environ, REDISCLI_AUTH=password or "")
    running = {}
    for address in addresses:
        host, port = address.rsplit(":", 1)
        argv = list(cli) + ["--no-auth-warning", "--json", "--user", user, "-h", host.strip("[]"), "-p", port] + list(command)
        running[address] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + timeout
    answers = {}
    for address, process in running.items():
        try:
            output = process.communicate(timeout=max(0.0, deadline - time.monotonic()))[0]
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            continue
        try:
            answers[address] = json.loads(output.decode("utf-8", "replace"))
        except ValueError:
            continue
    return answers


def sentinel_views(query):
    """SENTINEL MASTERS of each Sentinel that answers, by "ip:port"."""
    if not query or not query.get("addresses"):
        return {}
    answers = ask_sentinels(query["addresses"], query.get("cli", ["redis-cli"]), query["user"], query.get("password", ""),
                            ["SENTINEL", "MASTERS"])
    return {address: answer for address, answer in answers.items() if isinstance(answer, list)}


def layout(spec):
    check = bool(spec.get("check"))
    report = {"missing_packages": missing_packages(spec.get("packages", [])), "changed": [], "created": [], "deferred": [],
              "inactive": [], "views": {}}
    if report["missing_packages"]:
        return report
    for kind, function in (("directories", apply_directory), ("files", apply_file), ("links", apply_link)):
        for item in spec.get(kind, []):
            outcome = function(item, check)
            if outcome == "deferred":
                report["deferred"].append(item["path"])
            elif outcome:
                report["changed"].append(item["path"])
            if outcome == "created":
                report["created"].append(item["path"])
    report["inactive"] = inactive_units(spec.get("units", []))
    report["views"] = sentinel_views(spec.get("sentinels"))
    return report


def redact(text, secrets):
    for secret in secrets:
        if secret:
            quoted = secret.replace("\\", "\\\\").replace('"', '\\"')
            text = text.replace(quoted, "********").replace(secret, "********")
    return text


def main():
    secrets = []
    try:
        spec = json.load(sys.stdin)
        secrets = spec.get("redact", [])
        report = layout(spec)
    except (LayoutError, OSError, KeyError, ValueError) as error:
        sys.stderr.write("host_layout: %s\n" % redact(str(error), secrets))
        return 1
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
