"""Apply ACL users and the credentials the servers use to running Redis instances and Sentinels, without a restart.

Reads a JSON spec on stdin and writes a JSON report on stdout. Two phases, run on every host in turn so that
every server accepts a new password before any server starts using it:

- ``accept``: the ACL users (``ACL SETUSER``, ``ACL DELUSER``; Sentinels then ``SENTINEL FLUSHCONFIG``).
  ``ACL LOAD`` is not used: before Redis 7.2 it disconnects every client, replicas included.
- ``use``: ``masteruser``/``masterauth`` (``CONFIG SET``) on Redis instances; ``sentinel-user``/``sentinel-pass``
  (``SENTINEL CONFIG SET``) and each monitor's ``auth-user``/``auth-pass`` (``SENTINEL SET``) on Sentinels.

A user is compared with what the server holds: its on/off and nopass flags, its password hashes, and its rules
as the server itself normalizes them (the rules are set on a disabled probe user, read back and deleted).
A server that does not answer is skipped: it reads the files when it starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

PROBE_USER = "shardinel-rules-probe"
CLI_TIMEOUT = 20
# A replica that loads the RDB of a full resync (after a restart or a partition) answers LOADING to every command.
LOADING_WAIT = 90


class CredentialError(Exception):
    pass


def quote(argument):
    """One argument of a command-line tool input line (double-quoted; the tool reads C-style escapes)."""
    return json.dumps(str(argument), ensure_ascii=False)


def run_cli(cli, address, user, password, commands):
    """Run ``commands`` (lists of arguments) in one session; returns the JSON replies, one per command.

    Raises ConnectionError when the server does not answer; an error reply is ``{"error": text}``. While the
    server answers LOADING, the same commands (reads, or changes that can be repeated) are sent again.
    """
    deadline = time.monotonic() + LOADING_WAIT
    while True:
        replies = run_cli_once(cli, address, user, password, commands)
        if time.monotonic() > deadline or not any(is_error(reply) and "LOADING" in reply["error"] for reply in replies):
            return replies
        time.sleep(0.5)


def run_cli_once(cli, address, user, password, commands):
    host, port = address.rsplit(":", 1)
    argv = list(cli) + ["--no-auth-warning", "--json", "--user", user, "-h", host.strip("[]"), "-p", port]
    result = subprocess.run(
        argv, input="\n".join(" ".join(quote(arg) for arg in command) for command in commands).encode("utf-8"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, REDISCLI_AUTH=password),
        timeout=CLI_TIMEOUT, check=False)
    lines = result.stdout.decode("utf-8", "replace").splitlines()
    if not lines:
        raise ConnectionError(result.stderr.decode("utf-8", "replace").strip() or "no answer")
    replies = []
    for line in lines:
        try:
            replies.append(json.loads(line))
        except ValueError:
            replies.append({"error": line})
    return replies


def is_error(reply):
    return isinstance(reply, dict) and set(reply) == {"error"}


def log_in(cli, target):
    """The first accepted password of the login user, or None when the server does not answer."""
    for password in target["login_passwords"]:
        try:
            replies = run_cli(cli, target["address"], target["login_user"], password, [["ACL", "WHOAMI"]])
        except ConnectionError:
            return None
        if replies == [target["login_user"]]:
            return password
    raise CredentialError("%s refuses user %s with %s and its previous passwords"
                          % (target["address"], target["login_user"], target["login_variable"]))


def setuser_arguments(user):
    secrets = ["nopass"] if user.get("nopass") else ["#" + digest for digest in user["hashes"]]
    return [user["name"], "reset", "on" if user["enabled"] else "off"] + secrets + user["rules"].split()


def difference(held, probe, user):
    """Why the server's user differs from the wanted one (no secret in it), or None."""
    if not isinstance(held, dict) or "flags" not in held:
        return "not held (%s)" % (held,)
    flags = held.get("flags", [])
    if ("on" in flags) != bool(user["enabled"]) or ("nopass" in flags) != bool(user.get("nopass")):
        return "flags %s" % flags
    if sorted(held.get("passwords", [])) != sorted(user["hashes"]):
        return "passwords (%d held, %d wanted)" % (len(held.get("passwords", [])), len(user["hashes"]))
    for field in ("commands", "keys", "channels", "selectors"):
        if comparable(held.get(field)) != comparable(probe.get(field)):
            return "%s: held %s, wanted %s" % (field, held.get(field), probe.get(field))
    return None


def comparable(rules):
    """Rule text as a sorted list of its rules: the server lists subcommand rules (-function|flush) in the order of
    its own tables, which differs between a user loaded from the ACL file and one set at runtime."""
    if isinstance(rules, str):
        return sorted(rules.split())
    return rules


def user_changes(cli, target, password):
    """The ACL commands that make the server hold exactly the wanted users, each with the name it changes, and why each
    changed user differed (names and rules only, for the report)."""
    users = target["users"]
    commands = [["ACL", "USERS"]]
    for user in users:
        commands += [["ACL", "GETUSER", user["name"]], ["ACL", "SETUSER", PROBE_USER, "reset"] + user["rules"].split(),
                     ["ACL", "GETUSER", PROBE_USER]]
    commands.append(["ACL", "DELUSER", PROBE_USER])
    replies = run_cli(cli, target["address"], target["login_user"], password, commands)
    if len(replies) != len(commands) or not isinstance(replies[0], list):
        raise CredentialError("%s: unexpected answer to the ACL queries: %s" % (target["address"], replies[:1]))
    changes, reasons = [], {}
    for index, user in enumerate(users):
        held, probe_set, probe = replies[1 + 3 * index: 4 + 3 * index]
        if is_error(probe_set):
            raise CredentialError("%s: the rules of user %s are refused: %s" % (target["address"], user["name"], probe_set))
        why = difference(held, probe, user)
        if why is not None:
            reasons[user["name"]] = why
            changes.append((user["name"], ["ACL", "SETUSER"] + setuser_arguments(user)))
    wanted = {user["name"] for user in users} | {PROBE_USER}
    changes += [(name, ["ACL", "DELUSER", name]) for name in replies[0] if name not in wanted]
    return changes, reasons


def unquote(value):
    """A value of a line Sentinel wrote: double-quoted with backslash escapes by Ansible, bare by Sentinel."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def monitor_credentials(path):
    """{shard: {"auth-user": ..., "auth-pass": ...}} from a Sentinel's config file, which it rewrites on every change."""
    found = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split(" ", 3)
            if len(parts) == 4 and parts[0] == "sentinel" and parts[1] in ("auth-user", "auth-pass"):
                found.setdefault(parts[2], {})[parts[1]] = unquote(parts[3])
    return found


def setting_changes(cli, target, password, prefix, wanted):
    """``prefix`` CONFIG SET commands for the settings in ``wanted`` that the server holds otherwise (``prefix`` CONFIG GET)."""
    replies = run_cli(cli, target["address"], target["login_user"], password, [prefix + ["CONFIG", "GET", name] for name in wanted])
    held = {}
    for reply in replies:
        held.update(reply if isinstance(reply, dict) else {})
    return [(name, prefix + ["CONFIG", "SET", name, value]) for name, value in wanted.items() if held.get(name) != value]


def used_changes(cli, target, password):
    """The commands that make the server use the wanted credentials, each with what it changes."""
    if target["kind"] == "redis":
        return setting_changes(cli, target, password, [], target["config"])
    changes = setting_changes(cli, target, password, ["SENTINEL"], target["sentinel_config"])
    monitors = monitor_credentials(target["config_file"])
    for shard in target["shards"]:
        if shard not in monitors:
            continue
        options = []
        for option, value in target["monitor_auth"].items():
            if monitors[shard].get(option) != value:
                options += [option, value]
        if options:
            changes.append(("%s %s" % (shard, "/".join(options[::2])), ["SENTINEL", "SET", shard] + options))
    return changes


def apply(spec, target):
    """What was (or, in check mode, would be) changed on one server, and why for the users; None when it does not answer."""
    password = log_in(spec["cli"], target)
    if password is None:
        return None
    reasons = {}
    if spec["phase"] == "accept":
        changes, reasons = user_changes(spec["cli"], target, password)
        if changes and target["kind"] == "sentinel":
            changes.append(("config file", ["SENTINEL", "FLUSHCONFIG"]))
    else:
        changes = used_changes(spec["cli"], target, password)
    described = [what for what, _command in changes]
    if changes and not spec["check"]:
        replies = run_cli(spec["cli"], target["address"], target["login_user"], password, [command for _what, command in changes])
        failed = [what for what, reply in zip(described, replies) if is_error(reply) or reply is None]
        if failed or len(replies) != len(changes):
            raise CredentialError("%s: could not change %s: %s" % (target["address"], ", ".join(failed or described), replies))
    return described, reasons


def redact(text, secrets):
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "********")
    return text


def main():
    spec = json.load(sys.stdin)
    report = {"changed": {}, "not_running": []}
    try:
        for target in spec["targets"]:
            applied = apply(spec, target)
            if applied is None:
                report["not_running"].append(target["address"])
                continue
            changed, reasons = applied
            if changed:
                report["changed"][target["address"]] = changed
            if reasons:
                report.setdefault("reasons", {})[target["address"]] = reasons
    except (CredentialError, OSError, subprocess.SubprocessError) as error:
        sys.stderr.write(redact(str(error), spec.get("redact", [])) + "\n")
        return 1
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
