#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: instance_restart
short_description: Restart or switch over one shard instance without a write outage
version_added: 0.3.0
description:
  - Restarts one Redis instance of a shard that Sentinel monitors, on the host the module runs on, or only makes sure
    it is not the shard's master (O(action=switchover)).
  - When every Sentinel names the instance as the shard's master, the module first runs C(SENTINEL FAILOVER) on the
    first Sentinel that accepts it (retried while a Sentinel answers C(INPROG) or C(NOGOODSLAVE), and asked again if
    the Sentinel gives the failover up), waits until every Sentinel names a new master that reports C(ROLE master),
    then points the old master at the new one with C(REPLICAOF) (Sentinel would do so only at its next C(INFO), up to
    10 seconds later, and until then the old master accepts writes that are lost) and waits until it reports a
    connected link to it. Nothing happens to a replica.
  - With O(action=restart) the module then waits until the instance is not loading, syncing or rewriting its AOF
    (Redis ignores C(SIGTERM) while it writes the AOF that follows a full sync), runs C(systemctl restart) on
    O(unit), and waits until the instance reports C(ROLE slave) of the master with its link connected and every
    Sentinel lists it as a replica, up, with C(master-link-status ok), from an C(INFO) it sent after the restart.
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
      - Asks the Sentinels once for the shard's master and returns what the module would do (RV(would_fail_over),
        RV(would_restart)); it never runs C(SENTINEL FAILOVER), C(REPLICAOF) or C(systemctl), and never waits.
      - When it cannot tell whether the instance is the master (the Sentinels do not all agree or answer, or refuse
        the login, for example before new passwords are applied), RV(would_fail_over) is null, RV(master_unknown)
        says why, and the module reports a change.
  diff_mode:
    support: none
    description: No file changes; the report says what happened.
options:
  action:
    description:
      - V(restart) switches the instance over if it is the master, then restarts its unit.
      - V(switchover) only switches it over if it is the master.
    type: str
    choices: [restart, switchover]
    default: restart
  shard:
    description:
      - The shard, that is the name the Sentinels monitor it under.
    type: str
    required: true
  address:
    description:
      - The instance as the Sentinels know it, V(ip:port) (V([ipv6]:port) for IPv6).
    type: str
    required: true
  unit:
    description:
      - The systemd unit of the instance, for example V(shardinel-redis@shard1.service).
      - Required with O(action=restart).
    type: str
  username:
    description:
      - Redis ACL user allowed to run C(ROLE), C(INFO) and C(REPLICAOF) on the shard's instances (the admin user).
    type: str
  password:
    description:
      - Password of O(username).
    type: str
  timeout:
    description:
      - Seconds each wait may last (for the Sentinels to agree, for a failover to be accepted and to finish, for the
        old master to be demoted, for the instance to be ready to stop and to be back in sync).
      - Leave room for a failover Sentinel gives up and for a full resync of the restarted instance.
    type: float
    default: 120
notes:
  - O(sentinels) are every Sentinel that monitors the shard; the module waits until all of them agree.
    O(sentinel_username) must be allowed to run C(SENTINEL FAILOVER), as the Sentinel admin user
    (C(shardinel_sentinel_admin_username)) is; a user that may not is named in the error.
  - Run restarts of one shard one instance at a time, each shard's replicas before its master, so that no shard is
    failed over twice.
  - The passwords are never logged or returned, and error messages do not contain them.
seealso:
  - module: shardinel.redis.topology_check
'''

EXAMPLES = r'''
- name: Restart the instance of shard1 on this host, failing it over first if it is the master
  shardinel.redis.instance_restart:
    shard: shard1
    address: "10.0.0.1:6379"
    unit: shardinel-redis@shard1.service
    sentinels: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
    sentinel_username: sentinel-admin
    sentinel_password: "{{ shardinel_sentinel_admin_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
  register: restart

- name: Print how long writes to the shard were paused
  ansible.builtin.debug:
    msg: "{{ restart.failover_s | default('no failover') }}"

- name: Make sure the instance is not the master before maintenance
  shardinel.redis.instance_restart:
    action: switchover
    shard: shard1
    address: "10.0.0.1:6379"
    sentinels: ["10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"]
    sentinel_username: sentinel-admin
    sentinel_password: "{{ shardinel_sentinel_admin_password }}"
    username: admin
    password: "{{ shardinel_admin_password }}"
    tls: true
    tls_ca_file: /etc/redis/shardinel-tls/ca.crt
'''

RETURN = r'''
shard:
  description: O(shard).
  returned: always
  type: str
  sample: shard1
address:
  description: O(address) as V(host:port).
  returned: always
  type: str
  sample: "10.0.0.1:6379"
action:
  description: O(action).
  returned: always
  type: str
  sample: restart
master_before:
  description: The master every Sentinel named before anything was done.
  returned: when the Sentinels agreed on a master
  type: str
  sample: "10.0.0.1:6379"
would_fail_over:
  description: The instance is the shard's master, so the module would fail it over; null when check mode could not tell.
  returned: in check mode
  type: bool
master_unknown:
  description: Why check mode could not tell whether the instance is the master.
  returned: in check mode, when RV(would_fail_over) is null
  type: str
  sample: "the Sentinels do not all name the same master of shard1, up (10.0.0.1:26379: 10.0.0.1:26379: Connection refused; ...)"
would_restart:
  description: The module would restart the instance's unit (O(action=restart)).
  returned: in check mode
  type: bool
failover_sentinel:
  description: The Sentinel that accepted C(SENTINEL FAILOVER).
  returned: when the instance was failed over
  type: str
  sample: "10.0.0.2:26379"
new_master:
  description: The master every Sentinel named after the failover.
  returned: when the instance was failed over
  type: str
  sample: "10.0.0.2:6379"
failover_s:
  description: Seconds from C(SENTINEL FAILOVER) until every Sentinel named the new master, which reported C(ROLE master).
  returned: when the instance was failed over
  type: float
  sample: 1.21
demoted_s:
  description: Seconds from then until the old master reported a connected link to the new one.
  returned: when the instance was failed over
  type: float
  sample: 0.35
restart_s:
  description: Seconds C(systemctl restart) took.
  returned: when the instance was restarted
  type: float
  sample: 0.52
back_s:
  description: Seconds from the restart until the instance was back in sync and every Sentinel had seen it so.
  returned: when the instance was restarted
  type: float
  sample: 9.8
restarted:
  description: The unit was restarted.
  returned: always
  type: bool
total_s:
  description: Seconds the whole action took.
  returned: success, not in check mode
  type: float
  sample: 12.1
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.shardinel.redis.plugins.module_utils.instance_restart import RestartError, run_action
from ansible_collections.shardinel.redis.plugins.module_utils.shard_watch import watch_argument_spec, watch_from_params
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import format_address, parse_address


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type='str', choices=['restart', 'switchover'], default='restart'),
            shard=dict(type='str', required=True),
            address=dict(type='str', required=True),
            unit=dict(type='str'),
            timeout=dict(type='float', default=120.0),
            **watch_argument_spec()
        ),
        required_if=[('action', 'restart', ['unit'])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        watch = watch_from_params(params)
        address = format_address(parse_address(params['address'], 'address'))
        if params['timeout'] <= 0:
            raise ValueError('timeout: must be a positive number of seconds, got %r' % params['timeout'])
    except ValueError as error:
        module.fail_json(msg=str(error))

    systemctl = None
    if params['action'] == 'restart' and not module.check_mode:
        systemctl = module.get_bin_path('systemctl', required=True)

    def restart_unit():
        rc, out, err = module.run_command([systemctl, 'restart', params['unit']])
        return rc, 'systemctl restart %s: %s' % (params['unit'], (err or out or 'exit code %d' % rc).strip())

    try:
        changed, report = run_action(watch, params['action'], params['shard'], address, params['timeout'],
                                     module.check_mode, restart_unit)
    except RestartError as error:
        report = getattr(error, 'report', {})
        module.fail_json(msg='%s %s: %s' % (params['shard'], address, error),
                         changed='new_master' in report or report.get('restarted', False), **report)
    module.exit_json(changed=changed, **report)


if __name__ == '__main__':
    main()
