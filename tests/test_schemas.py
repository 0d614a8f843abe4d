"""The shipped JSON Schemas agree with the loaders: every real sidecar and manifest validates, and on tricky
files (accepted and refused) the schema and plan/sidecar.py or plan/docset.py give the same answer."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from doctest_runner.model import DoctestError
from doctest_runner.plan.docset import MANIFEST_NAME, load_manifest
from doctest_runner.plan.sidecar import SIDECAR_SUFFIX, load_sidecar, parse_sidecar
from doctest_runner.schemas import SCHEMAS, load_schema, schema_path

jsonschema = pytest.importorskip("jsonschema")

REPO = Path(__file__).resolve().parents[1]
SIDECARS = sorted((REPO / "docs_under_test").rglob("*" + SIDECAR_SUFFIX))
MANIFESTS = sorted((REPO / "docs_under_test").rglob(MANIFEST_NAME))


def as_json(value: Any) -> Any:
    """A YAML value as an editor's JSON view of it: mapping keys are strings."""
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value


def schema_errors(kind: str, text: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(load_schema(kind))
    return [e.message for e in validator.iter_errors(as_json(yaml.safe_load(text)))]


def test_the_schemas_are_valid_draft_2020_12_and_shipped_in_the_package():
    for name, filename in SCHEMAS.items():
        schema = load_schema(name)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema_path(name).name == filename
        assert schema_path(name).parent == REPO / "doctest_runner" / "schemas"


def test_there_are_real_files_to_check():
    assert len(SIDECARS) >= 10 and len(MANIFESTS) >= 1


@pytest.mark.parametrize("path", SIDECARS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_sidecar_in_docs_under_test_validates(path):
    load_sidecar(path, root=REPO)  # the loader accepts it: then the schema must too
    assert schema_errors("sidecar", path.read_text()) == []


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_manifest_in_docs_under_test_validates(path):
    load_manifest(path, str(path.parent))
    assert schema_errors("docset", path.read_text()) == []


def test_every_sidecar_the_loader_accepts_in_the_test_data_validates():
    checked = 0
    for path in sorted((REPO / "tests" / "data").rglob("*" + SIDECAR_SUFFIX)):
        try:
            load_sidecar(path, root=REPO)
        except DoctestError:
            continue
        assert schema_errors("sidecar", path.read_text()) == [], path
        checked += 1
    assert checked >= 3


# --- sidecars: the loader and the schema agree -----------------------------------------------------------------

def loader_accepts_sidecar(text: str, folder: Path) -> bool:
    try:
        parse_sidecar(text, folder / "g.doctest.yaml", tree_root=folder)
    except DoctestError:
        return False
    return True


GOOD_SIDECARS = {
    "empty": "",
    "every top-level key": """\
        doc: g.md
        image: debian-12
        vars: {VERSION: 3.10, kata-dir: /opt/kata, FLAG: true}
        setup: sudo apt-get update
        cleanup: [rm -rf /tmp/x, echo done]
        checks: []
        check_modules: []
        steps: []
        """,
    "checks with every kind": """\
        checks:
          - package: curl
          - service: ssh
            running: true
            enabled: false
          - file: /etc/x
            contains: 42
            mode: 0644
          - file: /etc/y
            mode: "0o600"
          - port: 22
            listening: true
          - command: id -u
            exit: "0"
            stdout_contains: 0
            user: root
        """,
    "rules of every shape": """\
        steps:
          - line: "12"
            expect-exit: 2
            timeout: 10m
          - heading: A > B
            requires: kvm,network
            name: the-step
          - heading: [A, B]
            skip: true
            reason: 42
          - command: apt-get
            output: ignore
            pty: true
            reboot: false
            user: tester
          - command_re: '^curl .*\\| sh$'
            timeout: 90
            platform: any
          - name: the-step
            skip: false
          - alternative: Fedora
            platform: macos
          - alternative: Debian
            name: picked
            skip: false
          - insert: after
            line: 57
            name: unpack
            reason: the guide says it in words
            command: |
              tar -xzf x.tar.gz
        """,
}

BAD_SIDECARS = {
    "unknown top-level key": "doc: g.md\nimgae: debian-12\n",
    "vars as a list": "vars: [A, B]\n",
    "var name with a space": "vars: {'MY VAR': 1}\n",
    "null var value": "vars: {A: null}\n",
    "image that is a path": "image: ../vm_images/evil.yaml\n",
    "image with capitals": "image: Debian-12\n",
    "setup as a number": "setup: 42\n",
    "empty cleanup": "cleanup: '  '\n",
    "check with two kinds": "checks:\n  - package: curl\n    service: ssh\n",
    "check without a kind": "checks:\n  - running: true\n",
    "check option of another kind": "checks:\n  - package: curl\n    running: true\n",
    "check exit over 255": "checks:\n  - command: 'true'\n    exit: 256\n",
    "check flag as a string": "checks:\n  - service: ssh\n    running: 'yes please'\n",
    "check file mode not octal": "checks:\n  - file: /x\n    mode: '0999'\n",
    "fixture without dest": "fixtures:\n  - src: data\n",
    "fixture with an unknown key": "fixtures:\n  - src: g.md\n    dest: /x\n    mode: 1\n",
    "relative fixture dest": "fixtures:\n  - src: g.md\n    dest: tmp/x\n",
    "rule without a selector": "steps:\n  - skip: true\n",
    "rule that sets nothing": "steps:\n  - line: 3\n",
    "name selector that sets nothing": "steps:\n  - name: x\n",
    "two selectors that set nothing": "steps:\n  - line: 3\n    heading: A\n",
    "unknown rule key": "steps:\n  - line: 3\n    skpi: true\n",
    "output mode not in the enum": "steps:\n  - line: 3\n    output: strict\n",
    "timeout as a float": "steps:\n  - line: 3\n    timeout: 1.5\n",
    "timeout zero": "steps:\n  - line: 3\n    timeout: 0\n",
    "timeout in days": "steps:\n  - line: 3\n    timeout: 2d\n",
    "expect-exit over 255": "steps:\n  - line: 3\n    expect-exit: 300\n",
    "expect-exit negative string": "steps:\n  - line: 3\n    expect-exit: '-5'\n",
    "line zero": "steps:\n  - line: 0\n    skip: true\n",
    "line as a superscript digit": "steps:\n  - line: '\u00b2'\n    skip: true\n",  # was a traceback
    "line with two minus signs": "steps:\n  - line: '--5'\n    skip: true\n",  # was a traceback
    "skip as a string": "steps:\n  - line: 3\n    skip: 'no'\n",
    "user as a number": "steps:\n  - line: 3\n    user: 1000\n",
    "heading with an empty title": "steps:\n  - heading: 'A > '\n    skip: true\n",
    "command_re too long": "steps:\n  - command_re: '" + "a" * 2001 + "'\n    skip: true\n",
    "insert where": "steps:\n  - insert: instead\n    line: 3\n    command: ls\n",
    "insert without command": "steps:\n  - insert: after\n    line: 3\n",
    "insert with a heading": "steps:\n  - insert: after\n    line: 3\n    command: ls\n    heading: A\n",
    "a list, not a mapping": "- doc: g.md\n",
}


# --- doc-set manifests ------------------------------------------------------------------------------------------

def loader_accepts_manifest(text: str, folder: Path) -> bool:
    (folder / MANIFEST_NAME).write_text(text)
    try:
        load_manifest(folder / MANIFEST_NAME, str(folder))
    except DoctestError:
        return False
    return True


GOOD_MANIFESTS = {
    "empty": "",
    "git source pinned to a commit": """\
        name: kata
        source:
          git: https://github.com/kata-containers/kata-containers
          ref: 7c6ba40c54ea29b459b4997cff948caaba4e658b
        image: debian-12
        explicit: true
        docs: [docs/how-to/*.md, "**/README.md"]
        """,
    "scp-like git URL and a tag": "name: 2024\nsource: {git: 'git@github.com:org/repo.git', ref: v1.2.3}\n",
    "ssh URL with a port and a branch": "source: {git: 'ssh://git@example.com:2222/org/repo', ref: release/3.x}\n",
    "numeric ref": "source: {git: 'https://example.com/r', ref: 2024}\n",
    "local folder source": "source: {path: upstream}\n",
}

BAD_MANIFESTS = {
    "unknown key": "name: s\nimages: debian-12\n",
    "explicit as a string": "explicit: 'true'\n",
    "source with path and git": "source: {path: upstream, git: 'https://example.com/r'}\n",
    "source with neither": "source: {ref: main}\n",
    "ref next to path": "source: {path: upstream, ref: main}\n",
    "http URL": "source: {git: 'http://example.com/r'}\n",
    "ext transport": "source: {git: 'ext::sh -c touch% /tmp/pwned'}\n",
    "URL without a path": "source: {git: 'https://example.com/'}\n",
    "option-like URL": "source: {git: '--upload-pack=touch /tmp/x'}\n",
    "scp-like URL with an option path": "source: {git: 'git@example.com:-oProxyCommand=x'}\n",
    "ref with ..": "source: {git: 'https://example.com/r', ref: 'a..b'}\n",
    "ref starting with -": "source: {git: 'https://example.com/r', ref: '-delete'}\n",
    "ref ending in .lock": "source: {git: 'https://example.com/r', ref: main.lock}\n",
    "ref with a space": "source: {git: 'https://example.com/r', ref: 'my branch'}\n",
    "absolute docs glob": "docs: [/etc/*.md]\n",
    "docs glob leaving the source": "docs: [docs/../../*.md]\n",
    "docs as a string": "docs: docs/*.md\n",
    "image that is a path": "image: /tmp/x.yaml\n",
}


# --- the loader and the schema agree --------------------------------------------------------------------------

AGREEMENT = [
    pytest.param(kind, textwrap.dedent(text), good, id=f"{kind}, {'accepted' if good else 'refused'}: {name}")
    for kind, good, table in (("sidecar", True, GOOD_SIDECARS), ("sidecar", False, BAD_SIDECARS),
                              ("docset", True, GOOD_MANIFESTS), ("docset", False, BAD_MANIFESTS))
    for name, text in table.items()
]


@pytest.mark.parametrize("kind,text,good", AGREEMENT)
def test_loader_and_schema_agree(kind, text, good, tmp_path):
    """What the loader accepts the schema accepts, and what it refuses the schema refuses."""
    if kind == "sidecar":
        (tmp_path / "g.md").write_text("# G\n")
        accepted = loader_accepts_sidecar(text, tmp_path)
    else:
        (tmp_path / "upstream").mkdir()
        accepted = loader_accepts_manifest(text, tmp_path)
    assert accepted is good
    assert (schema_errors(kind, text) == []) is good
