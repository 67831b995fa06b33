# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets hidden in text that is shown to the operator: diffs of files and error messages that quote them.

A secret is found as written and as configuration files write it inside double quotes: any of its characters may
be preceded by a backslash (Redis and Sentinel configs, systemd environment files) or written as JSON writes it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

HIDDEN = '********'


def secret_pattern(secrets):
    """One regular expression matching every non-empty secret in any of its written forms, the longest secret first
    (a secret may contain another); None if there is no secret."""
    forms = {}
    for secret in secrets:
        if secret:
            forms[''.join('\\\\?' + re.escape(character) for character in secret)] = len(secret)
            forms.setdefault(re.escape(json.dumps(secret)[1:-1]), len(secret))
    if not forms:
        return None
    return re.compile('|'.join(sorted(forms, key=lambda form: (forms[form], len(form)), reverse=True)))


def hide_secrets(text, pattern):
    """``text`` with every match of ``pattern`` (from secret_pattern) replaced by ********."""
    if pattern is None:
        return text
    return pattern.sub(HIDDEN, text)


def hide_secrets_in(value, pattern):
    """A copy of ``value`` (strings, lists and dicts) with the secrets hidden in every string."""
    if isinstance(value, str):
        return hide_secrets(value, pattern)
    if isinstance(value, dict):
        return dict((key, hide_secrets_in(item, pattern)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return [hide_secrets_in(item, pattern) for item in value]
    return value
