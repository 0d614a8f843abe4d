"""All understanding of shell text, in one place (imports only the ground modules: model, text, wait).

- `lexer`: THE lexer: simple commands, words, redirects, heredocs, quoted spans, variable references.
- `inner`: scripts handed to another shell as a string (`sh -c '...'`, `ssh host '...'`).
- `expansions`: what the classifier asks of a command (placeholders, empty expansions, sudo redirects).
- `complete`: is the text complete / does it parse, decided by a bash co-process that never runs it.
- `syntax`: where and why a text does not parse, in `bash -n`'s own words.
- `split`: a step's top-level commands, for running them one by one.
- `nesting`: how deep text nests, a flat linear screen run before costly readers (shellcheck).
- `quoting`: one word's quoting removed (`unquote`, and `literal_value` with each character's offset).
- `declare`: decoding the guest's saved `declare -p` / `alias -p` state.
- `variables`: the one list of variables a shell or a reader's environment always gives.
"""

from doctest_runner.shell.complete import BashSyntaxChecker, SyntaxCheck, check_syntax, default_checker, prefetch
from doctest_runner.shell.declare import ShellState, parse_state
from doctest_runner.shell.expansions import (
    PLACEHOLDER,
    EmptyExpansion,
    Masked,
    Placeholder,
    SudoRedirect,
    assigned_vars,
    empty_expansions,
    mask,
    placeholders,
    sudo_redirects,
)
from doctest_runner.shell.inner import MAX_INNER_DEPTH, SHELLS, InnerScript, inner_scripts
from doctest_runner.shell.lexer import (
    ASSIGN_RE,
    Heredoc,
    Redirect,
    Script,
    SimpleCommand,
    VarRef,
    Word,
    command_argv,
    command_words,
    lex,
    uses_sudo,
    wrapper_length,
)
from doctest_runner.shell.nesting import nesting
from doctest_runner.shell.quoting import literal_value, unquote
from doctest_runner.shell.split import Unit, split_units
from doctest_runner.shell.syntax import SyntaxProblem, check_bash, check_step
from doctest_runner.shell.variables import ALWAYS_SET, COMMON_ENV, is_common_env

__all__ = [
    "ALWAYS_SET",
    "ASSIGN_RE",
    "COMMON_ENV",
    "MAX_INNER_DEPTH",
    "PLACEHOLDER",
    "SHELLS",
    "BashSyntaxChecker",
    "EmptyExpansion",
    "Heredoc",
    "InnerScript",
    "Masked",
    "Placeholder",
    "Redirect",
    "Script",
    "ShellState",
    "SimpleCommand",
    "SudoRedirect",
    "SyntaxCheck",
    "SyntaxProblem",
    "Unit",
    "VarRef",
    "Word",
    "assigned_vars",
    "check_bash",
    "check_step",
    "check_syntax",
    "command_argv",
    "command_words",
    "default_checker",
    "empty_expansions",
    "inner_scripts",
    "is_common_env",
    "lex",
    "literal_value",
    "mask",
    "nesting",
    "parse_state",
    "placeholders",
    "prefetch",
    "split_units",
    "sudo_redirects",
    "unquote",
    "uses_sudo",
    "wrapper_length",
]
