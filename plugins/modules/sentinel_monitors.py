#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: sentinel_monitors
short_description: Make running Sentinels monitor exactly the wanted shards, at runtime
version_added: 0.3.0
description:
  - Reads the C(SENTINEL MASTERS) of each Sentinel in O(sentinels) (this host's own) and sends it the commands that
    make its monitors match O(shards). Sentinel owns its config file and saves every change in it; the file is never
    written by this module.
  - A shard the Sentinel does not monitor gets C(SENTINEL MONITOR) at its current master (O(current_masters), else its
    bootstrap placement O(shards[].master_ip) and O(shards[].port)), then C(SENTINEL SET) of O(auth_user),
    O(auth_pass) and the shard's settings.
  - A monitored shard whose C(quorum), C(down-after-milliseconds), C(failover-timeout) or C(parallel-syncs) differ
    gets C(SENTINEL SET). It is never monitored again nor moved to another master, so a failed-over shard keeps the
    master the Sentinels chose.
  - A monitored shard listed in O(remove), or with O(prune=true) any monitored shard that is not in O(shards), gets
    C(SENTINEL REMOVE).
  - Every Sentinel of O(sentinels) must answer; the module fails naming those that do not, before sending anything.
    In check mode they are listed in RV(unanswered) instead, with a warning, since a Sentinel that the real run starts
    first (on a fresh host) cannot be asked before.
  - Talks to the Sentinels with the collection's own Redis protocol client; needs neither redis-py nor redis-cli.
author:
  - shardinel.redis developers (@shardinel)
extends_documentation_fragment:
  - shardinel.redis.sentinels
  - shardinel.redis.tls
attributes:
  check_mode:
    support: full
    description:
      - Only C(SENTINEL MASTERS) is sent; RV(commands) lists what would be sent.
      - A Sentinel that does not answer is listed in RV(unanswered), not fatal.
  diff_mode:
    support: full
    description:
      - Per Sentinel that needs a change, its monitors (name, master, quorum and settings), held and wanted.
        O(auth_pass) is never shown.
options:
  sentinel_previous_passwords:
    description:
      - Passwords of O(sentinel_username) tried in turn when a Sentinel refuses O(sentinel_password), as during a password
        rotation, in check mode or before the new password is applied, the running Sentinels accept only a previous one.
    type: list
    elements: str
    default: []
  shards:
    description:
      - The shards the Sentinels must monitor; the entries of the shardinel role's C(shardinel_layout) fact can be
        passed unchanged.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The shard's Sentinel service name.
        type: str
        required: true
      master_ip:
        description: The IP address of the shard's bootstrap master, used when O(current_masters) does not name it.
        type: str
        required: true
      port:
        description: The port of the shard's instances.
        type: int
        required: true
      quorum:
        description: The number of Sentinels that must agree the master is down.
        type: int
        required: true
      down_after_milliseconds:
        description: C(down-after-milliseconds); not managed when omitted.
        type: int
      failover_timeout:
        description: C(failover-timeout); not managed when omitted.
        type: int
      parallel_syncs:
        description: C(parallel-syncs); not managed when omitted.
        type: int
      master:
        description: The inventory host of the bootstrap master, as in C(shardinel_layout). Not used.
        type: str
      replicas:
        description: The inventory hosts of the bootstrap replicas, as in C(shardinel_layout). Not used.
        type: list
        elements: str
  current_masters:
    description:
      - Each shard's current master as V(ip:port), keyed by the shard's name, as the Sentinels of the topology name it
        (the C(current_masters) that M(shardinel.redis.sentinel_masters) returns, or the shardinel role's
        C(shardinel_current_masters) fact). Only used for a new monitor.
    type: dict
    default: {}
  auth_user:
    description:
      - The user a new monitor logs in to the shard's instances as (C(auth-user)).
      - Only set on new monitors; M(shardinel.redis.runtime_credentials) keeps it up to date on the others.
    type: str
  auth_pass:
    description:
      - The password of O(auth_user) (C(auth-pass)), set on new monitors.
    type: str
  remove:
    description:
      - Shards whose monitors are removed from every Sentinel that has one (a shard taken out of the topology).
    type: list
    elements: str
    default: []
  prune:
    description:
      - Remove the monitors of shards that are not in O(shards). Needs a non-empty O(shards).
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the Sentinels to connect and answer.
    type: float
    default: 5.0
notes:
  - O(sentinels) are the Sentinels to converge (the role passes those of this host); O(sentinel_username) must be allowed
    to run C(SENTINEL MONITOR), C(SET), C(REMOVE) and C(MASTERS), as the Sentinel admin user is.
  - A Sentinel that does not answer fails the module rather than being skipped, since a Sentinel left without a new
    shard's monitor weakens that shard's quorum silently; start every Sentinel before this step.
seealso:
  - module: shardinel.redis.sentinel_masters
  - module: shardinel.redis.runtime_credentials
'''

EXAMPLES = r'''
- name: The Sentinels of this host monitor every shard of the layout
  shardinel.redis.sentinel_monitors:
    sentinels: ["10.0.0.1:26379"]
    sentinel_username: sentinel-admin
    sentinel_password: "{{ shardinel_sentinel_admin_password }}"
    shards:
      - {name: shard1, master_ip: 10.0.0.1, port: 6379, quorum: 2, down_after_milliseconds: 5000,
         failover_timeout: 60000, parallel_syncs: 1}
      - {name: shard2, master_ip: 10.0.0.2, port: 6380, quorum: 2, down_after_milliseconds: 5000,
         failover_timeout: 60000, parallel_syncs: 1}
    current_masters: {shard1: "10.0.0.2:6379"}
    auth_user: sentinel
    auth_pass: "{{ shardinel_sentinel_password }}"
    prune: true

- name: Every Sentinel of the topology stops monitoring the shards taken out
  shardinel.redis.sentinel_monitors:
    sentinels: "{{ shardinel_sentinel_addresses }}"
    sentinel_username: sentinel-admin
    sentinel_password: "{{ shardinel_sentinel_admin_password }}"
    remove: [shard3]
'''

RETURN = r'''
commands:
  description:
    - The commands sent (in check mode, that would be sent) to each Sentinel that needed a change, keyed by its
      V(host:port); the value of C(auth-pass) is shown as V(********).
  returned: success
  type: dict
  sample:
    "10.0.0.1:26379":
      - SENTINEL MONITOR shard3 10.0.0.3 6381 2
      - SENTINEL SET shard3 auth-user sentinel auth-pass ******** down-after-milliseconds 5000 failover-timeout 60000 parallel-syncs 1
      - SENTINEL SET shard1 down-after-milliseconds 3000
      - SENTINEL REMOVE shard9
unanswered:
  description:
    - In check mode, each Sentinel that did not answer, with why (outside check mode the module fails instead).
  returned: success
  type: dict
  sample: {"10.0.0.1:26380": "10.0.0.1:26380: Connection refused"}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    sentinel_argument_spec,
    tls_argument_spec,
    validate_tls_params,
    wire_tls,
)
from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import ReplyError
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_monitors import MonitorError, converge_monitors


def main():
    shard_options = dict(
        name=dict(type='str', required=True),
        master_ip=dict(type='str', required=True),
        port=dict(type='int', required=True),
        quorum=dict(type='int', required=True),
        down_after_milliseconds=dict(type='int'),
        failover_timeout=dict(type='int'),
        parallel_syncs=dict(type='int'),
        master=dict(type='str'),
        replicas=dict(type='list', elements='str'),
    )
    argument_spec = sentinel_argument_spec()
    argument_spec.update(
        sentinel_previous_passwords=dict(type='list', elements='str', default=[], no_log=True),
        shards=dict(type='list', elements='dict', default=[], options=shard_options),
        current_masters=dict(type='dict', default={}),
        auth_user=dict(type='str'),
        auth_pass=dict(type='str', no_log=True),
        remove=dict(type='list', elements='str', default=[]),
        prune=dict(type='bool', default=False),
        timeout=dict(type='float', default=5.0),
    )
    argument_spec.update(tls_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        validate_tls_params(module.params)
        result = converge_monitors(module.params, wire_tls(module.params), module.check_mode)
    except (ValueError, MonitorError, ReplyError) as error:
        module.fail_json(msg=str(error))
    for address, why in sorted(result['unanswered'].items()):
        module.warn('Sentinel %s did not answer, so what it needs is unknown: %s' % (address, why))
    if not module._diff:
        result.pop('diff')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
