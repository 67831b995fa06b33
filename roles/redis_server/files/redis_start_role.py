"""Before a shard instance starts (ExecStartPre), decide whether it must start as a replica.

Usage: redis-start-role <shard> <settings.json> <output.conf>

Redis starts from its own config file, which names the role the instance had when it last wrote it. An
instance that was master when its host crashed would come back as a second master until Sentinel converts
it, several seconds later. So every Sentinel is asked (all at once, SENTINEL MASTER <shard>, at most
TIMEOUT s) which instance is the shard's master; the answer with the highest config epoch wins. When it
names another instance, "replicaof <ip> <port>" is written to the output file, which redis-server reads
last (--include). Otherwise (it names this instance, or no Sentinel answers) the file holds only a comment
and the instance starts from its own config, as it would without this step.

settings.json (0640, it holds the Sentinel client user's password):
    {"sentinels": ["ip:port", ...], "user": ..., "password": ..., "cli": "/usr/bin/redis-cli",
     "instances": {"<shard>": "ip:port"}}

Never fails the start: any error is reported on stderr (the journal) and the output file is still written.
"""

import json
import os
import subprocess
import sys
import time

TIMEOUT = 3.0


def ask_sentinels(settings, shard):
    """{"ip:port" of each Sentinel that answered: its SENTINEL MASTER reply for the shard}."""
    environment = dict(os.environ, REDISCLI_AUTH=settings.get("password", ""))
    running = {}
    for address in settings.get("sentinels", []):
        host, port = address.rsplit(":", 1)
        argv = [settings.get("cli", "redis-cli"), "--no-auth-warning", "--json", "--user", settings["user"], "-h", host.strip("[]"), "-p", port,
                "SENTINEL", "MASTER", shard]
        running[address] = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment)
    deadline = time.monotonic() + TIMEOUT
    answers = {}
    for address, process in running.items():
        try:
            output = process.communicate(timeout=max(0.0, deadline - time.monotonic()))[0]
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            continue
        try:
            answer = json.loads(output.decode("utf-8", "replace"))
        except ValueError:
            continue
        if isinstance(answer, dict) and "ip" in answer and "port" in answer:
            answers[address] = answer
    return answers


def decide(shard, me, answers):
    """(line for the output file, message for the journal)."""
    if not answers:
        return "", "no Sentinel answered for %s: starting from its own config" % shard
    sentinel, newest = max(answers.items(), key=lambda item: int(item[1].get("config-epoch", 0)))
    master = "%s:%s" % (newest["ip"], newest["port"])
    source = "Sentinel %s (config epoch %s of %d answering)" % (sentinel, newest.get("config-epoch"), len(answers))
    if master == me:
        return "", "%s names %s itself as master of %s: starting from its own config" % (source, me, shard)
    line = "replicaof %s %s\n" % (newest["ip"], newest["port"])
    return line, "%s names %s as master of %s: %s starts as its replica" % (source, master, shard, me)


def main(argv):
    shard, settings_path, output_path = argv[1:4]
    line = ""
    try:
        with open(settings_path, encoding="utf-8") as handle:
            settings = json.load(handle)
        me = settings["instances"][shard]
        line, message = decide(shard, me, ask_sentinels(settings, shard))
    except (OSError, ValueError, KeyError, TypeError) as error:
        message = "could not ask the Sentinels for %s (%s): starting from its own config" % (shard, error)
    sys.stderr.write("redis-start-role: %s\n" % message)
    with open(output_path, "w", encoding="utf-8") as handle:
        handle.write("# Written by redis-start-role before this start; read after the other config files.\n" + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
