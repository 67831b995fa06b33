"""One backup run on this data host, as shardinel.redis.backup does it, for the redis_server role's backup timer
(shardinel-redis-backup.service).

Usage: python3 redis-backup <settings.json>

settings.json (mode 0600, owned by root: it holds the admin and Sentinel passwords) holds the module's options by
name (sentinels, sentinel_username, sentinel_password, username, password, tls, tls_ca_file, tls_cert_file,
tls_key_file, tls_verify, tls_check_hostname, directory, backup_set, keep, source, max_lag, host, shards, check_rdb,
metrics_file, timeout); a field it does not know is refused. Options left out take the module's defaults.

The code is the module's own: the collection's module_utils it needs are installed next to this file, under
lib/ansible_collections/shardinel/redis/plugins/module_utils/, and imported from there.

Prints the run's result as JSON (the journal keeps it; it holds no password) and exits 1, with the reason on stderr,
when a shard failed or a setting is wrong.
"""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), 'lib'))

# pylint: disable=wrong-import-position
from ansible_collections.shardinel.redis.plugins.module_utils.backup_run import (  # noqa: E402
    BackupError, backup_argument_spec, run_backup)


def read_settings(path):
    """The run's options: the settings file's fields, the module's defaults for the others; ValueError naming a field
    that is unknown, missing or not one of its choices."""
    spec = backup_argument_spec()
    with open(path, encoding='utf-8') as handle:
        settings = json.load(handle)
    if not isinstance(settings, dict):
        raise ValueError('%s does not hold a JSON object' % path)
    unknown = sorted(set(settings) - set(spec))
    if unknown:
        raise ValueError('%s: unknown settings %s (known: %s)' % (path, ', '.join(unknown), ', '.join(sorted(spec))))
    params = {}
    for name, option in spec.items():
        value = settings.get(name, option.get('default'))
        if value is None and option.get('required'):
            raise ValueError('%s: %s is required' % (path, name))
        if value is not None and option.get('choices') and value not in option['choices']:
            raise ValueError('%s: %s must be one of %s, got %r' % (path, name, ', '.join(option['choices']), value))
        params[name] = value
    return params


def main(argv):
    if len(argv) != 2:
        sys.stderr.write('usage: redis-backup <settings.json>\n')
        return 2
    try:
        result = run_backup(read_settings(argv[1]))
    except (OSError, ValueError) as error:
        sys.stderr.write('redis-backup: %s\n' % error)
        return 1
    except BackupError as error:
        print(json.dumps(error.result, sort_keys=True))
        sys.stderr.write('redis-backup: %s\n' % error)
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
