"""The acl_users filter: hashes instead of passwords, the current one first, and the ACL line the files carry."""

from __future__ import annotations

import hashlib

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.shardinel.redis.plugins.filter.acl_users import FilterModule


def digest(password: str) -> str:
    return hashlib.sha256(password.encode()).hexdigest()


def test_users_carry_hashes_and_their_acl_line() -> None:
    users = FilterModule().filters()["acl_users"]([
        {"name": "default", "enabled": False},
        {"name": "app", "password": "new-1", "previous_passwords": ["old-1"], "rules": "~* +@read"},
        {"name": "anonymous", "nopass": True, "rules": "+ping"},
    ])
    assert [user["line"] for user in users] == [
        "user default off", f"user app on #{digest('new-1')} #{digest('old-1')} ~* +@read", "user anonymous on nopass +ping"]
    assert users[1]["hashes"] == [digest("new-1"), digest("old-1")]
    assert all("new-1" not in str(user) and "old-1" not in str(user) for user in users)


@pytest.mark.parametrize(("users", "named"), [
    ({"name": "app"}, "a list of users"),
    ([{"password": "x"}], "non-empty name"),
    ([{"name": "app", "password": "x", "previous_passwords": "old"}], "previous_passwords of user app must be a list"),
    ([{"name": "app", "password": ""}], "passwords of user app must be non-empty strings"),
    ([{"name": "app", "rules": ["+ping"]}], "rules of user app must be a string"),
])
def test_bad_input_is_named(users: object, named: str) -> None:
    with pytest.raises(AnsibleFilterError, match=named):
        FilterModule().filters()["acl_users"](users)
