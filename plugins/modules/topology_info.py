#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: topology_info
short_description: Read the live sharded Redis topology from its Sentinels
version_added: 0.1.0
description:
  - Asks every Sentinel in O(sentinels) which shards (Sentinel service names) it monitors,
    where each shard's master and replicas are, and how many Sentinels know each shard.
  - Reports whether every reachable Sentinel names the same master, the result of
    C(SENTINEL CKQUORUM), and which Sentinels are reachable.
  - Reports whether each Sentinel is in TILT mode (from its C(INFO sentinel)), since when and until about when.
    A Sentinel enters TILT after its process stalled or the clock jumped, for example after its host was frozen,
    and for C(tilt-period) (30 s by default) it does not report masters as down, so it does not help a failover.
  - Analyses survivability, that is which single-host losses still let every shard fail over
    (a majority of the Sentinels that know the shard and its quorum must be left, and some
    shard member must live elsewhere), and flags shards whose master and replicas share one host.
    A Sentinel in TILT mode counts as unable to vote.
  - Read-only; it never changes anything.
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
    description: The module only reads, so it runs unchanged in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  shards:
    description:
      - Only report these shards. The module fails, naming them, if any is unknown.
      - By default every shard the Sentinels monitor is reported.
    type: list
    elements: str
  address_hosts:
    description:
      - Maps V(ip:port) of Sentinels and Redis instances to the name of the host they run on,
        for the survivability analysis. The topology role sets the fact C(shardinel_address_hosts)
        with exactly this map.
      - An address missing from the map counts as a host of its own, named by its IP.
    type: dict
notes:
  - With the discovery-only Sentinel user, which may not run C(SENTINEL CKQUORUM),
    RV(shards.quorum_ok) is computed from the Sentinels' own view of their peers and
    RV(shards.quorum_check) says V(computed).
  - Replication lag is read from each master's C(INFO replication) when O(username) may run it
    (the admin user); otherwise the lag fields are null.
  - TILT is read with C(INFO sentinel), which the discovery-only Sentinel user may not run. Give
    O(sentinel_admin_username) to read it; without it RV(sentinels[].tilt) is null and
    RV(sentinels[].tilt_error) says why, and the survivability analysis cannot take TILT into account.
seealso:
  - module: shardinel.redis.failover_verify
'''

EXAMPLES = r'''
- name: Read the topology
  shardinel.redis.topology_info:
    sentinels: "{{ shardinel_sentinel_addresses }}"
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    sentinel_admin_username: sentinel-admin
    sentinel_admin_password: "{{ shardinel_sentinel_admin_password }}"
    address_hosts: "{{ shardinel_address_hosts }}"
  register: topology

- name: No Sentinel is in TILT mode
  ansible.builtin.assert:
    that: topology.survivability.sentinels_in_tilt | length == 0
    fail_msg: "In TILT mode: {{ topology.survivability.sentinels_in_tilt | join(', ') }}"

- name: Every shard is healthy and agreed on
  ansible.builtin.assert:
    that:
      - item.value.sentinels_agree
      - item.value.quorum_ok
    quiet: true
  loop: "{{ topology.shards | dict2items }}"
  loop_control:
    label: "{{ item.key }}"

- name: Warn when losing one host would stop failovers
  ansible.builtin.debug:
    msg: "Not survivable: {{ topology.survivability.unsurvivable_host_losses | join(', ') }}"
  when: not topology.survivability.every_single_host_loss_survivable
'''

RETURN = r'''
shards:
  description: Every shard (Sentinel service name) with its live state, keyed by name.
  returned: success
  type: dict
  sample:
    shard1:
      master: {host: 10.0.0.1, port: 6379, address: "10.0.0.1:6379", flags: [master], down: false}
      replicas:
        - {host: 10.0.0.2, port: 6379, address: "10.0.0.2:6379", flags: [slave], down: false,
           link_status: ok, link_down_ms: 0, repl_offset: 5078, lag_seconds: 0, lag_bytes: 0}
      sentinels: 5
      sentinel_addresses: ["10.0.0.1:26379", "10.0.0.1:26380", "10.0.0.2:26379", "10.0.0.2:26380", "10.0.0.3:26379"]
      sentinels_reporting: 5
      sentinels_missing: []
      sentinels_agree: true
      master_by_sentinel: {"10.0.0.1:26379": "10.0.0.1:6379"}
      quorum: 2
      majority: 3
      quorum_ok: true
      quorum_check: ckquorum
      quorum_message: OK 5 usable Sentinels. Quorum and failover authorization can be reached
      config_epoch: 0
      lag_error: null
  contains:
    master:
      description: The master as the first reachable Sentinel reports it (V(host), V(port), V(address), V(flags), V(down)).
      type: dict
    replicas:
      description:
        - The replicas, with Sentinel's link status (V(link_status), V(link_down_ms), V(repl_offset)).
        - V(lag_seconds) and V(lag_bytes) come from the master's C(INFO replication), null when unavailable.
      type: list
      elements: dict
    sentinels:
      description: How many Sentinels know the shard.
      type: int
    sentinel_addresses:
      description: Addresses of the Sentinels known to monitor the shard.
      type: list
      elements: str
    sentinels_reporting:
      description: How many of the reachable Sentinels in O(sentinels) monitor the shard.
      type: int
    sentinels_missing:
      description: Reachable Sentinels in O(sentinels) that do not monitor the shard.
      type: list
      elements: str
    sentinels_agree:
      description: Every reachable Sentinel monitors the shard and names the same master.
      type: bool
    master_by_sentinel:
      description: The master address each reachable Sentinel names.
      type: dict
    quorum:
      description: The shard's configured quorum.
      type: int
    majority:
      description: Votes a failover needs, a majority of RV(shards.sentinels).
      type: int
    quorum_ok:
      description: Enough Sentinels are usable to reach the quorum and authorise a failover.
      type: bool
    quorum_check:
      description: V(ckquorum) when C(SENTINEL CKQUORUM) answered, V(computed) when the user may not run it.
      type: str
    quorum_message:
      description: The CKQUORUM reply, or how the computed result was reached.
      type: str
    config_epoch:
      description: The shard's configuration epoch, which grows with every failover.
      type: int
    lag_error:
      description: Why the replication lag could not be read from the master, null when it was read or no Redis user was given.
      type: str
sentinels:
  description: Reachability and TILT state of every Sentinel in O(sentinels).
  returned: success
  type: list
  elements: dict
  sample:
    - {address: "10.0.0.1:26379", reachable: true, error: null, shards: [shard1, shard2],
       tilt: true, tilt_since_seconds: 4, tilt_remaining_seconds: 26, tilt_error: null}
    - {address: "10.0.0.3:26379", reachable: false, error: "Sentinel 10.0.0.3:26379 is unreachable: Connection refused.", shards: [],
       tilt: null, tilt_since_seconds: null, tilt_remaining_seconds: null, tilt_error: not reachable}
  contains:
    address:
      description: The Sentinel's V(host:port).
      type: str
    reachable:
      description: The Sentinel answered.
      type: bool
    error:
      description: Why it could not be reached, null when it was.
      type: str
    shards:
      description: The shards it monitors.
      type: list
      elements: str
    tilt:
      description: The Sentinel is in TILT mode; null when unknown (see RV(sentinels[].tilt_error)).
      type: bool
    tilt_since_seconds:
      description: Seconds since TILT mode was entered (C(sentinel_tilt_since_seconds), Redis 7.0 and later), null when not in TILT.
      type: int
    tilt_remaining_seconds:
      description:
        - Seconds until TILT mode ends, from the Sentinel's C(tilt-period) (C(SENTINEL DEBUG)), null when not in TILT.
        - Another stall before then starts a new period.
      type: int
    tilt_error:
      description: Why the TILT state could not be read, null when it was.
      type: str
survivability:
  description: Which single-host losses every shard survives.
  returned: success
  type: dict
  sample:
    hosts: [redis1, redis2]
    host_losses:
      - host: redis1
        survivable: false
        problems: ["shard1: 2 of 4 Sentinels left, a failover needs a majority of 3"]
    survivable_host_losses: []
    unsurvivable_host_losses: [redis1, redis2]
    every_single_host_loss_survivable: false
    single_host_shards: []
    unmapped_addresses: []
    sentinels_in_tilt: []
    problems_now: []
  contains:
    hosts:
      description: Every host that runs a Sentinel or a shard member.
      type: list
      elements: str
    host_losses:
      description: For each host, whether losing it is survivable and, if not, why.
      type: list
      elements: dict
    survivable_host_losses:
      description: Hosts whose loss still lets every shard fail over.
      type: list
      elements: str
    unsurvivable_host_losses:
      description: Hosts whose loss leaves some shard unable to fail over.
      type: list
      elements: str
    every_single_host_loss_survivable:
      description: Losing any one host is survivable.
      type: bool
    single_host_shards:
      description: Shards whose master and all replicas share one host.
      type: list
      elements: str
    unmapped_addresses:
      description: Addresses missing from O(address_hosts) (only when it was given).
      type: list
      elements: str
    sentinels_in_tilt:
      description: Sentinels in TILT mode, which the analysis counts as unable to vote.
      type: list
      elements: str
    problems_now:
      description: Shards that could not fail over even without losing a host, because of Sentinels in TILT mode.
      type: list
      elements: str
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    connection_argument_spec,
    scrub,
    secrets_of,
    sentinel_admin_argument_spec,
    validate_connection_params,
    validate_sentinel_admin_params,
)
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_access import (
    HAS_REDIS,
    REDIS_IMPORT_ERROR,
    ShardinelError,
)
from ansible_collections.shardinel.redis.plugins.module_utils.topology_report import (
    analyse_survivability,
    read_topology,
    tilted_sentinels,
)


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        shards=dict(type='list', elements='str'),
        address_hosts=dict(type='dict'),
    )
    argument_spec.update(sentinel_admin_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib('redis'), exception=REDIS_IMPORT_ERROR)
    try:
        addresses = validate_connection_params(module.params)
        validate_sentinel_admin_params(module.params)
        reachability, shards = read_topology(module.params, addresses, module.params['shards'])
        survivability = analyse_survivability(shards, module.params['address_hosts'], tilted_sentinels(reachability))
    except (ValueError, ShardinelError) as error:
        module.fail_json(msg=scrub(error, secrets_of(module.params)))
    module.exit_json(changed=False, shards=shards, sentinels=reachability, survivability=survivability)


if __name__ == '__main__':
    main()
