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
    {"sentinels": ["ip:port", ...], "user": ..., "password": ..., "cli": ["/usr/bin/redis-cli", "--tls", ...],
     "instances": {"<shard>": "ip:port"}, "host_layout": "/usr/local/libexec/shardinel/host_layout.py"}

Never fails the start: any error is reported on stderr (the journal) and the output file is still written.
"""

import importlib.util
import json
import sys

TIMEOUT = 3.0


def load_host_layout(path):
    """The roles' host_layout.py (installed on the data hosts), which holds the one Sentinel query."""
    spec = importlib.util.spec_from_file_location("host_layout", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ask_sentinels(settings, shard):
    """{"ip:port" of each Sentinel that answered: its SENTINEL MASTER reply for the shard}."""
    query = load_host_layout(settings["host_layout"]).ask_sentinels
    answers = query(settings.get("sentinels", []), settings.get("cli", ["redis-cli"]), settings["user"], settings.get("password", ""),
                    ["SENTINEL", "MASTER", shard], TIMEOUT)
    return {address: answer for address, answer in answers.items() if isinstance(answer, dict) and "ip" in answer and "port" in answer}


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
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ImportError) as error:
        message = "could not ask the Sentinels for %s (%s): starting from its own config" % (shard, error)
    sys.stderr.write("redis-start-role: %s\n" % message)
    with open(output_path, "w", encoding="utf-8") as handle:
        handle.write("# Written by redis-start-role before this start; read after the other config files.\n" + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
