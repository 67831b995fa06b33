#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: instances_info
short_description: Read the shard instances a host has, their keys and the published shard layout they hold
version_added: 0.3.0
description:
  - Finds the host's shard instances by their C(<name>.static.conf) files in O(config_dir) (the files an earlier run
    of the C(redis_server) role wrote), and reads each at O(host) on the port its static file names (its
    C(tls-port) when it has one, else its C(port)).
  - For each instance it returns how many keys the applications' databases hold (every database but 15, which holds
    the published shard layout), and the published shard layout it holds (key C(shardinel:layout) in database 15),
    or that it is not running (it refused the connection).
  - Logs in as O(username) with each password of O(passwords) in turn until one is accepted, so that it reads the
    instances during a password rotation too.
  - Any other failure to read an instance fails the module, naming its shard and port, because an instance that does
    not answer is not known to be empty.
  - Talks to Redis itself; it needs neither redis-py nor C(redis-cli) on the host.
author:
  - shardinel.redis developers (@shardinel)
extends_documentation_fragment:
  - shardinel.redis.tls
attributes:
  check_mode:
    support: full
    description: The module only reads, so it runs unchanged in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  config_dir:
    description:
      - The directory that holds the instances' C(<name>.static.conf) files. A directory that does not exist holds
        no instance.
    type: path
    required: true
  host:
    description:
      - The address the instances listen on (they may not listen on the loopback address). An instance that refuses
        connections there counts as not running, so give the address they bind.
    type: str
    required: true
  username:
    description:
      - Redis ACL user allowed to run C(INFO), C(SELECT) and C(GET) on the instances (the admin user).
    type: str
  passwords:
    description:
      - The passwords O(username) may have on the instances, the current one first, then previous ones.
    type: list
    elements: str
    required: true
  timeout:
    description:
      - Seconds to wait for each instance to answer, including while it loads its data.
    type: float
    default: 10
notes:
  - The passwords are never logged or returned, and error messages do not contain them.
seealso:
  - module: shardinel.redis.reshard
'''

EXAMPLES = r'''
- name: Read this host's instances
  shardinel.redis.instances_info:
    config_dir: /etc/redis/shardinel
    host: "{{ shardinel_host_ips[inventory_hostname] }}"
    username: admin
    passwords: "{{ [shardinel_admin_password] + shardinel_admin_previous_passwords }}"
  register: instances

- name: Refuse to drop a shard whose instance still holds keys
  ansible.builtin.assert:
    that: item.key_count | default(0, true) == 0
    fail_msg: "The instance of {{ item.name }} holds {{ item.key_count }} key(s)"
  loop: "{{ instances.instances | selectattr('name', 'in', dropped_shards) }}"
  loop_control:
    label: "{{ item.name }}"
'''

RETURN = r'''
instances:
  description: Every instance found, sorted by name.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: shard1, port: 6379, address: "10.0.0.1:6379", state: running, key_count: 1520,
       layout: {version: 3, shards: [shard1, shard2], lease_s: 5.0}}
    - {name: shard3, port: 6381, address: "10.0.0.1:6381", state: not running, key_count: null, layout: null}
  contains:
    name:
      description: The instance's shard, from its static file's name.
      type: str
    port:
      description: The port it was read on.
      type: int
    address:
      description: V(host:port) it was read at.
      type: str
    state:
      description: V(running), or V(not running) when it refused the connection.
      type: str
    key_count:
      description: Keys over every database but 15; null when it is not running.
      type: int
    layout:
      description:
        - The published shard layout it holds (V(version), V(shards), V(lease_s) and, while keys move, V(previous));
          null when it holds none or is not running.
      type: dict
newest_layout:
  description: The layout with the highest version among the instances; empty when none holds one.
  returned: always
  type: dict
  sample: {version: 3, shards: [shard1, shard2], lease_s: 5.0}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    tls_argument_spec, validate_tls_params, wire_tls)
from ansible_collections.shardinel.redis.plugins.module_utils.host_instances import InstanceReadError, read_host_instances


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type='path', required=True),
            host=dict(type='str', required=True),
            username=dict(type='str'),
            passwords=dict(type='list', elements='str', required=True, no_log=True),
            timeout=dict(type='float', default=10.0),
            **tls_argument_spec()
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        validate_tls_params(params)
        if not params['passwords']:
            raise ValueError('passwords: give at least the current password')
        if params['timeout'] <= 0:
            raise ValueError('timeout: must be a positive number of seconds, got %r' % params['timeout'])
        found = read_host_instances(params['config_dir'], params['host'], params['username'], params['passwords'],
                                    wire_tls(params), params['timeout'])
    except (ValueError, InstanceReadError) as error:
        module.fail_json(msg=str(error))
    module.exit_json(changed=False, **found)


if __name__ == '__main__':
    main()
