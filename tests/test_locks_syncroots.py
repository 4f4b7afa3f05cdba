"""The one place that answers "is this path inside a synced folder?"."""
from __future__ import annotations

import sys

from nemo_desk.locks import syncroots
from nemo_desk.locks.syncroots import env_lookup, find_sync_root, is_within


def test_is_within_rules_per_platform():
    assert is_within(r"C:\Users\ANN\OneDrive\x", "c:/users/ann/onedrive", windows=True)
    assert is_within(r"C:\Users\Ann\OneDrive", r"C:\Users\Ann\OneDrive" + "\\", windows=True)
    assert not is_within(r"C:\Users\Ann\OneDriveX\x", r"C:\Users\Ann\OneDrive", windows=True)
    assert is_within("/a/b/c", "/a/b", windows=False)
    assert not is_within("/a/B/c", "/a/b", windows=False)
    assert is_within(r"\\server\share\dir\f", r"\\SERVER\share", windows=True)


def test_env_lookup_is_case_insensitive_only_on_windows():
    env = {"ONEDRIVE": r"C:\OD"}
    assert env_lookup(env, "OneDrive", windows=True) == r"C:\OD"
    assert env_lookup(env, "OneDrive", windows=False) is None
    assert env_lookup({"OneDrive": ""}, "OneDrive", windows=True) is None


def test_platform_is_read_at_call_time(monkeypatch, fake_windows):
    assert syncroots.running_on_windows()
    found = find_sync_root(r"C:\Users\Ann\onedrive\x.srt", {})
    assert found is not None and found.root == r"C:\Users\Ann\onedrive"
    monkeypatch.setattr(sys, "platform", "linux")
    assert find_sync_root(r"C:\Users\Ann\onedrive\x.srt", {}) is None  # one odd name on Linux


def test_innermost_configured_root_wins_and_beats_folder_names():
    env = {"OneDrive": r"C:\Users\Ann\OneDrive", "OneDriveCommercial": r"C:\Users\Ann\OneDrive\Work"}
    found = find_sync_root(r"C:\Users\Ann\OneDrive\Work\Dropbox\a", env, windows=True)
    assert found.root == r"C:\Users\Ann\OneDrive\Work" and "OneDriveCommercial" in found.evidence


def test_outermost_folder_name_wins():
    found = find_sync_root("/home/ann/Dropbox/backup/OneDrive/a", {}, windows=False)
    assert found.service == "dropbox" and found.root == "/home/ann/Dropbox"


def test_plain_paths_are_not_synced():
    assert find_sync_root(r"C:\Users\Ann\Videos\a.srt", {}, windows=True) is None
    assert find_sync_root("/home/ann/Videos/a.srt", {}, windows=False) is None
    assert find_sync_root(r"D:\Team\Shared drives\a", {}, windows=True) is None  # only at a drive root
