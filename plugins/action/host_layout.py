# -*- coding: utf-8 -*-
# Copyright: shardinel.redis developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of shardinel.redis.host_layout: each file item's template is rendered (as
ansible.builtin.template renders one) and each src file read into the item's content, then the module runs once
with every item."""

from __future__ import annotations

import datetime
import os
import pwd
import time
from collections.abc import Mapping

from ansible import constants as C
from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template
from ansible.utils.vars import merge_hash

from ansible_collections.shardinel.redis.plugins.module_utils.secret_text import hide_secrets, secret_pattern

MODULE = 'shardinel.redis.host_layout'
# ansible.builtin.template's defaults.
TEMPLATE_OPTIONS = {'trim_blocks': True, 'lstrip_blocks': False, 'newline_sequence': '\n'}


class ActionModule(ActionBase):

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        secrets = args.get('secrets') or []
        pattern = secret_pattern(secrets if isinstance(secrets, list) else [secrets])
        try:
            if isinstance(args.get('files'), list):
                args['files'] = [self._with_content(index, item, task_vars) for index, item in enumerate(args['files'])]
        except AnsibleError as error:
            result.update(failed=True, msg=hide_secrets(to_text(error), pattern))
            return result
        result = merge_hash(result, self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _with_content(self, index, item, task_vars):
        """The item with its template rendered, or its src file read, into content."""
        if not isinstance(item, Mapping):
            return item
        name = 'files[%d] (%s)' % (index, item.get('path'))
        given = [key for key in ('content', 'template', 'src') if item.get(key) is not None]
        if len(given) != 1:
            raise AnsibleActionFail('%s: give exactly one of content, template and src' % name)
        if item.get('vars') is not None and given != ['template']:
            raise AnsibleActionFail('%s: vars are for a template' % name)
        if given == ['content']:
            return item
        try:
            if given == ['template']:
                content = self._render(item['template'], item.get('vars') or {}, item.get('path'), task_vars)
            else:
                content = self._loader.get_text_file_contents(self._find_needle('files', item['src']))
        except AnsibleError as error:
            raise AnsibleActionFail('%s: %s' % (name, to_text(error))) from None
        return {key: value for key, value in dict(item, content=content).items() if key not in ('template', 'src', 'vars')}

    def _render(self, template, item_vars, dest, task_vars):
        source = self._find_needle('templates', template)
        text = trust_as_template(self._loader.get_text_file_contents(source))
        directories = list(task_vars.get('ansible_search_path', [])) + [self._loader.get_basedir(), os.path.dirname(source)]
        searchpath = [path for directory in directories for path in (os.path.join(directory, 'templates'), directory)]
        variables = dict(task_vars)
        variables.update(template_variables(template, source, dest, 'ansible_managed' not in task_vars))
        variables.update(item_vars)
        templar = self._templar.copy_with_new_env(searchpath=searchpath, available_variables=variables)
        rendered = templar.template(text, escape_backslashes=False, overrides=TEMPLATE_OPTIONS)
        return '' if rendered is None else rendered


def template_variables(template, source, dest, with_ansible_managed):
    """The template_* variables (and ansible_managed, unless the task has its own) that ansible.builtin.template
    gives a template."""
    status = os.stat(source)
    try:
        owner = pwd.getpwuid(status.st_uid).pw_name
    except KeyError:
        owner = status.st_uid
    variables = {
        'template_host': os.uname()[1], 'template_path': template, 'template_fullpath': source, 'template_destpath': dest,
        'template_uid': owner, 'template_mtime': datetime.datetime.fromtimestamp(status.st_mtime),
        'template_run_date': datetime.datetime.now(),
    }
    if with_ansible_managed:
        managed = C.config.get_config_value('DEFAULT_MANAGED_STR').format(
            host='{{ template_host }}', uid='{{ template_uid }}', file='{{ template_path }}')
        variables['ansible_managed'] = trust_as_template(time.strftime(managed, time.localtime(status.st_mtime)))
    return variables
