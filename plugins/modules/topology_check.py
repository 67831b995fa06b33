#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: topology_check
short_description: Check that every shard could lose one instance now, waiting until it can
version_added: 0.3.0
description:
  - Checks that every Sentinel in O(sentinels) answers and that every shard in O(shards) has a master that every
    Sentinel names, none of them seeing it down, and that reports C(ROLE master), and at least one replica that reports
    C(ROLE slave) of that master with its link connected and that every Sentinel lists as up with
    C(master-link-status ok).
  - Looks again every half second until all of that holds or O(timeout) seconds have passed, then fails listing what
    is wrong (the Sentinels that do not answer, and per shard what is missing), unless O(fail_on_problems=false).
  - A Sentinel or instance that refuses the login ends the looking at once (waiting cannot mend a password); it is a
    problem like the others.
  - Each look asks every Sentinel once (all shards in one round trip) and every instance named once, all at once.
  - Talks to Redis and Sentinel itself; it needs neither redis-py nor C(redis-cli) on the host.
  - Read-only; it never changes anything.
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
  shards:
    description:
      - The shards to check, by the names the Sentinels monitor them under.
    type: list
    elements: str
    required: true
  username:
    description:
      - Redis ACL user allowed to run C(ROLE) on the shards' instances.
    type: str
  password:
    description:
      - Password of O(username).
    type: str
  timeout:
    description:
      - Seconds to keep looking until every check passes. V(0) looks once.
    type: float
    default: 60
  fail_on_problems:
    description:
      - Fail when a check still does not pass after O(timeout). With V(false) the module returns the report
        (RV(healthy), RV(problems)) without failing, for example to read each shard's current master.
    type: bool
    default: true
notes:
  - Every Sentinel of O(sentinels) must answer. O(sentinel_username) needs only C(SENTINEL MASTER) and C(SENTINEL REPLICAS), so
    the discovery-only client user is enough.
  - The passwords are never logged or returned, and error messages do not contain them.
seealso:
  - module: shardinel.redis.instance_restart
  - module: shardinel.redis.topology_info
'''

EXAMPLES = r'''
- name: Wait until every shard has an agreed master and an in-sync replica
  shardinel.redis.topology_check:
    shards: [shard1, shard2]
    sentinels: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    timeout: 120

- name: Read each shard's current master, without waiting or failing
  shardinel.redis.topology_check:
    shards: [shard1, shard2]
    sentinels: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
    sentinel_username: sentinel-client
    sentinel_password: "{{ shardinel_sentinel_client_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    timeout: 0
    fail_on_problems: false
  register: topology_now

- name: Print them
  ansible.builtin.debug:
    msg: "{{ topology_now.shards | dict2items | map(attribute='value.master') | list }}"
'''

RETURN = r'''
sentinels:
  description: O(sentinels) as V(host:port).
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
sentinels_answering:
  description: The Sentinels that answered the last look.
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
sentinels_not_answering:
  description: The Sentinels that did not.
  returned: always
  type: list
  elements: str
  sample: []
shards:
  description: Each shard of O(shards), keyed by name, as the last look found it.
  returned: always
  type: dict
  sample:
    shard1: {master: "10.0.0.1:6379", in_sync_replicas: ["10.0.0.2:6379"], problems: []}
    shard2: {master: null, in_sync_replicas: [],
             problems: ["the Sentinels do not all name the same master, up: 10.0.0.1:26379 names 10.0.0.2:6380 (master,s_down); ...",
                        "no replica that every Sentinel lists as in sync"]}
  contains:
    master:
      description: The master every Sentinel names, none seeing it down; null while they do not all agree.
      type: str
    in_sync_replicas:
      description: The replicas that report a connected link to that master and that every Sentinel lists as in sync.
      type: list
      elements: str
    problems:
      description: What keeps the shard from losing one instance; empty when nothing does.
      type: list
      elements: str
problems:
  description: Every problem of the last look, each Sentinel that does not answer and each shard's, prefixed with its name.
  returned: always
  type: list
  elements: str
  sample: ["Sentinel 10.0.0.3:26379 does not answer: 10.0.0.3:26379: Connection refused"]
healthy:
  description: The last look found no problem.
  returned: always
  type: bool
login_refused:
  description: A Sentinel or instance refused the login (its problem says which), so the module stopped looking.
  returned: always
  type: bool
attempts:
  description: How many looks it took.
  returned: always
  type: int
  sample: 1
waited_s:
  description: Seconds from the first look to the end of the last one.
  returned: always
  type: float
  sample: 0.02
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.shardinel.redis.plugins.module_utils.shard_watch import watch_argument_spec, watch_from_params
from ansible_collections.shardinel.redis.plugins.module_utils.topology_check import check_until_healthy


def main():
    module = AnsibleModule(
        argument_spec=dict(
            shards=dict(type='list', elements='str', required=True),
            timeout=dict(type='float', default=60.0),
            fail_on_problems=dict(type='bool', default=True),
            **watch_argument_spec()
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        watch = watch_from_params(params)
        if params['timeout'] < 0:
            raise ValueError('timeout: must be 0 or a positive number of seconds, got %r' % params['timeout'])
    except ValueError as error:
        module.fail_json(msg=str(error))
    report = check_until_healthy(watch, list(dict.fromkeys(params['shards'])), params['timeout'])
    if not report['healthy'] and params['fail_on_problems']:
        module.fail_json(msg='after %d look(s) in %gs: %s' % (report['attempts'], report['waited_s'], '. '.join(report['problems'])),
                         **report)
    module.exit_json(changed=False, **report)


if __name__ == '__main__':
    main()
