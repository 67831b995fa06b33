#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: backup
short_description: Take a consistent snapshot of the shards whose source runs on this host, into a backup set
version_added: 0.3.0
description:
  - Asks the Sentinels for every shard's current master (the highest config epoch among those that answer) and its
    replicas, and chooses each shard's source, an in-sync replica by default, or the master with O(source=master).
    A replica is in sync when the master lists it online with its last acknowledgement at most O(max_lag) seconds old
    and it reports a connected link to that master. Among several the first by address is taken, so every host
    chooses the same one.
  - Backs up the shards whose source listens on O(host) (every shard when O(host) is left out), each from its source
    through the replication protocol, as C(redis-cli --rdb) does. The source forks once and streams what the fork
    sees (with C(repl-diskless-sync yes), without writing to its disk), so each shard's file is a point-in-time copy of
    that shard. The master is not involved when a replica is the source. Shards are taken one after the other; a set
    is not one instant across shards.
  - Writes each shard's RDB file and its metadata (shard, set, published layout, engine and version, source, replication
    id and offset, keys, expiring keys, databases, size, SHA-256, times) into O(directory)/O(backup_set). The
    engine's C(redis-check-rdb) (or C(valkey-check-rdb)) reads the file as it arrives, through a pipe, and must
    accept it. Then the module keeps the O(keep) newest complete sets and removes older ones. Metadata never holds a
    password; the RDB files hold the applications' data, so the set directories are mode 0700 and the files 0600.
  - Fails, naming the shard and why, when a shard has no healthy source, its snapshot fails, its file is refused by
    the checker, or a reshard is unfinished (the published layout names a previous set of shards) or starts during
    its snapshot. The shards that succeeded stay in the set, which is then incomplete, and no older set is removed.
  - A shard without a healthy source counts as this host's when one of its instances listens on O(host), so its
    failure shows where it lives.
  - Only one backup or restore uses a backup directory at a time (a lock file in it).
  - With O(metrics_file), writes a node_exporter textfile with, per shard, the time, size and keys of the newest
    backup held here and whether this run backed it up (for the alert on backups that are too old).
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
      - Chooses each shard's source and reports it (RV(shards)) with the sets that would be removed (RV(removed_sets)),
        and fails as a real run would when a shard has no healthy source. Nothing is written and no snapshot is taken.
  diff_mode:
    support: none
    description: A backup set is new data, not a change to compare.
options:
  username:
    description:
      - Redis ACL user allowed to run C(INFO), C(REPLCONF), C(PSYNC), C(SELECT) and C(GET) on the instances (the admin
        user).
    type: str
  password:
    description:
      - Password of O(username).
    type: str
  directory:
    description:
      - The backup directory. Each set is a directory in it, named after the set.
    type: path
    required: true
  backup_set:
    description:
      - Name of the new set (letters, digits and C(._:+-), starting with a letter or digit). Give every host of one run the same name; a set of that
        name must not exist here yet.
      - Default is the UTC time now, for example V(20261205T030000Z).
    type: str
  keep:
    description:
      - How many complete sets to keep; every set older than the oldest of them is removed after a run in which no
        shard failed. V(0) keeps every set.
    type: int
    default: 7
  source:
    description:
      - V(replica) takes each shard from an in-sync replica and fails for a shard that has none. V(master) takes it from
        the master, which then forks for it.
    type: str
    choices: [replica, master]
    default: replica
  max_lag:
    description:
      - Seconds since a replica's last acknowledgement to its master (its C(lag) in the master's C(INFO replication)) at
        which it still counts as in sync.
    type: float
    default: 10
  host:
    description:
      - The address this host's instances listen on (their announce address). Only the shards whose source listens
        there are backed up. Leave it out to back up every shard from here.
    type: str
  shards:
    description:
      - Back up only these shards (Sentinel service names). Default is every shard the Sentinels monitor.
    type: list
    elements: str
  check_rdb:
    description:
      - The engine's RDB checker. Default is C(/usr/bin/redis-check-rdb), or C(/usr/bin/valkey-check-rdb) for Valkey
        (packages C(redis-tools) / C(valkey-tools)).
    type: path
  metrics_file:
    description:
      - Path of a node_exporter textfile collector file to write after the run (for example
        C(/var/lib/prometheus/node-exporter/shardinel-redis-backup.prom)); its directory is created if needed.
    type: path
  timeout:
    description:
      - Seconds a source may stay silent while it prepares and sends its snapshot, and for each query.
    type: float
    default: 60
notes:
  - Run it as a user that may write O(directory) (root).
  - The passwords are never logged, returned or written into a set, and error messages do not contain them.
seealso:
  - module: shardinel.redis.restore
'''

EXAMPLES = r'''
- name: Back up the shards whose in-sync replica runs on this host
  shardinel.redis.backup:
    sentinels: "{{ shardinel_sentinel_addresses }}"
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    host: "{{ shardinel_host_ips[inventory_hostname] }}"
    directory: /var/backups/shardinel-redis
    backup_set: "{{ backup_name }}"
    keep: 7
  register: backup

- name: Back up one shard from its master
  shardinel.redis.backup:
    sentinels: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    directory: /var/backups/shardinel-redis
    shards: [shard2]
    source: master
'''

RETURN = r'''
backup_set:
  description: The set's name.
  returned: always
  type: str
  sample: 20261205T030000Z
directory:
  description: O(directory).
  returned: always
  type: str
  sample: /var/backups/shardinel-redis
path:
  description: The set's directory.
  returned: always
  type: str
  sample: /var/backups/shardinel-redis/20261205T030000Z
shards:
  description:
    - Per shard backed up, its metadata as written next to its file. In check mode, per shard that would be backed
      up, where from (V(master), V(source), V(role), V(lag_s), V(problems)).
  returned: always
  type: dict
  sample:
    shard2:
      file: shard2.rdb
      size: 1843
      sha256: 3b0f...
      layout: {version: 1, shards: [shard1, shard2]}
      engine: redis
      engine_version: 7.0.15
      rdb_version: 10
      source: {address: "10.0.0.1:6380", role: replica, master: "10.0.0.2:6380", lag_s: 0}
      replication: {id: 5e2f..., offset: 104857}
      keys: 1520
      expires: 12
      databases: [0, 1, 15]
      memory_bytes: 230184
      started: "2026-12-05T03:00:00Z"
      finished: "2026-12-05T03:00:01Z"
      seconds: 0.41
failed_shards:
  description: Per shard that failed (or, in check mode, would), why.
  returned: always
  type: dict
  sample: {shard1: "no replica in sync with the master 10.0.0.1:6379: 10.0.0.2:6379 has its link to the master down"}
removed_sets:
  description: The sets removed by O(keep) (in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: ["20261128T030000Z"]
sentinels_not_answering:
  description: The Sentinels that did not answer (the others decided each shard's master).
  returned: always
  type: list
  elements: str
  sample: []
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.shardinel.redis.plugins.module_utils.backup_run import BackupError, backup_argument_spec, run_backup


def main():
    module = AnsibleModule(argument_spec=backup_argument_spec(), supports_check_mode=True)
    try:
        result = run_backup(module.params, check_mode=module.check_mode)
    except BackupError as error:
        module.fail_json(msg=str(error), **error.result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
