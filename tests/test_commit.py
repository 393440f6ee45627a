"""A run's outputs commit whole (`engine.commit`): staged beside their targets, journalled, renamed
together; a process killed at any step of that leaves the old outputs or the new ones, and the next
commit in the folder finishes or removes what it left, with no stray file after."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from engine import commit
from engine.atomic import atomic_folder, atomic_path, marked_folder
from engine.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
OLD = {"a/x.txt": "old x", "a/report/r.txt": "old report", "b/y.txt": "old y"}
NEW = {"a/x.txt": "new x", "a/report/r.txt": "new report", "b/y.txt": "new y"}

WRITER = textwrap.dedent('''
    """Write NEW under the folder given, through engine.atomic in one commit, and SIGKILL this process
    just before that many filesystem changes of the commit are done; then the repository root, and
    "rename" to replace a folder in two renames, as where the system cannot swap two paths."""
    import os, signal, sys

    from engine import commit

    os.chdir(sys.argv[1])
    limit = int(sys.argv[2])
    if sys.argv[4] == "rename":
        commit._exchange = lambda a, b: False
    done = [0]
    committing = [False]

    def counted(function):
        def call(*args, **kwargs):
            if committing[0]:
                if done[0] == limit:
                    os.kill(os.getpid(), signal.SIGKILL)
                done[0] += 1
            return function(*args, **kwargs)
        return call

    os.replace, os.unlink, os.rmdir = counted(os.replace), counted(os.unlink), counted(os.rmdir)
    commit._exchange = counted(commit._exchange)
    real_commit = commit.Commit.commit

    def commit_counted(self):
        committing[0] = True
        real_commit(self)

    commit.Commit.commit = commit_counted
    sys.path.insert(0, sys.argv[3])
    from tests.test_commit import write_new

    with commit.outputs():
        write_new()
    print("done")
''')


def write_new() -> None:
    """Write NEW through engine.atomic, in the folder this process runs in."""
    with atomic_path("a/x.txt") as tmp:
        tmp.write_text("new x")
    with atomic_folder("a/report") as folder:
        (folder / "r.txt").write_text("new report")
    with atomic_path("b/y.txt") as tmp:
        tmp.write_text("new y")


def write_tree(root: Path, contents: dict[str, str]) -> None:
    for name, text in contents.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def tree(root: Path) -> dict[str, str]:
    """Every file under `root`, hidden ones included, with its text."""
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_outputs_move_into_place_together_only_when_the_block_succeeds(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    write_tree(tmp_path, OLD)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match="late"), commit.outputs():
        with atomic_path("a/x.txt") as tmp:
            tmp.write_text("new x")
        with atomic_folder("a/report") as folder:
            (folder / "r.txt").write_text("new report")
        assert tree(tmp_path)["a/x.txt"] == "old x"
        raise RuntimeError("late")
    assert tree(tmp_path) == OLD
    with commit.outputs():
        write_new()
        assert tree(tmp_path)["b/y.txt"] == "old y"
    assert tree(tmp_path) == NEW


def test_a_failed_write_inside_a_run_drops_only_its_own_output(tmp_path: Path) -> None:
    with commit.outputs():
        with atomic_path(tmp_path / "kept.txt") as tmp:
            tmp.write_text("kept")
        with pytest.raises(ValueError), atomic_path(tmp_path / "dropped.txt") as tmp:
            tmp.write_text("half")
            raise ValueError("midway")
    assert tree(tmp_path) == {"kept.txt": "kept"}


def test_two_outputs_of_one_run_cannot_share_a_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="two outputs of this run"), commit.outputs():
        for _ in range(2):
            with atomic_path(tmp_path / "same.parquet") as tmp:
                tmp.write_text("x")
    assert tree(tmp_path) == {}


@pytest.mark.parametrize("path", ["a\0b.txt"])
def test_a_nul_byte_in_an_output_path_is_a_clear_error(tmp_path: Path, path: str) -> None:
    with pytest.raises(ConfigError, match="NUL"), atomic_path(str(tmp_path / path)):
        pass


def test_a_second_run_writing_in_a_locked_folder_fails_naming_the_first(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom engine import commit\nfrom engine.atomic import atomic_path\n"
         "with commit.outputs(), atomic_path(sys.argv[1]) as tmp:\n    print('holding', flush=True)\n"
         "    sys.stdin.readline()\n", str(tmp_path / "plan.parquet")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(ConfigError, match=rf"another Hookyard run \(pid {holder.pid}, commit [0-9a-f]+\) is "
                           "writing outputs in"), commit.outputs(tmp_path):
            pass
    finally:
        holder.communicate("\n", timeout=60)
    assert holder.returncode == 0
    assert tree(tmp_path) == {"plan.parquet": ""}


@pytest.mark.parametrize("swap", ["exchange", "rename"])
def test_a_kill_at_any_step_of_a_commit_leaves_old_or_new_and_the_next_commit_finishes_it(tmp_path: Path,
                                                                                          swap: str) -> None:
    """The writer counts the filesystem changes of its commit and is killed before the k-th, for every
    k until it finishes: the journals come first (the home's, in `a`, second), then the renames."""
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    outcomes = []
    for k in range(40):
        root = tmp_path / f"kill-{k}"
        write_tree(root, OLD)
        ran = subprocess.run([sys.executable, str(script), str(root), str(k), str(ROOT), swap],
                             capture_output=True, text=True, timeout=120)
        if ran.returncode == 0:
            assert ran.stdout.strip() == "done" and tree(root) == NEW
            break
        assert ran.returncode == -9, ran.stderr
        visible = {name: text for name, text in tree(root).items() if not Path(name).parts[-1].startswith(".")
                   and not any(part.startswith(".") for part in Path(name).parts)}
        for name, text in visible.items():
            assert text in (OLD[name], NEW[name]), f"kill {k}: {name} is neither old nor new"
        left = [n for d in ("a", "b") for n in os.listdir(root / d) if commit.LEFTOVER.match(n) or commit.JOURNAL.match(n)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with commit.outputs(root / "a", root / "b"):
                pass
        expected = OLD if k < 2 else NEW
        assert tree(root) == expected, f"kill {k}"
        assert bool(caught) == bool(left), f"kill {k}: left {left}, said {[str(w.message) for w in caught]}"
        outcomes.append(expected is NEW)
    else:
        pytest.fail("the writer never finished")
    assert outcomes[:2] == [False, False] and all(outcomes[2:]) and len(outcomes) >= 8


def test_leftovers_of_a_run_killed_while_writing_are_removed_and_named(tmp_path: Path) -> None:
    write_tree(tmp_path, OLD)
    (tmp_path / "a" / ".x.txt.hookyard-0123456789ab.stage").write_text("half")
    (tmp_path / "a" / ".report.hookyard-0123456789ab.stage").mkdir()
    (tmp_path / "a" / ".hookyard-commit-0123456789ab.json.tmp").write_text("{")
    (tmp_path / "a" / ".mine.txt").write_text("a user's hidden file")
    with pytest.warns(commit.RecoveryWarning, match=r"removed 2 unfinished output\(s\).*report, x.txt"):
        with commit.outputs(tmp_path / "a"):
            pass
    assert tree(tmp_path) == {**OLD, "a/.mine.txt": "a user's hidden file"}


def test_a_journal_hookyard_did_not_write_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / ".hookyard-commit-0123456789ab.json").write_text(
        '{"commit": "0123456789ab", "home": "/", "outputs": [{"target": "/etc/passwd", "staged": "/etc/passwd", '
        '"folder": false, "inode": 1}]}')
    with pytest.raises(ConfigError, match="names outputs Hookyard does not stage"), commit.outputs(tmp_path):
        pass
    assert (tmp_path / ".hookyard-commit-0123456789ab.json").exists()


def test_a_marked_folder_replaces_only_its_own_kind(tmp_path: Path) -> None:
    with marked_folder(tmp_path / "report", "report") as fresh:
        (fresh / "report.json").write_text("{}")
    with marked_folder(tmp_path / "report", "report") as fresh:
        (fresh / "report.json").write_text("{} ")
    assert tree(tmp_path / "report")["report.json"] == "{} "
    with pytest.raises(ConfigError, match="not a Hookyard sweep"), marked_folder(tmp_path / "report", "sweep"):
        pass
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "report.json").write_text("{}")
    (tmp_path / "notes" / "important.csv").write_text("keep")
    with pytest.raises(ConfigError, match="not a Hookyard report"), marked_folder(tmp_path / "notes", "report"):
        pass
    assert tree(tmp_path / "notes") == {"report.json": "{}", "important.csv": "keep"}


def test_a_lock_is_released_with_its_commit(tmp_path: Path) -> None:
    for text in ("1", "2", "3"):
        with commit.outputs(tmp_path), atomic_path(tmp_path / "x") as tmp:
            assert (tmp_path / commit.LOCK).exists()
            tmp.write_text(text)
    assert tree(tmp_path) == {"x": "3"}


def test_a_report_from_before_markers_is_replaced_but_not_one_with_other_files(tmp_path: Path) -> None:
    from engine.report import UNMARKED, check_target

    old = tmp_path / "report"
    write_tree(old, dict.fromkeys(UNMARKED, "old"))
    assert check_target(old) == old
    (old / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a Hookyard report"):
        check_target(old)
