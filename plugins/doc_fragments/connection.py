# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The Redis user and timeouts of the modules that use the shardinel client (module_utils/connection_options.py)."""

    DOCUMENTATION = r'''
options:
  username:
    description:
      - ACL user on the Redis instances of every shard.
    type: str
  password:
    description:
      - Password of O(username) on the Redis instances.
    type: str
  connect_timeout:
    description:
      - Seconds to wait for a TCP connection to a Sentinel or Redis instance.
    type: float
    default: 2.0
  socket_timeout:
    description:
      - Seconds to wait for a reply to one command.
    type: float
    default: 5.0
requirements:
  - redis (the redis-py library) on the host that runs the module
notes:
  - The passwords are never logged or returned, and error messages do not contain them.
'''
