"""The student notebooks are stubs (their functions raise NotImplementedError), so nbval must not
run them: `make test` would fail by design. tests/test_homework.py runs them up to the stubs and
checks that each checker fails there with a clear message."""

collect_ignore_glob = ["*.ipynb"]
