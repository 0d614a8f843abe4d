"""The ONE list of variables a shell or a reader's environment gives a command without the doc setting them.

Two sets, one built on the other, because two questions are asked: `ALWAYS_SET` are set in every
interactive bash (so a word using one never expands empty: the classifier's empty-expansion evidence skips
them); `COMMON_ENV` adds what bash sets on demand or the reader's environment may carry (proxies, XDG dirs,
`REPLY`...), so lint does not call them placeholders. `BASH_*` and `LC_*` count as `COMMON_ENV` by prefix.
"""

from __future__ import annotations

ALWAYS_SET = frozenset({
    "HOME", "USER", "LOGNAME", "PATH", "PWD", "OLDPWD", "SHELL", "HOSTNAME", "UID", "EUID",
    "PPID", "RANDOM", "LINENO", "SECONDS", "BASH", "BASH_VERSION", "IFS", "TERM", "LANG",
})

COMMON_ENV = ALWAYS_SET | frozenset({
    "HOSTTYPE", "MACHTYPE", "OSTYPE", "LANGUAGE", "PS1", "PS2", "PS4", "SRANDOM", "OPTARG", "OPTIND",
    "REPLY", "PIPESTATUS", "FUNCNAME", "GROUPS", "SHLVL", "BASHPID", "BASHOPTS", "DIRSTACK", "EPOCHSECONDS",
    "EPOCHREALTIME", "HISTFILE", "HISTSIZE", "COLUMNS", "LINES", "MAIL", "TMPDIR", "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "SUDO_USER", "SUDO_UID", "SUDO_GID", "MAPFILE",
    "COMP_WORDS", "COMP_CWORD",
    # proxies: set by the reader's environment when they are behind one, meant to pass through
    "http_proxy", "https_proxy", "no_proxy", "ftp_proxy", "all_proxy",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "FTP_PROXY", "ALL_PROXY",
})
_ENV_PREFIXES = ("BASH_", "LC_")


def is_common_env(name: str) -> bool:
    """May a doc use `$name` without setting it? (the shell or the reader's environment has it)"""
    return name in COMMON_ENV or name.startswith(_ENV_PREFIXES)
