#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: failover_verify
short_description: Force a Sentinel failover of each shard and verify that clients follow it
version_added: 0.1.0
description:
  - A failover drill. For each selected shard, one after another, the module
    checks C(SENTINEL CKQUORUM);
    writes canary keys that route to the shard through a shardinel client and C(WAIT)s until every connected replica acknowledged them;
    runs C(SENTINEL FAILOVER) while a writer thread keeps writing through the same client;
    polls every Sentinel until all name the same new master;
    checks C(ROLE), so the new master reports master and the old master reports a connected replica of the new one
    (the old master keeps acting as a master for several seconds after a failover, so the module waits for it);
    and reads every canary back through the same client instance, which must have followed the failover, and through a fresh client,
    and checks that a write succeeds.
  - Before anything changes it checks every Sentinel, both Sentinel users, the shard names and the Redis user, and fails naming what is wrong.
  - It stops at the first shard that fails a check. With O(restore=true) every shard it failed over is then failed back to the master
    it started with, so a drill leaves the deployed layout.
  - Canary and writer keys carry a per-run prefix and a one-hour expiry, and are deleted at the end of each shard's drill.
author:
  - shardinel.redis developers (@shardinel)
extends_documentation_fragment:
  - shardinel.redis.connection
attributes:
  check_mode:
    support: full
    description: In check mode the module runs the read-only preflight and returns the plan without failing anything over.
  diff_mode:
    support: none
    description: No diff is produced.
options:
  shards:
    description:
      - Names of the shards (Sentinel service names) to drill, in this order.
      - By default every shard the Sentinels monitor, in name order.
      - An unknown name fails the module before anything changes, and the message names it.
    type: list
    elements: str
  restore:
    description:
      - After the drills, fail every shard that was failed over back to the master it started with.
    type: bool
    default: false
  timeout:
    description:
      - Seconds allowed for each wait of one shard's drill, such as the Sentinels agreeing on a new master,
        the old master turning into a replica, or the replicas acknowledging the canaries.
    type: float
    default: 60
  canaries:
    description:
      - How many canary keys to write to each shard before its failover.
    type: int
    default: 10
  sentinel_admin_username:
    description:
      - Sentinel ACL user allowed to run C(SENTINEL FAILOVER) and C(SENTINEL CKQUORUM), the Sentinel admin user
        (C(shardinel_sentinel_admin_username)).
      - O(sentinel_username) stays the discovery user that the shardinel client uses.
      - When omitted, O(sentinel_username) must be allowed to run those commands itself.
    type: str
  sentinel_admin_password:
    description:
      - Password of O(sentinel_admin_username).
    type: str
notes:
  - O(username) must be the Redis admin user (C(shardinel_admin_username)), because the drill runs C(ROLE) and C(WAIT)
    besides the canary writes.
  - Each Redis instance and Sentinel must be reachable from the host that runs the module at the address Sentinel announces.
  - A shard whose master has no connected replica fails the drill before its failover.
seealso:
  - module: shardinel.redis.topology_info
'''

EXAMPLES = r'''
- name: Fail every shard over, verify routing, and put the masters back
  shardinel.redis.failover_verify:
    sentinels: "{{ shardinel_sentinel_addresses }}"
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    sentinel_admin_username: sentinel-admin
    sentinel_admin_password: "{{ shardinel_sentinel_admin_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    restore: true
  register: drill

- name: Drill one shard only and leave the promoted replica as master
  shardinel.redis.failover_verify:
    sentinels: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
    sentinel_username: sentinel-admin
    sentinel_password: "{{ shardinel_sentinel_admin_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    shards: [shard2]
    timeout: 30
'''

RETURN = r'''
shards:
  description:
    - One report per drilled shard, keyed by shard name.
    - In check mode, the plan instead, with V(old_master), V(action) and V(restore) for each selected shard.
    - Also returned when the module fails, so the report shows which check failed.
  returned: always
  type: dict
  sample:
    shard1:
      old_master: "10.0.0.1:6379"
      new_master: "10.0.0.2:6379"
      failover_ms: 1630
      write_gap_ms: 212
      canaries_written: 10
      canaries_lost: 0
      routing_verified: true
      old_master_role: "replica of 10.0.0.2:6379 (connected)"
      writes_acknowledged: 2210
      writes_lost: 0
      write_errors: 3
      quorum: "OK 5 usable Sentinels. Quorum and failover authorization can be reached"
      failed_over: true
      restored: true
      restore_ms: 12950
      error: null
  contains:
    old_master:
      description: The master (V(host:port)) when the drill started.
      type: str
    new_master:
      description: The master every Sentinel named after the failover.
      type: str
    failover_ms:
      description: Milliseconds from C(SENTINEL FAILOVER) until every Sentinel named the new master.
      type: int
    write_gap_ms:
      description: Longest time in milliseconds without a successful write by the writer thread on the client under test.
      type: int
    canaries_written:
      description: Canary keys written and acknowledged by the replicas before the failover.
      type: int
    canaries_lost:
      description: Canaries not read back, through the same client or through a fresh one, after the failover.
      type: int
    routing_verified:
      description: The same client and a fresh client both route to the new master, read every canary, and a write succeeded.
      type: bool
    old_master_role:
      description: What C(ROLE) said on the old master at the end of the failover.
      type: str
    writes_acknowledged:
      description: Writes of the writer thread that the client reported as successful.
      type: int
    writes_lost:
      description:
        - Acknowledged writer writes missing afterwards. These writes were not C(WAIT)ed for, so a few written to the old
          master in the instant before the client followed the switch may be lost; informational.
      type: int
    write_errors:
      description: Writes of the writer thread that failed during the failover window.
      type: int
    quorum:
      description: The C(SENTINEL CKQUORUM) reply before the failover.
      type: str
    failed_over:
      description: A C(SENTINEL FAILOVER) was issued for the shard.
      type: bool
    restored:
      description: With O(restore=true), whether the starting master is master again; null otherwise.
      type: bool
    restore_ms:
      description: Milliseconds the restore took.
      type: int
    error:
      description: Why the drill of this shard failed, null when it passed.
      type: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    connection_argument_spec,
    scrub,
    secrets_of,
    validate_connection_params,
)
from ansible_collections.shardinel.redis.plugins.module_utils.failover_drill import (
    HAS_SHARDINEL,
    SHARDINEL_IMPORT_ERROR,
    run_drill,
    validate_drill_params,
)
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_access import (
    HAS_REDIS,
    REDIS_IMPORT_ERROR,
    ShardinelError,
)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        shards=dict(type='list', elements='str'),
        restore=dict(type='bool', default=False),
        timeout=dict(type='float', default=60),
        canaries=dict(type='int', default=10),
        sentinel_admin_username=dict(type='str'),
        sentinel_admin_password=dict(type='str', no_log=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib('redis'), exception=REDIS_IMPORT_ERROR)
    if not HAS_SHARDINEL:
        module.fail_json(msg='cannot import the shardinel client package', exception=SHARDINEL_IMPORT_ERROR)
    secrets = secrets_of(module.params)
    try:
        addresses = validate_connection_params(module.params)
        validate_drill_params(module.params)
        changed, reports, failure = run_drill(module.params, addresses, module.check_mode)
    except (ValueError, ShardinelError) as error:
        module.fail_json(msg=scrub(error, secrets), changed=False, shards={})
    if failure:
        module.fail_json(msg=scrub(failure, secrets), changed=changed, shards=reports)
    module.exit_json(changed=changed, shards=reports)


if __name__ == '__main__':
    main()
