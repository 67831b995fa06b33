#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: runtime_credentials
short_description: Apply ACL users and the credentials servers use to running Redis instances or Sentinels
version_added: 0.3.0
description:
  - Makes the running servers of one kind on this host (O(servers)) hold the ACL users O(users) and use the
    credentials given for their own links, at runtime, without a restart. Servers that do not answer are skipped and
    listed in RV(not_running); they read their files when they start.
  - Works in two phases, each to be run on every host of a play before the next one, so that every server accepts a
    new password before any server uses it. O(phase=accept) sets the ACL users (C(ACL SETUSER), C(ACL DELUSER);
    Sentinels then save them with C(SENTINEL FLUSHCONFIG)). C(ACL LOAD) is never used, as before Redis 7.2 it
    disconnects every client, replicas included. O(phase=use) sets C(masteruser)/C(masterauth) with C(CONFIG SET) on
    Redis instances, and C(sentinel-user)/C(sentinel-pass) with C(SENTINEL CONFIG SET) and each monitor's
    C(auth-user)/C(auth-pass) with C(SENTINEL SET) on Sentinels.
  - Given the settings of the use phase, O(phase=accept) also reads them and returns RV(use_pending), so that a play
    runs the use phase only where it has something to change (one round trip less per host on a re-run).
  - A held user is compared with the wanted one by its on/off and nopass flags, its password hashes and its rules.
    Servers list rules in their own normalized form, so the wanted rules are first read by a throwaway server of the
    same engine (O(server_binary)), started on a private unix socket with nothing to keep and stopped at once. No user
    is ever created, changed or deleted on a running server to compare rules. Rules are compared as sets, since Redis
    7.0 lists subcommand rules in another order after a restart than when they were set at runtime.
  - Logs in as O(login_user) with each of O(login_passwords) in turn, so that a server that accepts only a previous
    password (during a rotation) is still reached.
  - Talks to the servers with the collection's own Redis protocol client; needs neither redis-py nor redis-cli.
author:
  - shardinel.redis developers (@shardinel)
extends_documentation_fragment:
  - shardinel.redis.tls
attributes:
  check_mode:
    support: full
    description:
      - Only reads are sent to the servers; RV(changes) and RV(reasons) say what would change.
      - The throwaway server that reads the wanted rules runs in check mode too; it is no server of the topology.
  diff_mode:
    support: full
    description:
      - Per changed server, its users (name, flags, passwords as labels such as V(p1) that say which password is which
        without showing it or its hash, rules) or its settings (secrets as V(hidden 1), V(hidden 2)), held and wanted.
options:
  phase:
    description:
      - V(accept) sets the ACL users; V(use) sets the credentials the servers use for their own links.
    type: str
    required: true
    choices: [accept, use]
  kind:
    description:
      - Whether O(servers) are Redis instances or Sentinels.
    type: str
    required: true
    choices: [redis, sentinel]
  servers:
    description:
      - The running servers of this host, as V(host:port) strings.
    type: list
    elements: str
    required: true
  login_user:
    description:
      - ACL user to log in as, allowed to run C(ACL), C(CONFIG) (Redis) or C(SENTINEL) (Sentinel) commands.
    type: str
    required: true
  login_passwords:
    description:
      - The passwords of O(login_user) to try in turn, the current one first, then the previous ones.
    type: list
    elements: str
    required: true
  login_variable:
    description:
      - The name the operator knows O(login_passwords) by (an inventory variable), named in the error when every
        password is refused.
    type: str
    default: login_passwords
  users:
    description:
      - Every ACL user the servers must hold; any other user is deleted. Required with O(phase=accept).
      - The entries of the C(shardinel.redis.acl_users) filter can be passed unchanged.
    type: list
    elements: dict
    suboptions:
      name:
        description: The user name.
        type: str
        required: true
      enabled:
        description: Whether the user is on.
        type: bool
        default: true
      nopass:
        description: The user logs in with any password (O(users[].hashes) is then not used).
        type: bool
        default: false
      hashes:
        description:
          - The SHA-256 hex digests of the passwords the user accepts, the current one first.
        type: list
        elements: str
        default: []
      rules:
        description: The user's ACL rules (commands, keys, channels, selectors), as in an ACL file line.
        type: str
        default: ''
      line:
        description:
          - The user's ACL file line, which the C(shardinel.redis.acl_users) filter also returns. Not used.
        type: str
  masteruser:
    description:
      - O(kind=redis), O(phase=use) - the user a replica logs in to its master as (C(masteruser)). Not managed when
        omitted.
    type: str
  masterauth:
    description:
      - O(kind=redis), O(phase=use) - the password of O(masteruser) (C(masterauth)). Not managed when omitted.
    type: str
  sentinel_user:
    description:
      - O(kind=sentinel), O(phase=use) - the user a Sentinel logs in to the other Sentinels as (C(sentinel-user)).
        Not managed when omitted.
    type: str
  sentinel_pass:
    description:
      - O(kind=sentinel), O(phase=use) - the password of O(sentinel_user) (C(sentinel-pass)). Not managed when omitted.
    type: str
  auth_user:
    description:
      - O(kind=sentinel), O(phase=use) - the user each monitor logs in to its Redis instances as (C(auth-user)). Not
        managed when omitted.
    type: str
  auth_pass:
    description:
      - O(kind=sentinel), O(phase=use) - the password of O(auth_user) (C(auth-pass)). Not managed when omitted.
    type: str
  shards:
    description:
      - O(kind=sentinel) - the monitors whose O(auth_user)/O(auth_pass) are managed. By default every monitor the
        Sentinel has.
    type: list
    elements: str
  server_binary:
    description:
      - The engine binary that reads the wanted rules in a throwaway server, in O(phase=accept). It should be the
        binary the servers run, as the engines and their versions normalize rules differently; a Sentinel binary runs
        in Sentinel mode.
      - Defaults to V(/usr/bin/redis-server) for O(kind=redis) and V(/usr/bin/redis-sentinel) for O(kind=sentinel).
      - Only started when a server answered, so a host where nothing is installed or running needs none.
    type: path
  timeout:
    description:
      - Seconds to wait for a server to connect or answer.
    type: float
    default: 5.0
notes:
  - A server that answers C(LOADING) (a replica loading a full resynchronization) is asked again for up to 90 seconds.
  - On a Sentinel, the monitors' current C(auth-user)/C(auth-pass) are read from the config file the Sentinel names in
    C(INFO server), since no command shows them; the module must run on the Sentinel's host, as a user that may read it.
  - Logging in with a password the server no longer or not yet accepts leaves an C(auth) entry in its C(ACL LOG), also
    in check mode; nothing else changes on the server.
  - The throwaway server starts with the engine's default C(acl-pubsub-default); servers that set another value read
    rules without channel rules differently.
seealso:
  - module: shardinel.redis.sentinel_monitors
'''

EXAMPLES = r'''
- name: Every Redis instance of this host accepts the users and passwords
  shardinel.redis.runtime_credentials:
    phase: accept
    kind: redis
    servers: ["10.0.0.1:6379", "10.0.0.1:6380"]
    login_user: admin
    login_passwords: "{{ [shardinel_admin_password] + shardinel_admin_previous_passwords }}"
    login_variable: shardinel_admin_password
    users: "{{ my_users | shardinel.redis.acl_users }}"
    server_binary: /usr/bin/redis-server

- name: Then every Redis instance uses the new replication password
  shardinel.redis.runtime_credentials:
    phase: use
    kind: redis
    servers: ["10.0.0.1:6379", "10.0.0.1:6380"]
    login_user: admin
    login_passwords: "{{ [shardinel_admin_password] + shardinel_admin_previous_passwords }}"
    masteruser: replication
    masterauth: "{{ shardinel_replication_password }}"

- name: The Sentinels of this host use the new Sentinel and monitor passwords
  shardinel.redis.runtime_credentials:
    phase: use
    kind: sentinel
    servers: ["10.0.0.1:26379"]
    login_user: sentinel-admin
    login_passwords: ["{{ shardinel_sentinel_admin_password }}"]
    sentinel_user: sentinel-admin
    sentinel_pass: "{{ shardinel_sentinel_admin_password }}"
    auth_user: sentinel
    auth_pass: "{{ shardinel_sentinel_password }}"
    shards: [shard1, shard2]
'''

RETURN = r'''
changes:
  description:
    - What changed (in check mode, what would change) on each server that needed a change, keyed by its V(host:port).
    - User names, setting names, V(config file) (a Sentinel saved its users), and V(<shard> auth-user/auth-pass).
  returned: success
  type: dict
  sample: {"10.0.0.1:6379": [app, admin], "10.0.0.1:26379": [sentinel-admin, config file]}
reasons:
  description: Why each changed user differed, per server; no secret in it.
  returned: success
  type: dict
  sample: {"10.0.0.1:6379": {app: "passwords (1 held, 2 wanted)", admin: "not held"}}
use_pending:
  description:
    - With O(phase=accept) and any of the settings of the use phase given (O(masteruser), O(masterauth),
      O(sentinel_user), O(sentinel_pass), O(auth_user), O(auth_pass)), whether some server holds other values, so that a
      run of the use phase would change something. The accept phase only reads those settings; it never sets them.
    - Always V(false) with O(phase=use).
  returned: success
  type: bool
  sample: false
not_running:
  description: The servers that did not answer and were skipped.
  returned: success
  type: list
  elements: str
  sample: ["10.0.0.1:6380"]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.shardinel.redis.plugins.module_utils.acl_user_changes import RulesRefused
from ansible_collections.shardinel.redis.plugins.module_utils.connection_options import (
    tls_argument_spec,
    validate_tls_params,
    wire_tls,
)
from ansible_collections.shardinel.redis.plugins.module_utils.runtime_credentials import (
    CredentialError,
    apply_credentials,
    validate,
)
from ansible_collections.shardinel.redis.plugins.module_utils.scratch_server import ScratchServerError
from ansible_collections.shardinel.redis.plugins.module_utils.shardinel.addresses import parse_addresses


def main():
    user_options = dict(
        name=dict(type='str', required=True),
        enabled=dict(type='bool', default=True),
        nopass=dict(type='bool', default=False),
        hashes=dict(type='list', elements='str', default=[], no_log=True),
        rules=dict(type='str', default=''),
        line=dict(type='str', no_log=True),
    )
    argument_spec = dict(
        phase=dict(type='str', required=True, choices=['accept', 'use']),
        kind=dict(type='str', required=True, choices=['redis', 'sentinel']),
        servers=dict(type='list', elements='str', required=True),
        login_user=dict(type='str', required=True),
        login_passwords=dict(type='list', elements='str', required=True, no_log=True),
        login_variable=dict(type='str', default='login_passwords'),
        users=dict(type='list', elements='dict', options=user_options),
        masteruser=dict(type='str'),
        masterauth=dict(type='str', no_log=True),
        sentinel_user=dict(type='str'),
        sentinel_pass=dict(type='str', no_log=True),
        auth_user=dict(type='str'),
        auth_pass=dict(type='str', no_log=True),
        shards=dict(type='list', elements='str'),
        server_binary=dict(type='path'),
        timeout=dict(type='float', default=5.0),
    )
    argument_spec.update(tls_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        addresses = parse_addresses(module.params['servers'], 'servers')
        validate_tls_params(module.params)
        validate(module.params)
        result = apply_credentials(module.params, addresses, wire_tls(module.params), module.check_mode)
    except (ValueError, CredentialError, RulesRefused, ScratchServerError) as error:
        module.fail_json(msg=str(error))
    for warning in result.pop('warnings'):
        module.warn(warning)
    if not module._diff:
        result.pop('diff')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
