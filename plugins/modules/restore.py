#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: restore
short_description: Restore shards from a backup set into their running masters, without a restart or a failover
version_added: 0.3.0
description:
  - Restores the shards of backup set O(backup_set) in O(directory) on this host (written by M(shardinel.redis.backup)),
    or only O(shards), one shard after the other, into each shard's current master by the Sentinels.
  - "Before it changes anything it checks, for every shard: the set exists and holds the shard, and no backup of a
    shard in it failed (unless O(shards) names only shards it holds); the file has the size and SHA-256 of the
    metadata and the engine's C(redis-check-rdb) (or C(valkey-check-rdb)) accepts it; a Sentinel monitors the shard
    and its master answers as master; the published shard layout is not in the middle of a reshard and names the same
    shards as the set's layout (with none published: the shards the Sentinels monitor); the master runs the set's
    engine; its C(maxmemory), if set, leaves room for a second copy of the shard's data; and it has as many databases
    empty on it and in the snapshot as the snapshot has application databases. Any failed check fails the module,
    naming the shard or the option, with nothing changed."
  - "Then, per shard: a throwaway server of the engine (O(server_binary), on a private unix socket) loads the RDB file;
    its keys are copied with C(DUMP) and C(RESTORE ... REPLACE ABSTTL) (values, types and expiry times as they were)
    into the empty staging databases of the master, while the applications keep using the shard; one C(MULTI)/C(EXEC)
    swaps each application database with its copy (C(SWAPDB)) and empties those the snapshot does not have
    (C(FLUSHDB ASYNC)), under C(WATCH) of the published layout; the replaced data is emptied in the background, and
    the module waits for the replicas (C(WAIT)), which took every command from the replication stream."
  - The transaction is the only time the shard takes no command; RV(shards) reports its length (C(write_pause_s)).
    Writes acknowledged before it, since the backup was taken, are replaced by the snapshot, as a restore must.
  - Database 15 (the published layout) is not restored, and nothing restarts, so the Sentinels, the ACL users, the
    replication links and the published layout stay exactly as they were. Data of other shards is not touched.
  - One exception, when no master holds a published layout any more (a C(FLUSHALL) took database 15 with the rest) and
    the set recorded one. Once the shards are restored, that layout (its version, shards and lease) is published again
    on every master (never over a newer one; RV(republished_layout)). Clients keep the highest layout version they have
    seen, so a layout published anew at version 1 would be one they ignore at the next reshard.
  - If something fails before the swap of a shard, its staging databases are emptied again and its data is as it was;
    the shards restored before it stay restored (RV(restored)).
  - Only one backup or restore uses a backup directory at a time (a lock file in it).
  - Talks to Redis and Sentinel itself; it needs neither redis-py nor C(redis-cli) on the host.
author:
  - shardinel.redis developers (@shardinel)
extends_documentation_fragment:
  - shardinel.redis.sentinels
  - shardinel.redis.tls
attributes:
  check_mode:
    support: full
    description:
      - Runs every check (the files' checksums and the checker included, they only read) and reports what would be
        restored (RV(shards)), without loading a snapshot or sending anything that changes a server.
  diff_mode:
    support: none
    description: The change is a whole data set; RV(shards) says what it is.
options:
  username:
    description:
      - Redis ACL user allowed to run C(INFO), C(CONFIG GET), C(SELECT), C(GET), C(WATCH), C(RESTORE), C(SWAPDB),
        C(FLUSHDB), C(DBSIZE), C(MULTI), C(EXEC) and C(WAIT) on the masters (the admin user).
    type: str
  password:
    description:
      - Password of O(username).
    type: str
  directory:
    description:
      - The backup directory that holds the set.
    type: path
    required: true
  backup_set:
    description:
      - The set to restore, by name, or V(latest) for the newest complete set in O(directory).
    type: str
    required: true
  shards:
    description:
      - Restore only these shards (Sentinel service names) of the set. Default is every shard the set holds here.
    type: list
    elements: str
  server_binary:
    description:
      - The engine's server binary, run as the throwaway server that loads each RDB file. It must not be newer than the
        masters' engine. Default is C(/usr/bin/redis-server), or C(/usr/bin/valkey-server) for a Valkey set.
    type: path
  check_rdb:
    description:
      - The engine's RDB checker. Default is C(/usr/bin/redis-check-rdb), or C(/usr/bin/valkey-check-rdb) for Valkey.
    type: path
  timeout:
    description:
      - Seconds each query may take, the throwaway server may take to load a file (plus one second per 20 MB of it),
        and the replicas may take to acknowledge the restore.
    type: float
    default: 60
  skip_missing:
    description:
      - Skip, instead of refusing, the shards of O(shards) that the set does not hold on this host (or whose backup
        failed), and a set that does not exist here; they are listed in RV(skipped). For a playbook that asks every
        data host for its part of a set (C(playbooks/restore.yml)).
    type: bool
    default: false
notes:
  - The host needs memory for the throwaway server (about the shard's data size) while a shard is restored, and each
    master needs room for a second copy of its data until the swap.
  - Staging databases are those empty both on the master and in the snapshot, from the highest number down (never 15);
    applications must not start using one during the restore.
  - The passwords are never logged or returned, and error messages do not contain them.
seealso:
  - module: shardinel.redis.backup
'''

EXAMPLES = r'''
- name: Say what would be restored from a set
  shardinel.redis.restore:
    sentinels: "{{ shardinel_sentinel_addresses }}"
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    directory: /var/backups/shardinel-redis
    backup_set: 20261205T030000Z
  check_mode: true

- name: Restore one shard from the newest complete set on this host
  shardinel.redis.restore:
    sentinels: "{{ shardinel_sentinel_addresses }}"
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    directory: /var/backups/shardinel-redis
    backup_set: latest
    shards: [shard2]
  register: restored
'''

RETURN = r'''
backup_set:
  description: The set restored from (the name V(latest) stood for).
  returned: when the set was found
  type: str
  sample: 20261205T030000Z
directory:
  description: O(directory).
  returned: always
  type: str
shards:
  description:
    - Per shard restored (in check mode, that would be), what was done.
  returned: always
  type: dict
  sample:
    shard2:
      master: "10.0.0.2:6380"
      engine: redis
      engine_version: 7.0.15
      replicas: 1
      keys: 1521
      keys_restored: 1520
      keys_in_set: 1521
      databases: {"0": 1500, "1": 20}
      staging_databases: {"0": 14, "1": 13}
      set_layout: {version: 1, shards: [shard1, shard2]}
      load_s: 0.02
      copy_s: 0.31
      write_pause_s: 0.000412
      replicas_acknowledged: 1
      replica_sync_s: 0.001
      seconds: 0.52
  contains:
    keys:
      description: Keys in the snapshot, every database, as the engine's checker counted them at backup time.
      type: int
    keys_restored:
      description: Keys put in place, over the application databases (expired keys are not restored).
      type: int
    databases:
      description: Keys restored per application database.
      type: dict
    staging_databases:
      description: The database each application database was staged in.
      type: dict
    load_s:
      description: Seconds the throwaway server took to load the file.
      type: float
    copy_s:
      description: Seconds the copy into the staging databases took (the shard served its clients meanwhile).
      type: float
    write_pause_s:
      description: Seconds the swap transaction took, from sending it to its answer; the shard ran no other command while
        it executed.
      type: float
    replicas_acknowledged:
      description: How many of the master's replicas acknowledged everything within O(timeout).
      type: int
    replica_sync_s:
      description: Seconds until they did.
      type: float
    warning:
      description: Set when a replica did not acknowledge in time.
      type: str
skipped:
  description: With O(skip_missing), per shard skipped, why.
  returned: always
  type: dict
  sample: {shard1: backup set 20261205T030000Z on this host does not hold it}
republished_layout:
  description: The layout published again because none was (in check mode, that would be); see the description.
  returned: when no layout was published and the set recorded one
  type: dict
  sample: {version: 3, shards: [shard1, shard2], lease_s: 5.0}
set_missing:
  description: With O(skip_missing), why the set was not found here (it does not exist, or no complete set does).
  returned: when the set was not found and O(skip_missing=true)
  type: str
  sample: "backup_set: no set named 20261205T030000Z in /var/backups/shardinel-redis (sets there: none)"
restored:
  description: The shards restored, in order (on failure, those restored before it).
  returned: always
  type: list
  elements: str
  sample: [shard1, shard2]
live_layout:
  description: The published layout (version 0 when none is published, naming the shards the Sentinels monitor).
  returned: when the checks got that far
  type: dict
  sample: {version: 1, shards: [shard1, shard2]}
sentinels_not_answering:
  description: The Sentinels that did not answer (the others decided each shard's master).
  returned: when the checks got that far
  type: list
  elements: str
  sample: []
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.shardinel.redis.plugins.module_utils.restore_run import RestoreError, restore_argument_spec, run_restore


def main():
    module = AnsibleModule(argument_spec=restore_argument_spec(), supports_check_mode=True)
    try:
        result = run_restore(module.params, check_mode=module.check_mode)
    except RestoreError as error:
        module.fail_json(msg=str(error), **error.result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
