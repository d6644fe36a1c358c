"""app/state/installations.py: repositories kept, accounts remembered, refusals claimed once."""

from __future__ import annotations

from app.state import State


def test_installations_keep_their_repositories(state: State) -> None:
    assert state.installations.get(5) is None
    state.installations.record(5, "octo", active=True, added=["octo/b", "octo/a"])
    state.installations.record(5, "", active=True, added=["octo/c"], removed=["octo/a"])
    assert state.installations.get(5) == ("octo", True, ["octo/b", "octo/c"])
    state.installations.record(5, "octo", active=False)
    assert state.installations.get(5) == ("octo", False, ["octo/b", "octo/c"])


def test_an_installation_is_refused_once(state: State) -> None:
    assert state.installations.claim_refusal(7, "mallory", retry_after=600) is True
    assert (
        state.installations.claim_refusal(7, "mallory", retry_after=600) is False
    )  # tried just now
    assert state.installations.get(7) == ("mallory", True, [])
    assert state.installations.refused_count() == 1
    state.installations.removed(7)
    assert state.installations.get(7) == ("mallory", False, [])
    # Gone: never again, however long ago it was tried.
    assert state.installations.claim_refusal(7, "mallory", retry_after=0) is False
    assert state.installations.refused_count() == 1


def test_a_failed_uninstall_is_tried_again_only_after_a_while(state: State) -> None:
    assert state.installations.claim_refusal(8, "mallory", retry_after=600) is True
    assert state.installations.claim_refusal(8, "mallory", retry_after=600) is False
    assert state.installations.claim_refusal(8, "mallory", retry_after=0) is True
    assert state.installations.refused_count() == 1


def test_a_known_installation_keeps_its_repositories_when_refused(state: State) -> None:
    state.installations.record(9, "mallory", active=True, added=["mallory/evil"])
    assert state.installations.claim_refusal(9, "mallory", retry_after=600) is True
    assert state.installations.get(9) == ("mallory", True, ["mallory/evil"])


def test_the_account_of_an_installation_is_remembered(state: State) -> None:
    assert state.installations.account(5) is None
    state.installations.remember_account(5, "Octo-Org")
    assert state.installations.account(5) == "Octo-Org"
    assert state.installations.get(5) == ("Octo-Org", True, [])
    # A lookup is GitHub's latest word (an account can be renamed); the rest is left alone.
    state.installations.record(6, "octo-org", active=False, added=["octo-org/a"])
    state.installations.remember_account(6, "octo-inc")
    assert state.installations.get(6) == ("octo-inc", False, ["octo-org/a"])
    # An event that named no account leaves the looked-up one.
    state.installations.record(5, "", active=True, added=["octo-org/b"])
    assert state.installations.account(5) == "Octo-Org"
    assert state.installations.refused(5) is False
    state.installations.claim_refusal(5, "Octo-Org", retry_after=600)
    assert state.installations.refused(5) is True


def test_the_installations_in_use_are_counted(state: State) -> None:
    assert state.installations.active_count() == 0
    state.installations.record(5, "octo", active=True, added=["octo/a"])
    state.installations.record(6, "other", active=True)
    state.installations.record(6, "other", active=False)
    assert state.installations.active_count() == 1
