"""`hookyard new-plugin KIND NAME`: scaffold a plugin distribution that installs and passes its
kind's contract suite at once, so an author starts from working code rather than a blank page."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from engine.atomic import atomic_folder
from engine.cli.templates import TEMPLATES, KindTemplate
from engine.entrypoints import canonical
from engine.errors import OptionError
from engine.names import is_valid, normalize

DISTRIBUTION = re.compile(r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$", re.IGNORECASE)

EPILOG = """\
examples:
  hookyard new-plugin solver acme-greedy
  hookyard new-plugin source acme-jsonl --dist acme-hookyard-sources --into ~/src
  cd hookyard-acme-greedy && pip install -e '.[test]' && pytest
"""


def add_parser(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = sub.add_parser(
        "new-plugin", parents=[common], help="scaffold a plugin distribution",
        description="Write a new plugin distribution: a src layout, pyproject.toml with the 'hookyard'\n"
        "entry point and a hookyard requirement range, the registration, a working plugin whose typed\n"
        "keyword arguments are its options, a README, and a test module running the kind's\n"
        "engine.testing contract suite. `pip install -e .` and `pytest` in it pass as written.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", choices=list(TEMPLATES), metavar="KIND",
                        help=f"the plugin's kind: {', '.join(TEMPLATES)}")
    parser.add_argument("name", metavar="NAME", help="the plugin's name, as pipelines and engine.get will ask for it")
    parser.add_argument("--dist", metavar="DISTRIBUTION", help="the distribution's name (default: hookyard-NAME)")
    parser.add_argument("--into", metavar="DIR", default=".",
                        help="the folder to create the project's folder in (default: the current one)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    project = scaffold(args.kind, args.name, dist=args.dist, into=args.into)
    if not args.quiet:
        files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
        print(f"created {project} ({args.kind} plugin '{normalize(args.name)}'):")
        print("".join(f"  {f}\n" for f in files), end="")
        print(f"next: cd {project} && pip install -e '.[test]' && pytest")
    return 0


def scaffold(kind: str, name: str, *, dist: str | None = None, into: str | os.PathLike[str] = ".") -> Path:
    """Write the project for a `kind` plugin called `name` into `into`/DISTRIBUTION and return that
    folder. It appears whole or not at all; an existing folder is never written into."""
    files = project_files(kind, name, dist)
    root = Path(into)
    target = root / files.pop("")
    if target.exists():
        raise OptionError(f"{target} already exists; choose another --into folder or --dist name")
    with atomic_folder(target) as staging:
        for relative, text in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    return target


def project_files(kind: str, name: str, dist: str | None = None) -> dict[str, str]:
    """Every file of the project by relative path; the key "" holds the project folder's name."""
    from engine import __version__
    from engine.kinds import KINDS

    template = TEMPLATES.get(normalize(kind))
    if template is None:
        raise OptionError(f"no scaffold for kind {kind!r}; the kinds are {', '.join(TEMPLATES)}")
    plugin = normalize(name)
    if not is_valid(plugin):
        raise OptionError(f"plugin name {name!r} is not valid: use letters, digits, '.', '+' and '-', "
                          "starting with a letter or digit")
    dist = dist or f"hookyard-{plugin}"
    if not DISTRIBUTION.match(dist):
        raise OptionError(f"distribution name {dist!r} is not valid: use letters, digits, '.', '_' and '-'")
    package = re.sub(r"[^a-z0-9]+", "_", canonical(dist)).strip("_")
    if not package.isidentifier():
        raise OptionError(f"distribution {dist!r} gives the package name {package!r}, which Python cannot "
                          "import; give --dist a name starting with a letter")
    words = "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", plugin) if part)
    prefix = words if words[:1].isalpha() else f"Plugin{words}"
    names = {"kind": template.kind, "plugin": plugin, "dist": dist, "package": package,
             "cls": prefix + template.suffix, "hook": KINDS[template.kind].hook,
             "requirement": requirement(__version__)}
    return {
        "": dist,
        "pyproject.toml": PYPROJECT.format(t=template, **names),
        "README.md": README.format(t=template, **names),
        f"src/{package}/__init__.py": registration(template, names),
        f"src/{package}/{template.kind}.py": _rename(template.plugin_source(), prefix, plugin),
        "tests/test_contract.py": _rename(template.test_source(), prefix, plugin),
    }


def requirement(version: str) -> str:
    """The range of hookyard versions a plugin built against `version` should accept: the same minor
    series before 1.0 (where minor versions may change the plugin API), the same major one after."""
    found = re.match(r"(\d+)\.(\d+)", version)
    if found is None:
        return "hookyard"
    major, minor = int(found[1]), int(found[2])
    upper = f"{major + 1}" if major else f"0.{minor + 1}"
    return f"hookyard>={major}.{minor},<{upper}"


def registration(template: KindTemplate, names: dict[str, str]) -> str:
    """The package's `__init__.py`: the entry point, holding the registration alone."""
    return REGISTRATION.format(
        t=template, **names, requires=_tuple(template.requires), capabilities=_tuple(template.capabilities))


def _tuple(values: tuple[str, ...]) -> str:
    """A tuple of strings as source text, in double quotes."""
    items = ", ".join(f'"{v}"' for v in values)
    return f"({items},)" if len(values) == 1 else f"({items})"


def _rename(source: str, prefix: str, plugin: str) -> str:
    return re.sub(r"Example(?=[A-Z])", prefix, source).replace('"example"', f'"{plugin}"')


REGISTRATION = '''\
"""{dist}: the Hookyard {kind} plugin '{plugin}'.

This module is the distribution's entry point, imported whenever plugins are listed: keep it
light. The plugin's own module is imported only when '{plugin}' is asked for by name.
"""

from __future__ import annotations

from engine import Registration, hookimpl


@hookimpl
def {hook}() -> list[Registration]:
    return [
        Registration(
            kind="{kind}",
            name="{plugin}",
            factory="{package}.{kind}:{cls}",
            summary="{t.summary}",
            requires={requires},
            capabilities={capabilities},
        )
    ]
'''

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{dist}"
version = "0.1.0"
description = "A Hookyard {kind} plugin: {t.summary}."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["{requirement}"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points.hookyard]
{plugin} = "{package}"

[tool.setuptools.packages.find]
where = ["src"]

[tool.pytest.ini_options]
testpaths = ["tests"]
addopts = "-ra"
filterwarnings = ["error::engine.PluginLoadWarning"]
'''

README = '''\
# {dist}

A [Hookyard](https://pypi.org/project/hookyard/) {kind} plugin, `{plugin}`: {t.summary}.

## Use

```sh
pip install -e .                # or: pip install {dist}
hookyard plugins --kind {kind}  # lists '{plugin}'
hookyard show {kind} {plugin}   # its options
```

In Python, `engine.get("{kind}", "{plugin}", ...)`; in a pipeline file, a step with
`kind = "{kind}"` and `name = "{plugin}"`.

## Develop

```sh
pip install -e '.[test]'
pytest                          # the {kind} contract suite of engine.testing
hookyard plugins --check        # imports every plugin's factory, this one's included
```

- `src/{package}/__init__.py` is the registration and the entry point: it is imported whenever
  plugins are listed, so import nothing heavy there.
- `src/{package}/{kind}.py` is the plugin. The keyword arguments of `{cls}`, with their type
  hints and defaults, are its options: the engine checks them before anything runs.
- `tests/test_contract.py` runs the contract suite; its class attributes (or the `plugin_options`
  fixture) say how to build the plugin for it. A capability the registration does not declare is
  skipped with its reason; declare one only when the plugin keeps its promise (PLUGINS.md lists them).
- {t.advice}

Heavy requirements belong behind an extra: add it under `[project.optional-dependencies]`, name
its import names in the registration's `requires` and the extra in its `extra`.

This project depends on `{requirement}`: before 1.0 a minor version of hookyard may change the
plugin API, so widen the range once the suite passes against a newer one.
'''
