"""What git says about the project: the commit a deploy comes from, and whether it is clean."""

from __future__ import annotations

from pathlib import Path

import git


def head_sha(root: Path) -> str | None:
    """HEAD's SHA, with `-dirty` when tracked manifests have uncommitted changes; None outside git."""
    try:
        repo = git.Repo(root, search_parent_directories=True)
        sha = repo.head.commit.hexsha
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, ValueError):
        return None
    return f"{sha}-dirty" if is_dirty(repo, root) else sha


def is_dirty(repo: git.Repo, root: Path) -> bool:
    """Uncommitted changes (staged, unstaged or untracked) under the project's manifest folders."""
    top = Path(repo.working_tree_dir)
    paths = [str((root / p).resolve().relative_to(top.resolve()))
             for p in ("twideploy.yaml", "environments", "flows", "functions") if (root / p).exists()]
    if not paths:
        return False
    return bool(repo.git.status("--porcelain", "--untracked-files=all", "--", *paths).strip())
