# doctest-runner step library, sourced as line 1 of every step script: `. lib.sh STEP ERREXIT ROOT`.
#
# Why: a guide is typed into one terminal, but every step here is a fresh `bash` on its own SSH channel.
# This file restores what the terminal would still hold (working directory, variables, functions, aliases,
# umask, shell options) from the session's state file, and installs the traps that
#   - remember the line of the last top-level command (DEBUG) and of the command that tripped errexit (ERR),
#   - save the state again and write `<step>.res` ("<exit status> <script line>") however the step ends:
#     at its end, on `exit`, or on errexit (EXIT).
# All names start with __dt_ and are never saved. Stdout/stderr belong to the step: we write only to files.
# shellcheck shell=bash disable=SC2034,SC1090,SC1091

__dt_D=${BASH_SOURCE[0]%/*}      # the session directory (private, 0700)
__dt_N=$1 __dt_E=$2 __dt_R=$3    # step number, errexit wanted, running as root
__dt_S=$__dt_D/steps/$__dt_N
__dt_l=0 __dt_c='' __dt_fl=0 __dt_cur='' __dt_u='' __dt_a=0 __dt_path=''
__dt_setopts='' __dt_shopts=''
BASH_ARGV0=bash                   # $0 as in a terminal, not this script's path

if read -r __dt_cur 2>/dev/null <"$__dt_D/state.cur"; then
    . "$__dt_D/state.$__dt_cur" 2>>"$__dt_S.log"
else
    # First step of the session: a login shell's environment, as a reader's terminal has.
    { [[ -r /etc/profile ]] && . /etc/profile; [[ -r ~/.profile ]] && . ~/.profile; } </dev/null >/dev/null 2>>"$__dt_S.log"
fi
if (( __dt_R )); then
    # root steps keep the user's environment but need root's sbin directories; removed again on save.
    case ":$PATH:" in
        *:/usr/sbin:*) ;;
        *) __dt_path=:/usr/local/sbin:/usr/sbin:/sbin; PATH=$PATH$__dt_path ;;
    esac
fi

__dt_err() {
    # ERR fires for exactly the commands errexit stops on; keep the first top-level one.
    [[ $- == *e* && ${FUNCNAME[1]-main} == main ]] && (( __dt_fl == 0 )) && __dt_fl=$1
    return 0
}

__dt_chk() {
    # After every top-level command of the step: $1 status, $2 1 if it is a `test && cmd` list,
    # $3 its first script line. A non-zero status ends the step, like a reader who stops at an error;
    # errexit cannot see these (`cd x && make` failing in cd), hence the explicit check.
    (( $1 == 0 )) && return 0
    if (( $2 )) && [[ -z $__dt_c || $__dt_c == @(\[|\[\[|test)[[:space:]]* ]]; then
        return 0   # `[ "$ARCH" = ppc64le ] && ...` short-circuiting is not an error a reader would see
    fi
    if (( __dt_l >= $3 )); then __dt_fl=$__dt_l; else __dt_fl=$3; fi
    exit "$1"
}

__dt_exit() {
    local __dt_rc=$1 __dt_so='' __dt_sh='' __dt_o
    trap - DEBUG ERR
    for __dt_o in allexport braceexpand noclobber noglob nounset pipefail physical xtrace; do
        if [[ -o $__dt_o ]]; then __dt_so+="set -o $__dt_o;"; else __dt_so+="set +o $__dt_o;"; fi
    done
    set +eux
    for __dt_o in extglob nullglob dotglob globstar failglob nocaseglob nocasematch; do
        if shopt -q $__dt_o; then __dt_sh+="shopt -s $__dt_o;"; else __dt_sh+="shopt -u $__dt_o;"; fi
    done
    (( __dt_rc != 0 && __dt_fl == 0 )) && __dt_fl=$__dt_l
    if [[ -n $__dt_path && $PATH == *"$__dt_path" ]]; then PATH=${PATH%"$__dt_path"}; fi
    __dt_save "$__dt_so" "$__dt_sh"
    umask 022   # root's files must stay readable for the user (the directory is private anyway)
    printf '%s %s\n' "$__dt_rc" "$__dt_fl" >"$__dt_S.res"
    exit "$__dt_rc"
}

__dt_save() {
    # Variables by name (a `declare -p` per name, so values with newlines stay whole), minus bash's own,
    # identity variables that sudo/sshd set per login, and ours; then aliases, options, functions.
    # Written to the other of state.0/state.1, then state.cur points at it: a step killed while saving
    # leaves the previous state whole, and no `mv` process is needed (a fork costs ~50 ms under TCG).
    # The files exist from the start, owned by the user, so a root step keeps them the user's.
    local __dt_n __dt_fx __dt_next=0 __dt_fn=() __dt_fxn=()
    [[ ${__dt_cur-} == 0 ]] && __dt_next=1
    declare -F >"$__dt_S.funcs" 2>>"$__dt_S.log"
    while read -r _ __dt_fx __dt_n; do   # the user's functions; ours are defined afresh by every step
        [[ $__dt_n == __dt_* ]] && continue
        __dt_fn+=("$__dt_n")
        [[ $__dt_fx == -*x* ]] && __dt_fxn+=("$__dt_n")
    done <"$__dt_S.funcs"
    {
        printf 'cd -- %q || echo "doctest: working directory %q is gone" >&2\n' "$PWD" "$PWD"
        umask -p
        for __dt_n in ${!A*} ${!B*} ${!C*} ${!D*} ${!E*} ${!F*} ${!G*} ${!H*} ${!I*} ${!J*} ${!K*} ${!L*} ${!M*} \
                      ${!N*} ${!O*} ${!P*} ${!Q*} ${!R*} ${!S*} ${!T*} ${!U*} ${!V*} ${!W*} ${!X*} ${!Y*} ${!Z*} \
                      ${!a*} ${!b*} ${!c*} ${!d*} ${!e*} ${!f*} ${!g*} ${!h*} ${!i*} ${!j*} ${!k*} ${!l*} ${!m*} \
                      ${!n*} ${!o*} ${!p*} ${!q*} ${!r*} ${!s*} ${!t*} ${!u*} ${!v*} ${!w*} ${!x*} ${!y*} ${!z*} ${!_*}; do
            case $__dt_n in
                __dt_*|_|BASH|BASH_*|BASHOPTS|BASHPID|COLUMNS|COMP_*|DIRSTACK|EPOCHREALTIME|EPOCHSECONDS|EUID|\
                FUNCNAME|GROUPS|HISTCMD|HOME|HOSTNAME|HOSTTYPE|LINENO|LINES|LOGNAME|MACHTYPE|MAIL|OPTERR|OPTIND|\
                OSTYPE|PIPESTATUS|PPID|PWD|RANDOM|SECONDS|SHELL|SHELLOPTS|SHLVL|SRANDOM|SSH_*|SUDO_*|TERM|UID|USER|\
                XDG_RUNTIME_DIR|XDG_SESSION_*|DBUS_SESSION_BUS_ADDRESS|MOTD_SHOWN) continue ;;
            esac
            declare -p "$__dt_n"
        done
        alias -p
        printf '__dt_setopts=%q\n__dt_shopts=%q\n' "$1" "$2"
        echo '# --- functions'
        (( ${#__dt_fn[@]} )) && declare -f "${__dt_fn[@]}"
        (( ${#__dt_fxn[@]} )) && printf 'export -f %s\n' "${__dt_fxn[@]}"
        :
    } >"$__dt_D/state.$__dt_next" 2>>"$__dt_S.log" && echo "$__dt_next" >"$__dt_D/state.cur"
}

shopt -s expand_aliases
eval "$__dt_shopts" 2>>"$__dt_S.log"
if [[ $__dt_setopts == *"set -o xtrace"* ]]; then
    # Under xtrace the DEBUG trap would print itself before every command: do without it.
    trap '{ __dt_exit $?; } 2>/dev/null' EXIT
else
    trap '__dt_exit $?' EXIT
    trap '__dt_u=$_ __dt_a=$LINENO; [[ $__dt_a -gt 1 && $BASH_COMMAND != __dt_* ]] && __dt_l=$__dt_a __dt_c=$BASH_COMMAND; : "$__dt_u"' DEBUG
fi
trap '{ __dt_err $LINENO; } 2>/dev/null' ERR
(( __dt_E )) && set -e
eval "$__dt_setopts" 2>>"$__dt_S.log"
