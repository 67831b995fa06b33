#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: failover_verify
short_description: Fail each shard over, planned or by killing or freezing its master, and verify that clients follow
version_added: 0.1.0
description:
  - A failover drill. For each selected shard, one after another, the module
    checks C(SENTINEL CKQUORUM);
    waits until no Sentinel is in TILT mode and no failover of the shard is running or, for O(drill=kill) and O(drill=freeze),
    delayed by Sentinel (see O(drill));
    refuses the shard if a replica is resyncing or further behind the master than O(max_replica_lag_bytes);
    writes canary keys that route to the shard through a shardinel client and C(WAIT)s until every connected replica acknowledged them;
    causes the failover (O(drill)) while a writer thread keeps writing through the same client;
    polls every Sentinel until all name the same new master;
    checks C(ROLE), so the new master reports master and the old master reports a connected replica of the new one
    (the old master keeps acting as a master for several seconds after a failover, so the module waits for it);
    and reads every canary back through the same client instance, which must have followed the failover, and through a fresh client,
    and checks that a write succeeds.
  - Before anything changes it checks every Sentinel, both Sentinel users, the shard names, the Redis user, the replicas of every selected
    shard and, for O(drill=kill) and O(drill=freeze), that each master's process runs on this host, and fails naming what is wrong.
  - It stops at the first shard that fails a check. With O(restore=true) every shard it failed over is then failed back to the master
    it started with, so a drill leaves the deployed layout.
  - Canary and writer keys carry a per-run prefix and a one-hour expiry, and are deleted at the end of each shard's drill.
author:
  - shardinel.redis developers (@shardinel)
extends_documentation_fragment:
  - shardinel.redis.sentinels
  - shardinel.redis.connection
  - shardinel.redis.tls
  - shardinel.redis.sentinel_admin
attributes:
  check_mode:
    support: full
    description: In check mode the module runs the read-only preflight and returns the plan without failing anything over.
  diff_mode:
    support: none
    description: No diff is produced.
options:
  drill:
    description:
      - How each shard is failed over.
      - V(planned) runs C(SENTINEL FAILOVER) through the first Sentinel of O(sentinels).
      - V(kill) sends C(SIGKILL) to the master's redis-server process, as in a crash. Sentinel detects it after
        C(down-after-milliseconds) and promotes a replica. The module does not start the process again, its service manager
        must (the C(shardinel.redis.redis_server) role's units have C(Restart=always) and restart it after
        C(redis_server_restart_delay) seconds). The module waits, within O(timeout), until it is back as a connected replica
        of the new master, which Sentinel makes it.
      - V(freeze) sends C(SIGSTOP) to the master's process, as in a hung host (its connections stay open and nothing answers),
        and C(SIGCONT) once every Sentinel names the new master. The process is resumed whatever fails in between.
      - V(kill) and V(freeze) must run on the host of the master (use C(delegate_to)); the process id comes from the master's
        C(INFO server), and the module refuses, before any change, unless it is a redis-server process on this host that
        listens on the master's port. Signalling another user's process needs root (C(become)).
      - Sentinel does not start an automatic failover (V(kill), V(freeze)) of a shard within 2 x C(failover-timeout) of its
        last one, so for those the module first waits for that window to pass, or fails at once, saying when it ends, if it ends
        after O(timeout). Redis 7.0 does not expose when Sentinel last started a failover; the module counts from the last
        switch of the shard's master that the Sentinels report. C(SENTINEL FAILOVER) (V(planned) and the restore) is not delayed.
    type: str
    choices: [planned, kill, freeze]
    default: planned
  max_replica_lag_bytes:
    description:
      - A shard is refused, before any change and naming the shard and the lag, while one of its connected replicas is resyncing
        or has acknowledged less than the master's replication offset minus this many bytes. A failover then would lose that data.
      - Replicas acknowledge their offset once per second, so an in-sync replica of a busy master trails by up to one second
        of writes; the module samples three times, a second apart, before it refuses. The default of 1 MiB passes a master
        that takes up to about 1 MiB of writes per second and refuses a replica that is resyncing or catching up.
    type: int
    default: 1048576
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
      - Seconds allowed for each wait of one shard's drill, such as TILT mode or Sentinel's failover delay to end,
        the Sentinels agreeing on a new master, the old master turning into a replica (after O(drill=kill), its restart
        included), or the replicas acknowledging the canaries.
    type: float
    default: 60
  canaries:
    description:
      - How many canary keys to write to each shard before its failover.
    type: int
    default: 10
notes:
  - O(username) must be the Redis admin user (C(shardinel_admin_username)), because the drill runs C(ROLE), C(INFO) and C(WAIT)
    besides the canary writes.
  - O(sentinel_admin_username) (or O(sentinel_username) when it is omitted) must be allowed to run C(SENTINEL FAILOVER),
    C(SENTINEL CKQUORUM) and C(INFO) (for TILT mode), as the Sentinel admin user is.
  - A Sentinel enters TILT mode for 30 s (its C(tilt-period)) after its process stalled, for example after its host was frozen,
    and then does not help a failover. The module waits for it to end, or fails at once naming the Sentinel and when TILT ends
    if that is after O(timeout).
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

- name: Kill the master of shard1 on the host it runs on, measure the failover, then put it back
  shardinel.redis.failover_verify:
    sentinels: "{{ shardinel_sentinel_addresses }}"
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    sentinel_admin_username: sentinel-admin
    sentinel_admin_password: "{{ shardinel_sentinel_admin_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    shards: [shard1]
    drill: kill
    restore: true
  delegate_to: "{{ shardinel_address_hosts[topology.shards.shard1.master.address] }}"
  become: true

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
    - In check mode, the plan instead, with V(old_master), V(drill), V(action) and V(restore) for each selected shard.
    - Also returned when the module fails, so the report shows which check failed.
  returned: always
  type: dict
  sample:
    shard1:
      drill: kill
      fault: SIGKILL to redis-server process 4242
      old_master: "10.0.0.1:6379"
      new_master: "10.0.0.2:6379"
      failover_ms: 3630
      write_gap_ms: 3912
      canaries_written: 10
      canaries_lost: 0
      routing_verified: true
      old_master_role: "replica of 10.0.0.2:6379 (connected)"
      rejoin_ms: 19010
      writes_acknowledged: 2210
      writes_lost: 0
      write_errors: 3
      quorum: "OK 5 usable Sentinels. Quorum and failover authorization can be reached"
      ready_wait_ms: 12
      ready_waited_for: []
      failed_over: true
      restored: true
      restore_ms: 12950
      error: null
  contains:
    drill:
      description: The kind of drill, O(drill).
      type: str
    fault:
      description: What was done to cause the failover, for example V(SIGKILL to redis-server process 4242); null if nothing was.
      type: str
    old_master:
      description: The master (V(host:port)) when the drill started.
      type: str
    new_master:
      description: The master every Sentinel named after the failover.
      type: str
    failover_ms:
      description:
        - Milliseconds from the fault (C(SENTINEL FAILOVER), C(SIGKILL) or C(SIGSTOP)) until every Sentinel named the new master.
        - For V(kill) and V(freeze) that is detection (C(down-after-milliseconds)) plus the election and promotion.
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
    rejoin_ms:
      description: For V(kill) and V(freeze), milliseconds from the fault until the old master was a connected replica of the new one.
      type: int
    writes_acknowledged:
      description: Writes of the writer thread that the client reported as successful.
      type: int
    writes_lost:
      description:
        - Acknowledged writer writes missing afterwards. These writes were not C(WAIT)ed for, so writes the old master
          acknowledged but had not yet sent to the replica when it was killed or frozen, or took in the instant before the client
          followed the switch, are lost. Redis replication is asynchronous; this is the figure a drill measures.
      type: int
    write_errors:
      description: Writes of the writer thread that failed during the failover window.
      type: int
    quorum:
      description: The C(SENTINEL CKQUORUM) reply before the failover.
      type: str
    ready_wait_ms:
      description: Milliseconds waited before the fault for TILT mode, a running failover or Sentinel's failover delay to end.
      type: int
    ready_waited_for:
      description: What was waited for before the fault, one line each.
      type: list
      elements: str
    failed_over:
      description: The fault was caused (C(SENTINEL FAILOVER) issued or the signal sent).
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
    sentinel_admin_argument_spec,
    validate_connection_params,
)
from ansible_collections.shardinel.redis.plugins.module_utils.failover_drill import (
    DEFAULT_MAX_REPLICA_LAG_BYTES,
    DRILLS,
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
    argument_spec.update(sentinel_admin_argument_spec())
    argument_spec.update(
        drill=dict(type='str', choices=list(DRILLS), default='planned'),
        max_replica_lag_bytes=dict(type='int', default=DEFAULT_MAX_REPLICA_LAG_BYTES),
        shards=dict(type='list', elements='str'),
        restore=dict(type='bool', default=False),
        timeout=dict(type='float', default=60),
        canaries=dict(type='int', default=10),
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
