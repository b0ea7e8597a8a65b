"""What git says about the project: the commit a deploy comes from, whether it is clean,
deploy tags, and the manifests as they were at another commit (for `promote --ref`).

Everything goes through gitpython; the working tree is never checked out or changed
(tags are the only thing written, and only when asked for with `--tag`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import git

from twideploy.errors import GitError

#: What a project is made of, relative to its root: what `-dirty` and `--ref` look at.
MANIFEST_PATHS = ("twideploy.yaml", "environments", "flows", "functions")
TAG_PREFIX = "twideploy"


def _repo(root: Path) -> git.Repo | None:
    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def _require_repo(root: Path, option: str) -> git.Repo:
    repo = _repo(root)
    if repo is None:
        raise GitError(f"{option} needs a git repository; {root} is not in one")
    return repo


def _work_tree(repo: git.Repo) -> Path:
    """The repository's top folder (a bare repository has none, so holds no project)."""
    if repo.working_tree_dir is None:
        raise GitError(f"{repo.git_dir} is a bare git repository: it has no working tree")
    return Path(repo.working_tree_dir).resolve()


def head_sha(root: Path) -> str | None:
    """HEAD's SHA, with `-dirty` when tracked manifests have uncommitted changes; None outside git."""
    repo = _repo(root)
    if repo is None:
        return None
    try:
        sha = repo.head.commit.hexsha
    except ValueError:  # a repository without commits
        return None
    return f"{sha}-dirty" if is_dirty(repo, root) else sha


def _manifest_paths(repo: git.Repo, root: Path) -> list[str]:
    top = _work_tree(repo)
    return [(Path(root).resolve() / p).relative_to(top).as_posix()
            for p in MANIFEST_PATHS if (Path(root) / p).exists()]


def is_dirty(repo: git.Repo, root: Path) -> bool:
    """Uncommitted changes (staged, unstaged or untracked) under the project's manifest folders."""
    return bool(dirty_paths(repo, root))


def dirty_paths(repo: git.Repo, root: Path) -> list[str]:
    """The manifest files with uncommitted changes (staged, unstaged or untracked)."""
    paths = _manifest_paths(repo, root)
    if not paths:
        return []

    def under(f: str) -> bool:
        return any(f == p or f.startswith(p + "/") for p in paths)

    changed: set[str | None] = {d.a_path for d in repo.index.diff(None)}
    changed |= {d.b_path or d.a_path for d in repo.index.diff(None)}
    try:
        changed |= {d.a_path for d in repo.index.diff("HEAD")}
    except git.BadName:  # no commit yet: everything staged is new
        changed |= {os.fspath(path) for path, _ in repo.index.entries}
    changed |= set(repo.untracked_files)
    return sorted(f for f in changed if f and under(f))


def in_ci() -> bool:
    """Running under CI: `CI=true` or `GITHUB_ACTIONS=true` (as GitHub Actions and most CIs set)."""
    return any(os.environ.get(name, "").lower() in ("true", "1") for name in ("CI", "GITHUB_ACTIONS"))


def deploy_sha(root: Path, *, allow_dirty: bool) -> str | None:
    """The SHA a deploy records (`-dirty` with uncommitted manifest changes).

    Under CI a dirty tree is refused unless `allow_dirty`: what CI deploys must be a commit
    that can be found again. Outside git: None (nothing to record, nothing to refuse).
    """
    sha = head_sha(root)
    if sha and sha.endswith("-dirty") and in_ci() and not allow_dirty:
        repo = _repo(root)
        files = dirty_paths(repo, root) if repo else []
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        raise GitError(f"refusing to deploy uncommitted manifest changes under CI ({shown or 'working tree'}); "
                       f"commit them, or pass --allow-dirty to deploy them anyway as {sha[:12]}...-dirty")
    return sha


# --------------------------------------------------------------------------- tags


def deploy_tag_name(environment: str, deploy_id: str) -> str:
    return f"{TAG_PREFIX}/{environment}/{deploy_id}"


def create_deploy_tag(root: Path, environment: str, deploy_id: str, sha: str | None = None) -> str:
    """Tag the commit a deploy came from (HEAD, or `sha`) as `twideploy/<env>/<deploy-id>`."""
    repo = _require_repo(root, "--tag")
    name = deploy_tag_name(environment, deploy_id)
    commit = (sha or "HEAD").removesuffix("-dirty")
    try:
        repo.create_tag(name, ref=commit)
    except (git.GitCommandError, ValueError, git.BadName) as error:
        raise GitError(f"could not create tag {name}: {error}") from error
    return name


def deploy_tags(root: Path, environment: str) -> dict[str, str]:
    """deploy id -> tag name, for the tags `--tag` made for this environment."""
    repo = _repo(root)
    if repo is None:
        return {}
    prefix = f"{TAG_PREFIX}/{environment}/"
    return {tag.name[len(prefix):]: tag.name for tag in repo.tags if tag.name.startswith(prefix)}


# --------------------------------------------------------------------------- another commit


def earlier_content(file: Path, sha256: str, *, depth: int = 50) -> bytes | None:
    """What `file` held at one of its last `depth` commits if that content's sha256 is `sha256`:
    a previous local copy of what is deployed (Twilio serves no asset content); None if there is none."""
    repo = _repo(file.parent)
    if repo is None or repo.working_tree_dir is None:
        return None
    try:
        path = file.resolve().relative_to(_work_tree(repo)).as_posix()
        for commit in repo.iter_commits(paths=path, max_count=depth):
            try:
                blob = commit.tree / path
            except KeyError:  # the commit deleted it
                continue
            data = blob.data_stream.read()
            if hashlib.sha256(data).hexdigest() == sha256:
                return bytes(data)
    except (ValueError, git.GitCommandError):  # a repository without commits, a file outside it
        return None
    return None


def resolve_ref(root: Path, ref: str) -> str:
    """The commit SHA a tag, branch or (abbreviated) SHA names."""
    repo = _require_repo(root, "--ref")
    try:
        return repo.commit(ref).hexsha
    except (git.BadName, git.BadObject, ValueError, git.GitCommandError) as error:
        raise GitError(f"unknown git ref {ref!r}: not a tag, branch or commit of {repo.working_tree_dir}") from error


def extract_manifests(root: Path, ref: str, dest: Path) -> str:
    """Write the project's manifests as they were at `ref` into `dest` (no checkout).

    The project may live in a sub-folder of the repository; its path inside the repository
    is the same at `ref`. Returns the commit SHA.
    """
    sha = resolve_ref(root, ref)
    repo = _require_repo(root, "--ref")
    commit = repo.commit(sha)
    prefix = Path(root).resolve().relative_to(_work_tree(repo)).as_posix()
    base = commit.tree
    if prefix not in ("", "."):
        try:
            folder = commit.tree / prefix
        except KeyError as error:
            raise GitError(f"{prefix}/ does not exist at {ref} ({sha[:12]})") from error
        if not isinstance(folder, git.Tree):
            raise GitError(f"{prefix} is not a folder at {ref} ({sha[:12]})")
        base = folder
    found = False
    for name in MANIFEST_PATHS:
        try:
            item = base / name
        except KeyError:
            continue
        found = True
        if isinstance(item, git.Blob):
            items = [item]
        elif isinstance(item, git.Tree):
            items = [b for b in item.traverse() if isinstance(b, git.Blob)]
        else:  # a submodule: not part of the project's files
            continue
        for blob in items:
            if blob.mode == 0o120000:  # a symlink: not a manifest
                continue
            relative = Path(blob.path).relative_to(Path(base.path)) if base.path else Path(blob.path)
            target = dest / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blob.data_stream.read())
    if not found or not (dest / "twideploy.yaml").exists():
        raise GitError(f"no twideploy project (twideploy.yaml) at {ref} ({sha[:12]})")
    return sha
