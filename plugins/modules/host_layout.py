#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
---
module: host_layout
short_description: Lay out a host's directories, files, links and packages check in one call, with diff
version_added: 0.3.0
description:
  - Lays out a host in one module call, however many files it has. It checks the packages the layout needs,
    creates directories, writes files (rendered from the role's templates on the controller, as
    M(ansible.builtin.template) does) and symbolic links, and reports which systemd units are not running.
  - "The action plugin of the same name runs first, on the controller: it renders each O(files[].template) with the
    task's variables plus the item's O(files[].vars), and reads each O(files[].src), into O(files[].content); then it
    calls the module once with every item."
  - "In this order: O(packages) (outside check mode, if one is missing nothing else is done: RV(missing_packages)
    lists them, for the caller to install them and call again), O(directories) (created with their parents),
    O(files), O(links), then RV(inactive) units. Every item is compared before any is changed: an unknown owner
    or a path of the wrong type fails the task before anything is written."
  - A file whose content differs is written to a temporary file in the same directory, synced, given its owner,
    group and mode, checked with O(files[].validate), then moved over the old one. When only owner, group or mode
    differ they are fixed in place. Links are replaced atomically.
author:
  - shardinel.redis developers (@shardinel)
attributes:
  action:
    support: full
    description: The action plugin renders templates and reads source files on the controller.
  check_mode:
    support: full
    description:
      - Nothing is written, no temporary file is made and no validator runs; RV(changed_paths) lists what the real
        run would change.
      - Missing packages count as a change, and the rest is still compared, so on a fresh host every file that
        would be created is listed (an owner that does not exist yet counts as a difference).
  diff_mode:
    support: full
    description:
      - One diff entry per change, secrets hidden (O(secrets)); see RV(diff).
options:
  packages:
    description:
      - Packages the layout needs (the owners of its files, the programs its validators run).
      - Read with C(dpkg-query), else C(rpm); with neither, every package counts as missing.
    type: list
    elements: str
    default: []
  directories:
    description:
      - Directories to create (with their parents) or whose attributes to correct.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      owner:
        description: User that owns it; left alone when not given.
        type: str
      group:
        description: Group that owns it; left alone when not given.
        type: str
      mode:
        description: Octal mode as a string, such as V('0750') or V('2750'); left alone when not given.
        type: raw
  files:
    description:
      - Regular files. Give exactly one of O(files[].content), O(files[].template) and O(files[].src).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path. Its directory must exist or be among O(directories).
        type: path
        required: true
      content:
        description: The file's text.
        type: str
      template:
        description:
          - A template rendered on the controller, found as M(ansible.builtin.template) finds its O(ansible.builtin.template#module:src)
            (the role's C(templates/) directory first), with its default options.
          - Rendered with the task's variables, the C(template_*) variables and C(ansible_managed) as
            M(ansible.builtin.template) sets them, and O(files[].vars).
        type: str
      src:
        description:
          - A UTF-8 file on the controller, sent as it is, found as M(ansible.builtin.copy) finds its
            O(ansible.builtin.copy#module:src) (the role's C(files/) directory first). Vault-encrypted files are decrypted.
        type: str
      vars:
        description: Variables for this O(files[].template) only; they take precedence over the task's.
        type: dict
      owner:
        description: User that owns the file; left alone (or the writer's for a new file) when not given.
        type: str
      group:
        description: Group that owns the file; left alone (or the writer's for a new file) when not given.
        type: str
      mode:
        description: Octal mode as a string, such as V('0640'); left alone (default permissions for a new file) when not given.
        type: raw
      validate:
        description:
          - Command that checks the new content before it replaces the file; C(%s) is the temporary file's path
            (beside the file, with the file's owner, group and mode). Split like a shell command line, not run by a shell.
          - A non-zero exit fails the task naming the path and quoting the command's output (secrets hidden);
            the file is left as it was (the changes made before it stay made).
          - Not run in check mode.
        type: str
      create_only:
        description:
          - Write the file only if it does not exist. An existing one belongs to its service (Redis and Sentinel
            rewrite their own configuration) and is never read nor compared.
        type: bool
        default: false
      diff:
        description:
          - Show the content in the diff. Set V(false) for a file whose whole content is secret (a private key);
            its diff entry then says that the content changes without showing it.
        type: bool
        default: true
  links:
    description: Symbolic links to create or point at their target; a missing directory of the link is created (mode 0755).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the link.
        type: path
        required: true
      target:
        description: What the link points to.
        type: str
        required: true
  units:
    description:
      - systemd units whose state to report in RV(inactive). Nothing is started or stopped.
    type: list
    elements: str
    default: []
  probes:
    description:
      - Paths to look at and report in RV(probed), as M(ansible.builtin.stat) would, so that a play needs no round trip
        of its own for them (whether C(/proc/sys) is writable, whether a unit file of an earlier run is there).
        Nothing is changed; also answered in check mode and on a host that still lacks O(packages).
    type: list
    elements: path
    default: []
  secrets:
    description:
      - Every string to hide in diffs and error messages. Pass every password that a file holds or held, and every
        ACL password hash (the C(#<sha256>) strings of ACL files). A line that holds one shows C(********) in its
        place, also where a configuration file writes it inside double quotes with backslash escapes or as a JSON
        string.
      - Ansible also hides each of these strings wherever it appears in the result. So that no path is hidden,
        the module fails, before changing anything, if a secret is part of a path, link target, owner, group,
        package or unit name.
    type: list
    elements: str
    default: []
notes:
  - Diff entries are returned only in diff mode. A file that only differs in secrets shows no changed line; its
    header says C(only hidden secrets differ).
  - The invocation in the result (shown at verbosity 3 and above) gives the length of each file's content, not the
    content. The module logs no invocation to the host's journal.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.copy
'''

EXAMPLES = r'''
- name: Lay out the instances' directories, configuration files and units
  shardinel.redis.host_layout:
    packages: [redis-server]
    directories:
      - {path: /etc/redis/shards, owner: redis, group: redis, mode: "0750"}
    files:
      - path: /etc/redis/shards/shard1.static.conf
        template: redis-instance.static.conf.j2
        vars:
          instance: {name: shard1, port: 6380}
        owner: redis
        group: redis
        mode: "0640"
        validate: /usr/local/libexec/shardinel/redis-check-config %s
      - path: /etc/redis/shards/shard1.conf
        template: redis-instance.conf.j2
        vars:
          instance: {name: shard1, port: 6380}
        owner: redis
        group: redis
        mode: "0640"
        create_only: true
      - path: /usr/local/libexec/shardinel/redis-restart
        src: redis_restart.py
        mode: "0755"
      - path: /etc/redis/tls/host.key
        content: "{{ host_key }}"
        owner: redis
        mode: "0600"
        diff: false
    links:
      - {path: /etc/systemd/system/multi-user.target.wants/redis@shard1.service, target: /etc/systemd/system/redis@.service}
    units: [redis@shard1.service]
    secrets: "{{ passwords + acl_hashes }}"
  register: layout
  notify: Restart Redis instances

- name: Install what the layout needs, then lay out again
  when: layout.missing_packages | length > 0
  block:
    - name: Install the packages
      ansible.builtin.apt:
        name: "{{ layout.missing_packages }}"
'''

RETURN = r'''
changed_paths:
  description: Every path created or changed (content, attributes or link target), in the order of the options.
  returned: always
  type: list
  elements: str
  sample: [/etc/redis/shards/shard1.static.conf]
created:
  description: The paths of RV(changed_paths) that did not exist.
  returned: always
  type: list
  elements: str
  sample: []
missing_packages:
  description:
    - The packages of O(packages) that are not installed. Outside check mode, when this is not empty, nothing else
      was done.
  returned: always
  type: list
  elements: str
  sample: []
probed:
  description: For each path of O(probes), whether it exists and whether this module's user may write it.
  returned: always
  type: dict
  sample: {/proc/sys/vm/overcommit_memory: {exists: true, writeable: false}}
inactive:
  description: The units of O(units) that systemd neither runs nor is starting (or reloading).
  returned: always
  type: list
  elements: str
  sample: [redis@shard1.service]
diff:
  description:
    - In diff mode, one entry per change, shown by Ansible as a unified diff. Files show their content (secrets
      hidden); attribute changes show C(owner), C(group) and C(mode) lines with the header C(<path> (attributes));
      links show their target; a new path has the header C(<path> (absent)) before; missing packages in check
      mode show a C(packages) entry.
  returned: diff mode
  type: list
  elements: dict
  contains:
    before_header:
      description: The path (or C(packages)), as it is.
      type: str
    after_header:
      description: The path, as it will be.
      type: str
    before:
      description: The text before.
      type: str
    after:
      description: The text after.
      type: str
  sample:
    - before_header: /etc/redis/shards/shard1.static.conf
      after_header: /etc/redis/shards/shard1.static.conf
      before: "maxmemory 256mb\n"
      after: "maxmemory 512mb\n"
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.shardinel.redis.plugins.module_utils.host_files import LayoutError, lay_out
from ansible_collections.shardinel.redis.plugins.module_utils.secret_text import hide_secrets, hide_secrets_in, secret_pattern


def main():
    attributes = dict(owner=dict(type='str'), group=dict(type='str'), mode=dict(type='raw'))
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type='list', elements='str', default=[]),
            directories=dict(type='list', elements='dict', default=[],
                             options=dict(attributes, path=dict(type='path', required=True))),
            files=dict(type='list', elements='dict', default=[],
                       options=dict(attributes, path=dict(type='path', required=True), content=dict(type='str'),
                                    template=dict(type='str'), src=dict(type='str'), vars=dict(type='dict'),
                                    validate=dict(type='str'), create_only=dict(type='bool', default=False),
                                    diff=dict(type='bool', default=True)),
                       mutually_exclusive=[['content', 'template', 'src']],
                       required_one_of=[['content', 'template', 'src']]),
            links=dict(type='list', elements='dict', default=[],
                       options=dict(path=dict(type='path', required=True), target=dict(type='str', required=True))),
            units=dict(type='list', elements='str', default=[]),
            probes=dict(type='list', elements='path', default=[]),
            secrets=dict(type='list', elements='str', default=[], no_log=True),
        ),
        supports_check_mode=True,
        no_log=True,
    )
    pattern = secret_pattern(module.params['secrets'])
    invocation = {'module_args': hide_secrets_in(dict(module.params, secrets='VALUE_SPECIFIED_IN_NO_LOG_PARAMETER', files=[
        dict(item, content=None if item['content'] is None else '(%d characters)' % len(item['content']))
        for item in module.params['files']]), pattern)}
    try:
        result = lay_out(module, pattern)
    except LayoutError as error:
        module.fail_json(msg=hide_secrets(str(error), pattern), invocation=invocation)
    module.exit_json(invocation=invocation, **result)


if __name__ == '__main__':
    main()
