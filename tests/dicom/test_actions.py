"""One handler per action: every action has exactly one handler holding its support check, type fitting and apply."""

from __future__ import annotations

import pytest

from transforms.config import parse_config
from transforms.dicom.actions import BY_CONFIG_NAME, HANDLERS, Act, Handler
from transforms.dicom.policy import compile_dicom_policy
from transforms.errors import ConfigError


def test_every_action_has_one_handler():
    assert set(HANDLERS) == set(Act)
    assert all(isinstance(h, Handler) and h.act is act for act, h in HANDLERS.items())
    # every v1beta1 action of the API (spec section 2.8) is a handler
    assert set(BY_CONFIG_NAME) == {"keepTag", "removeTag", "deleteTag", "resetTag", "regenUidTag", "cleanTextTag",
                                   "cleanImageTag", "recurseTag"}


@pytest.mark.parametrize("act,vr,configured,expected", [
    (Act.DUMMY, "SQ", False, Act.DUMMY),  # a table's D keeps a sequence's items
    (Act.DUMMY, "SQ", True, Act.EMPTY),  # resetTag empties a sequence
    (Act.REGEN_UID, "SQ", False, Act.RECURSE),
    (Act.RECURSE, "UI", False, Act.REGEN_UID),
    (Act.RECURSE, "LO", False, Act.DELETE),
    (Act.CLEAN_TEXT, "SQ", True, Act.RECURSE),
    (Act.CLEAN_TEXT, "US", True, Act.DELETE),
    (Act.CLEAN_TEXT, "LO", True, Act.CLEAN_TEXT),
    (Act.KEEP, "SQ", True, Act.KEEP),
])
def test_type_fitting_lives_in_the_handler(act, vr, configured, expected):
    assert HANDLERS[act].fit(vr, configured) is expected


def test_support_checks_name_the_query_path():
    config = {"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "regenUidTag": {}}]}}
    with pytest.raises(ConfigError) as err:
        compile_dicom_policy(parse_config(config))
    assert "dicomTagConfig.actions[0].queries[0]" in str(err.value)
