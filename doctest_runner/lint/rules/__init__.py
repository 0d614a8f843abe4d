"""The lint rules, one module per family. Each has `check(ctx) -> Iterator[Finding]`.

RULES maps every rule id to its default severity and the module that emits it, so the CLI
and docs can list them.
"""

from __future__ import annotations

from doctest_runner.lint.rules import (
    curl,
    doc,
    install,
    output_fence,
    placeholder,
    prompt,
    shellcheck,
    sudo,
    syntax,
    tty,
)

# run order: syntax first (others skip steps bash cannot parse)
MODULES = (syntax, shellcheck, placeholder, sudo, install, tty, prompt, curl, doc, output_fence)

RULES: dict[str, str] = {
    "syntax": "error",
    "shellcheck": "warning",  # error for shellcheck's own error level
    "placeholder": "error",
    "sudo-redirect": "error",
    "apt-no-yes": "error",
    "install-no-yes": "error",
    "interactive-tty": "warning",
    "prompt-mixed": "warning",
    "prompt-typo": "warning",
    "curl-pipe-shell": "warning",
    "prose-step": "warning",
    "output-in-shell-fence": "warning",
    "parse": "error",
}
