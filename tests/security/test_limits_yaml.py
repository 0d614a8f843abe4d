"""Issue #11 items 6 and 7: YAML depth and alias-expansion limits; no YAML value repr'd whole.

A billion-laughs alias bomb in a check's `mode:` took more than 6 GB (its value was repr'd into the
error message); a sidecar nested 500 levels deep was a RecursionError. Both are now one-line
errors found while composing. The CLI runs in a fresh process under a 1 GiB address-space limit,
so a blow-up would fail it with MemoryError instead of taking the machine.
"""

from __future__ import annotations

import pytest
from bounded import run_bounded
from untrusted import assert_one_line_error, put

from doctest_runner.model import DoctestError
from doctest_runner.plan import load_sidecar
from doctest_runner.plan.yamlnodes import MAX_DEPTH, MAX_EXPANDED_NODES, MAX_NODES, compose, excerpt

GUIDE = "# Guide\n\n```bash\nls\n```\n"


def _bomb(levels: int = 9) -> str:
    lines = ['x0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"x{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _limited(*args, cwd):
    return run_bounded("list", *args, cwd=cwd)


def test_alias_bomb_in_a_check_mode(tmp_path):
    # the anchors live under `checks:` items' own keys, so the sidecar is otherwise valid
    sidecar = "checks:\n  - file: /etc/hosts\n    mode: *l9\n"
    put(tmp_path, "guide.md", GUIDE)
    (tmp_path / "guide.doctest.yaml").write_text(_bomb() + sidecar)
    put(tmp_path, "other.md", "# Other\n\n```bash\necho other\n```\n")
    result = _limited("guide.md", "other.md", cwd=tmp_path)
    line = assert_one_line_error(result, code=1)
    assert line == f"guide.doctest.yaml:6: YAML aliases expand to more than {MAX_EXPANDED_NODES} nodes"
    assert "echo other" in result.out


def test_sidecar_nested_500_levels(tmp_path):
    nested = "steps:\n" + "".join("  " * (i + 1) + "- x:\n" for i in range(500)) + "  " * 501 + "- 1\n"
    put(tmp_path, "guide.md", GUIDE)
    (tmp_path / "guide.doctest.yaml").write_text(nested)
    result = _limited("guide.md", cwd=tmp_path)
    line = assert_one_line_error(result, code=2)
    # the root mapping is level 1, `steps:` list level 2, and each `- x:` adds a list and a mapping
    assert line == f"guide.doctest.yaml:{MAX_DEPTH // 2 + 1}: YAML nested deeper than {MAX_DEPTH} levels"


def test_flow_style_nesting_on_one_line(tmp_path):
    put(tmp_path, "guide.md", GUIDE)
    (tmp_path / "guide.doctest.yaml").write_text("vars: " + "[" * 100_000 + "]" * 100_000 + "\n")
    line = assert_one_line_error(_limited("guide.md", cwd=tmp_path), code=2)
    assert line == f"guide.doctest.yaml:1: YAML nested deeper than {MAX_DEPTH} levels"


def test_node_count_limit():
    text = "vars:\n" + "".join(f"  V{i}: {i}\n" for i in range(MAX_NODES // 2 + 10))
    with pytest.raises(DoctestError) as err:
        compose(text, "s.yaml")
    assert err.value.message == f"YAML has more than {MAX_NODES} nodes"


def test_alias_to_itself_and_merge_key_bombs():
    with pytest.raises(DoctestError) as err:
        compose("a: &a [1, *a]\n", "s.yaml")
    assert str(err.value) == "s.yaml:1: a YAML alias refers to a node that contains it"
    # `<<:` merge keys copy mappings: the expansion count covers them too
    merge = ["m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8}"]
    for i in range(1, 9):
        merge.append(f"m{i}: &m{i} [" + ", ".join([f"*m{i - 1}"] * 8) + "]")
    with pytest.raises(DoctestError) as err:
        compose("\n".join(merge) + "\nx: {<<: *m0}\n", "s.yaml")
    assert "aliases expand" in err.value.message


def test_small_aliases_still_work():
    root = compose("base: &b {x: 1}\nuse: [*b, *b]\n", "s.yaml")
    assert root.value() == {"base": {"x": 1}, "use": [{"x": 1}, {"x": 1}]}


def test_messages_quote_values_only_as_short_excerpts(tmp_path):
    long_mode = "7" * 100_000
    sidecar = put(tmp_path, "guide.doctest.yaml", f"""\
        checks:
          - file: /etc/hosts
            mode: "{long_mode}"
          - file: /etc/hosts
            mode: [1, 2, 3]
        steps:
          - line: 1
            output: "{'z' * 50_000}\\u2028\\n"
        """)
    with pytest.raises(DoctestError) as err:
        load_sidecar(sidecar, "guide.doctest.yaml")
    lines = [str(e) for e in err.value.errors]
    assert lines[0] == f"guide.doctest.yaml:3: mode must be an octal file mode like \"0644\", not '{'7' * 60}'…"
    assert lines[1] == "guide.doctest.yaml:5: mode must be an octal file mode like \"0644\", not a list"
    assert lines[2].startswith("guide.doctest.yaml:8: output must be one of check, warn, ignore, not 'zzz")
    assert all(len(line) < 300 and "\n" not in line and "\u2028" not in line for line in lines)


def test_excerpt_is_bounded_and_escaped():
    assert excerpt("a\nb\u2028c\ud800") == "'a\\nb\\u2028c\\ud800'"
    assert excerpt("x" * 1000) == "'" + "x" * 60 + "'…"
    assert excerpt({"a": 1}) == "a dict"


def test_oversized_and_unprintable_files():
    with pytest.raises(DoctestError) as err:
        compose("a: " + "x" * (2 << 20), "s.yaml")
    assert err.value.message == "YAML file is larger than 1024 KiB"
    with pytest.raises(DoctestError) as err:
        compose("a: 1\nb: \x00\n", "s.yaml")
    assert str(err.value) == "s.yaml:2: invalid YAML: character #x0000 is not allowed"
