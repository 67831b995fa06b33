#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: reshard
short_description: Change the set of shards that shardinel clients route on, moving every key to its new owner
version_added: 0.2.0
description:
  - Shardinel clients built without C(service_names) route on the published layout, a versioned set of shard names kept
    in database 15 of every master under the key C(shardinel:layout). This module changes that set to O(shards) and moves every
    key whose hash slot gets another owner, against live traffic, preserving type, value and TTL.
  - It reads the newest layout over every master the Sentinels monitor. With none published, the current set is every
    monitored master, which is what clients fall back to. A stable layout that already names O(shards) changes nothing.
  - Otherwise it publishes a migrating layout (the next version, naming O(shards) and the current set as the previous one) on
    every master of both sets, waits O(lease) plus one second, so that every running client routes in migration mode (a client
    pulls a moving key from its previous owner with C(MIGRATE) before it uses it on the new owner, so the sources get no
    application writes), and then moves the keys of every application database (every database but 15) of every shard of
    both sets, O(batch) keys per step, until a complete pass over them finds nothing to move. Last it publishes the stable
    layout (the version after the migrating one).
  - Each step is C(MIGRATE ... COPY KEYS ...) from the source master to the new owner's master, then a write and C(WAIT 1) on
    the new owner, then C(UNLINK) at the source of the keys the new owner holds and C(WAIT 1) on the source. A key that an
    application already wrote at its new owner is kept there and the older copy dropped, never written over it.
  - Interrupted (killed, or a failover of a source or target mid-way), it leaves every key on its old or its new owner, never
    lost; running it again with the same O(shards) resumes the move and finishes it. Connection errors and failovers during
    the run are retried after asking the Sentinels for the masters again.
  - Before anything changes it refuses an empty or repeated shard name, a name no Sentinel monitors, a shard of either set
    whose master has no connected replica, and a reshard to another set while an earlier one is unfinished, naming the
    option or shard.
author:
  - shardinel.redis developers (@shardinel)
extends_documentation_fragment:
  - shardinel.redis.sentinels
  - shardinel.redis.connection
  - shardinel.redis.tls
attributes:
  check_mode:
    support: full
    description:
      - In check mode the module runs every check and returns the plan (slots and keys per pair of shards), moving nothing.
      - A plan may name shards that are not deployed yet (RV(undeployed)); they hold no key, so the plan counts the keys
        that would move to them from the shards that run.
  diff_mode:
    support: none
    description: No diff is produced; RV(plan) says what moves.
options:
  shards:
    description:
      - The target set of shard names (Sentinel service names) that clients route on after the reshard.
      - Every name must be monitored by the Sentinels; a shard that is added must be deployed and monitored first, and a shard that
        is dropped must still run until the reshard has moved its keys.
    type: list
    elements: str
    required: true
  rate:
    description:
      - Keys moved per second at most; V(0) moves as fast as the servers allow.
      - With a rate below O(batch), steps are O(rate) keys.
    type: int
    default: 0
  batch:
    description:
      - Keys per C(MIGRATE) step (also the C(COUNT) of each C(SCAN)).
      - Each step blocks the source master while it sends the keys; smaller steps keep that shorter.
    type: int
    default: 1000
  lease:
    description:
      - Seconds a client may keep routing on the layout it last read; published in the layout as C(lease_s).
      - A client that could not read the layout for this long refuses keyed commands, and the module waits this long plus one
        second after publishing the migrating layout before it moves a key (also when it resumes).
    type: float
    default: 5.0
  adopt:
    description:
      - Publish a first layout instead of resharding.
      - If no layout is published on any master, publish O(shards) as the stable layout version 1, moving no key (the keys must
        already be where that set puts them, which is where clients that fall back to the monitored masters put them when
        O(shards) are all of those). If a layout is published, change nothing.
      - The collection's roles run this on every deploy, with the shards that existed before the run.
    type: bool
    default: false
notes:
  - O(username) must be the Redis admin user (C(shardinel_admin_username)); the module runs C(MIGRATE) with C(AUTH2) and this
    user on the target, C(INFO), C(SCAN), C(EVAL) (the layout write), C(UNLINK) and C(WAIT).
  - Each Redis instance must reach the others at the addresses Sentinel announces, since C(MIGRATE) runs server to server. With
    TLS, Redis makes those connections over TLS only with C(tls-cluster yes).
  - Clients built with C(service_names) ignore the layout; the module cannot make them follow a reshard.
  - The layout and a short-lived fence key use database 15, so the Redis instances need at least 16 databases.
seealso:
  - module: shardinel.redis.topology_info
'''

EXAMPLES = r'''
- name: Show what growing to three shards would move
  shardinel.redis.reshard:
    sentinels: "{{ shardinel_sentinel_addresses }}"
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    shards: [shard1, shard2, shard3]
  check_mode: true
  register: plan

- name: Grow to three shards, at most 20,000 keys per second
  shardinel.redis.reshard:
    sentinels: "{{ shardinel_sentinel_addresses }}"
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    shards: [shard1, shard2, shard3]
    rate: 20000
  register: reshard

- name: Publish the first layout of a topology deployed before layouts existed (changes nothing once one is published)
  shardinel.redis.reshard:
    sentinels: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    shards: [shard1, shard2]
    adopt: true
'''

RETURN = r'''
version:
  description:
    - The layout version published at the end (the migrating one's if the run failed after publishing it).
    - In check mode, or when nothing changed, the version published now; V(0) when none is published.
  returned: always
  type: int
  sample: 3
plan:
  description:
    - What has to move, per pair of shards, counted before anything moves.
    - Every pair whose slots change owner, plus any pair where keys sit on a shard that does not own them under the new table.
    - Empty when nothing moves.
  returned: always
  type: list
  elements: dict
  sample:
    - {from: shard1, to: shard3, slots: 2731, keys: 166212}
    - {from: shard2, to: shard3, slots: 2730, keys: 166871}
  contains:
    from:
      description: The shard the keys are on now.
      type: str
    to:
      description: The shard that owns them under the new table.
      type: str
    slots:
      description: How many of the 16384 hash slots pass from O(shards) V(from) to V(to).
      type: int
    keys:
      description: Keys on V(from) (all application databases) whose slot V(to) owns under the new table.
      type: int
keys_moved:
  description: Keys the module moved (a key a client pulled itself during the run is not counted).
  returned: always
  type: int
  sample: 333083
slots_moved:
  description: Hash slots whose owner changed.
  returned: always
  type: int
  sample: 5461
duration_s:
  description: Seconds the module ran, the wait of O(lease) included.
  returned: always
  type: float
  sample: 21.4
migration_s:
  description: Seconds spent moving keys, from the end of the lease wait to the last pass that found nothing to move.
  returned: always
  type: float
  sample: 14.2
pairs:
  description: Per pair of shards, the keys the module moved; the same pairs as RV(plan).
  returned: always
  type: list
  elements: dict
  sample:
    - {from: shard1, to: shard3, slots: 2731, keys_moved: 166212}
    - {from: shard2, to: shard3, slots: 2730, keys_moved: 166871}
  contains:
    from:
      description: The source shard.
      type: str
    to:
      description: The new owner.
      type: str
    slots:
      description: Hash slots that passed from V(from) to V(to).
      type: int
    keys_moved:
      description: Keys moved from V(from) to V(to).
      type: int
retries:
  description:
    - Steps retried after a connection error, a failover (C(READONLY)) or a replica that did not acknowledge in time. Each step is
      retried, after asking the Sentinels for the masters again, for up to 60 seconds before the module fails.
  returned: always
  type: int
  sample: 0
resumed:
  description: The published layout was already migrating to O(shards), from an earlier run that did not finish; this run finished it.
  returned: always
  type: bool
  sample: false
undeployed:
  description: Shards of O(shards) that no Sentinel monitors yet; only a plan (check mode) may name them.
  returned: always
  type: list
  elements: str
  sample: []
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    connection_argument_spec,
    scrub,
    secrets_of,
    validate_connection_params,
)
from ansible_collections.shardinel.redis.plugins.module_utils.resharding import (
    HAS_SHARDINEL,
    SHARDINEL_IMPORT_ERROR,
    run_reshard,
)
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_access import (
    HAS_REDIS,
    REDIS_IMPORT_ERROR,
    ShardinelError,
)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        shards=dict(type='list', elements='str', required=True),
        rate=dict(type='int', default=0),
        batch=dict(type='int', default=1000),
        lease=dict(type='float', default=5.0),
        adopt=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib('redis'), exception=REDIS_IMPORT_ERROR)
    if not HAS_SHARDINEL:
        module.fail_json(msg='cannot import the shardinel client package', exception=SHARDINEL_IMPORT_ERROR)
    secrets = secrets_of(module.params)
    try:
        addresses = validate_connection_params(module.params)
        result, failure = run_reshard(module.params, addresses, module.check_mode)
    except (ValueError, ShardinelError) as error:
        module.fail_json(msg=scrub(error, secrets), changed=False)
    if failure:
        module.fail_json(msg=scrub(failure, secrets), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
