#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: sentinel_masters
short_description: Ask every Sentinel which masters it monitors, and find each shard's current master
version_added: 0.3.0
description:
  - Sends C(SENTINEL MASTERS) to every Sentinel of O(sentinels) at once and waits at most O(timeout) seconds.
  - Each shard's current master is the one named by the Sentinel with the highest config epoch for it, the rule the
    shardinel client and the instances' start helper use too. A Sentinel that missed a failover (restarted from an old
    config, cut off by a partition) names the old master with a lower epoch and is outvoted.
  - Sentinels that do not answer are listed, not fatal; a login refused with every password given is, since it is not a
    Sentinel being down.
  - Needs no Redis library and no command-line tool on the host, so it also answers in check mode on a host where
    nothing is installed yet. It only reads.
author:
  - shardinel.redis developers (@shardinel)
extends_documentation_fragment:
  - shardinel.redis.sentinels
  - shardinel.redis.tls
attributes:
  check_mode:
    support: full
    description: The module only reads, so it runs unchanged in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  sentinel_previous_passwords:
    description:
      - Passwords of O(sentinel_username) tried in turn when a Sentinel refuses O(sentinel_password), as during a password
        rotation the running Sentinels accept only a previous one until the new one is applied.
    type: list
    elements: str
    default: []
  timeout:
    description:
      - Seconds to wait for the answers of all the Sentinels, asked at the same time.
    type: float
    default: 5.0
notes:
  - O(sentinels) should name every Sentinel of the topology; the discovery-only client user is enough for
    O(sentinel_username).
seealso:
  - module: shardinel.redis.topology_info
'''

EXAMPLES = r'''
- name: Ask every Sentinel which masters it monitors
  shardinel.redis.sentinel_masters:
    sentinels: "{{ shardinel_sentinel_addresses }}"
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
  register: sentinel_answers
  run_once: true

- name: Start a new instance of shard1 as a replica of its current master
  ansible.builtin.debug:
    msg: "replicaof {{ sentinel_answers.current_masters.shard1 | replace(':', ' ') }}"
  when: "'shard1' in sentinel_answers.current_masters"
'''

RETURN = r'''
views:
  description: The C(SENTINEL MASTERS) entries of each Sentinel that answered, keyed by its V(ip:port).
  returned: success
  type: dict
  sample:
    "10.0.0.1:26379":
      - {name: shard1, ip: 10.0.0.1, port: 6379, quorum: 3, flags: [master], config-epoch: 0,
         down-after-milliseconds: 5000, failover-timeout: 60000, parallel-syncs: 1}
unanswered:
  description: Each Sentinel that did not answer, with why.
  returned: success
  type: dict
  sample: {"10.0.0.2:26380": "10.0.0.2:26380: Connection refused"}
current_masters:
  description: Each shard that some Sentinel monitors, with V(ip:port) of its current master.
  returned: success
  type: dict
  sample: {shard1: "10.0.0.2:6379", shard2: "10.0.0.2:6380"}
masters:
  description: Each shard that some Sentinel monitors, with its current master and where that answer came from.
  returned: success
  type: dict
  contains:
    address:
      description: V(ip:port) of the master named with the highest config epoch.
      type: str
    config_epoch:
      description: That config epoch.
      type: int
    sentinels:
      description: How many of the Sentinels that answered monitor the shard.
      type: int
  sample:
    shard1: {address: "10.0.0.2:6379", config_epoch: 3, sentinels: 5}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    sentinel_argument_spec,
    tls_argument_spec,
    validate_tls_params,
    wire_tls,
)
from ansible_collections.shardinel.redis.plugins.module_utils.redis_wire import ReplyError
from ansible_collections.shardinel.redis.plugins.module_utils.sentinel_views import masters_report, read_views
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import parse_addresses


def main():
    argument_spec = sentinel_argument_spec()
    argument_spec.update(
        sentinel_previous_passwords=dict(type='list', elements='str', default=[], no_log=True),
        timeout=dict(type='float', default=5.0),
    )
    argument_spec.update(tls_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        addresses = parse_addresses(params['sentinels'], 'sentinels')
        validate_tls_params(params)
        if params['timeout'] <= 0:
            raise ValueError('timeout: must be a positive number of seconds, got %r' % params['timeout'])
        passwords = [params['sentinel_password']] + params['sentinel_previous_passwords']
        views, unanswered, _accepted = read_views(addresses, params['sentinel_username'], passwords, wire_tls(params), params['timeout'])
    except (ValueError, ReplyError) as error:
        module.fail_json(msg=str(error))
    masters = masters_report(views)
    module.exit_json(changed=False, views=views, unanswered=unanswered, masters=masters,
                     current_masters=dict((name, master['address']) for name, master in masters.items()))


if __name__ == '__main__':
    main()
