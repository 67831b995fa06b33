"""Before a shard instance starts (ExecStartPre), decide whether it must start as a replica.

Usage: python3 redis-start-role <shard> <settings.json> <output.conf>

Redis starts from its own config file, which names the role the instance had when it last wrote it. An instance that
was master when its host crashed would come back as a second master until Sentinel converts it, several seconds
later. So every Sentinel is asked (all at once, SENTINEL MASTER <shard>, at most "timeout" s) which instance is the
shard's master; the answer with the highest config epoch wins (shardinel.sentinel_answers.newest). When it names
another instance, "replicaof <ip> <port>" is written to the output file, which redis-server reads last (--include).
Otherwise (it names this instance, or no Sentinel answers) the file holds only a comment and the instance starts from
its own config, as it would without this step.

Installed with, in the same directory, redis_wire.py and a package shardinel/ holding __init__.py, addresses.py and
sentinel_answers.py (copies of the collection's plugins/module_utils files), which it imports from there.

settings.json (0640, it holds the Sentinel discovery user's password):
    {"sentinels": ["ip:port", ...], "sentinel_username": ..., "sentinel_password": ...,
     "instances": {"<shard>": "ip:port"},
     "tls": false, "tls_ca_file": null, "tls_cert_file": null, "tls_key_file": null,   (optional; as the modules'
     "tls_verify": true, "tls_check_hostname": false,                                   tls_* options mean them)
     "timeout": 3}                                                                       (optional, seconds)
Any other field is refused (reported like any other error), never ignored.

Never fails the start: any error (a missing file next to it included) is reported on stderr (the journal) and the
output file is still written.
"""

import json
import sys

try:
    import redis_wire
    from shardinel.addresses import format_address, parse_address, parse_addresses
    from shardinel.sentinel_answers import newest, parse_state, state_address
except ImportError as error:
    IMPORT_ERROR = error
else:
    IMPORT_ERROR = None

TIMEOUT = 3.0
SETTINGS = ("sentinels", "sentinel_username", "sentinel_password", "instances", "tls", "tls_ca_file", "tls_cert_file",
            "tls_key_file", "tls_verify", "tls_check_hostname", "timeout")


def read_settings(path):
    """The settings file, refused (ValueError naming the fields) when it holds a field this helper does not know or
    "tls" is not true or false: a field it ignored would make it ask the Sentinels without a password or TLS."""
    with open(path, encoding="utf-8") as handle:
        settings = json.load(handle)
    if not isinstance(settings, dict):
        raise ValueError("%s does not hold a JSON object" % path)
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError("%s: unknown settings %s (known: %s)" % (path, ", ".join(unknown), ", ".join(SETTINGS)))
    if not isinstance(settings.get("tls", False), bool):
        raise ValueError("%s: tls must be true or false" % path)
    return settings


def tls_files(settings):
    """redis_wire's TLS settings from the settings' tls_* fields, or None without TLS."""
    if not settings.get("tls"):
        return None
    return redis_wire.TlsFiles(settings.get("tls_ca_file"), settings.get("tls_cert_file"), settings.get("tls_key_file"),
                               settings.get("tls_verify", True), settings.get("tls_check_hostname", False))


def ask_sentinels(settings, shard):
    """{"ip:port" of each Sentinel that answered: its SENTINEL MASTER state of the shard}."""
    answers = redis_wire.ask_each(parse_addresses(settings.get("sentinels", [])), [["SENTINEL", "MASTER", shard]],
                                  settings.get("sentinel_username"), settings.get("sentinel_password"), tls_files(settings),
                                  float(settings.get("timeout", TIMEOUT)))
    states = {}
    for address, replies in answers.items():
        if isinstance(replies, list) and isinstance(replies[0], list):
            state = parse_state(replies[0])
            if "ip" in state and "port" in state:
                states[format_address(address)] = state
    return states


def decide(shard, me, states):
    """(line for the output file, message for the journal)."""
    found = newest(states)
    if found is None:
        return "", "no Sentinel answered for %s: starting from its own config" % shard
    sentinel, state = found
    master = state_address(state)
    source = "Sentinel %s (config epoch %s of %d answering)" % (sentinel, state.get("config-epoch"), len(states))
    if master == me:
        return "", "%s names %s itself as master of %s: starting from its own config" % (source, me, shard)
    host, port = parse_address(master)
    return "replicaof %s %d\n" % (host, port), "%s names %s as master of %s: %s starts as its replica" % (source, master, shard, me)


def main(argv):
    shard, settings_path, output_path = argv[1:4]
    line = ""
    try:
        if IMPORT_ERROR is not None:
            raise IMPORT_ERROR
        settings = read_settings(settings_path)
        me = format_address(parse_address(settings["instances"][shard], "instances"))
        line, message = decide(shard, me, ask_sentinels(settings, shard))
    except Exception as error:  # pylint: disable=broad-exception-caught  # the start must go on whatever went wrong
        message = "could not ask the Sentinels for %s (%s: %s): starting from its own config" % (shard, type(error).__name__, error)
    sys.stderr.write("redis-start-role: %s\n" % message)
    with open(output_path, "w", encoding="utf-8") as handle:
        handle.write("# Written by redis-start-role before this start; read after the other config files.\n" + line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
