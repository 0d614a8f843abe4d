# doctest-runner: end a timed-out step's whole process tree.   Run as root: kill.sh SESSION_DIR STEP
#
# Why root and why a tree walk: the step's SSH channel is its own session (sshd calls setsid), but
# `sudo` (use_pty) and daemons start new sessions, so the process group alone misses them. We take the
# step's leader, everything in its session or process group, and every descendant; stop them all (so none
# can fork away while we look), look again until nothing new appears, then SIGKILL.
# shellcheck shell=bash

D=$1 N=$2
read -r P <"$D/steps/$N.pid" 2>/dev/null || { echo "kill: no pid for step $N" >&2; exit 1; }
[[ $P =~ ^[0-9]+$ ]] || exit 1

declare -A ppid=() sess=() pgrp=()
scan() {
    local d p line rest
    ppid=() sess=() pgrp=()
    for d in /proc/[0-9]*; do
        p=${d#/proc/}
        read -r line <"$d/stat" 2>/dev/null || continue
        rest=${line##*) }            # the command name may hold spaces and ')'
        read -r _ pp pg ss _ <<<"$rest"
        ppid[$p]=$pp pgrp[$p]=$pg sess[$p]=$ss
    done
}

declare -A doomed=()
collect() {
    local p changed=1
    for p in "${!ppid[@]}"; do
        if (( p == P || ${sess[$p]} == P || ${pgrp[$p]} == P )); then doomed[$p]=1; fi
    done
    while (( changed )); do
        changed=0
        for p in "${!ppid[@]}"; do
            if [[ -z ${doomed[$p]-} && -n ${doomed[${ppid[$p]}]-} ]]; then doomed[$p]=1; changed=1; fi
        done
    done
    unset 'doomed[1]' "doomed[$$]" "doomed[$BASHPID]" "doomed[$PPID]"
}

before=-1
for _ in 1 2 3 4 5; do
    scan
    collect
    (( ${#doomed[@]} == before )) && break
    before=${#doomed[@]}
    (( before )) && kill -STOP "${!doomed[@]}" 2>/dev/null
done
if (( ${#doomed[@]} )); then
    kill -KILL "${!doomed[@]}" 2>/dev/null
    kill -CONT "${!doomed[@]}" 2>/dev/null
fi
echo "killed ${#doomed[@]}"
