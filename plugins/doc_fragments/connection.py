# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options shared by every shardinel.redis module (module_utils/connection_options.py)."""

    DOCUMENTATION = r'''
options:
  sentinels:
    description:
      - Sentinel addresses as V(host:port) strings, for example V(10.0.0.1:26379).
      - The module asks them which shards (Sentinel service names) exist and where their masters are.
    type: list
    elements: str
    required: true
  sentinel_username:
    description:
      - ACL user on the Sentinels.
      - Omit it when the Sentinels only use C(requirepass) or no authentication.
    type: str
  sentinel_password:
    description:
      - Password of O(sentinel_username) (or the Sentinels' C(requirepass)).
    type: str
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
