"""The course's thread policy: one torch thread per process unless COURSE_THREADS says otherwise."""

import os
import subprocess
import sys

import pytest
import torch

from course_lib import threads


def _threads_after_import(value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("COURSE_THREADS", "OMP_NUM_THREADS")}
    if value is not None:
        env["COURSE_THREADS"] = value
    code = "import torch; torch.set_num_threads(2); import course_lib; "
    code += "print(torch.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return out.stdout.strip() or out.stderr.strip().splitlines()[-1]


def test_import_sets_one_thread_by_default():
    assert _threads_after_import(None) == "1"


def test_env_overrides_the_count_or_leaves_torch_alone():
    assert _threads_after_import("2") == "2"
    assert _threads_after_import("torch") == "2"  # the 2 set before the import is kept


def test_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("COURSE_THREADS", "many")
    with pytest.raises(ValueError, match="COURSE_THREADS='many'"):
        threads.configure()
    monkeypatch.setenv("COURSE_THREADS", "0")
    with pytest.raises(ValueError, match="positive integer"):
        threads.requested()


def test_configure_restores_the_policy(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("COURSE_THREADS", raising=False)
        torch.set_num_threads(2)
        assert threads.configure() == 1
    finally:
        torch.set_num_threads(before)
