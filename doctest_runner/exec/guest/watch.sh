# doctest-runner: report processes of a running step that wait for input.   Run as root: watch.sh SESSION_DIR STEP
#
# Why: a step's stdin is its SSH channel, kept open and never written, so a command that reads it blocks
# instead of silently getting EOF. Any process blocked in read(2) on a file that is that same pipe (or
# pty) is waiting for a human: we print "interactive PID COMM" and the harness then closes stdin (EOF)
# so the step goes on exactly as with </dev/null, but now we know. Polls /proc every INTERVAL seconds,
# backing off to 3 s on long steps (a scan costs guest CPU under TCG); ends with the step.
# shellcheck shell=bash

D=$1 N=$2 interval=${3:-0.5}
read -r P <"$D/steps/$N.pid" 2>/dev/null || exit 1
[[ $P =~ ^[0-9]+$ ]] || exit 1
case $(uname -m) in
    x86_64) reads=" 0 17 19 295 " ;;           # read pread64 readv preadv
    aarch64|riscv64) reads=" 63 65 67 69 " ;;  # read readv pread64 preadv
    *) reads=" 3 " ;;
esac
declare -A told=()
scans=0
while [[ -e /proc/$P/fd/0 ]]; do
    for d in /proc/[0-9]*; do
        p=${d#/proc/}
        [[ -n ${told[$p]-} ]] && continue
        read -r nr fd _ <"$d/syscall" 2>/dev/null || continue
        [[ $reads == *" $nr "* ]] || continue
        [[ $fd == 0x* ]] || continue
        fd=$((fd))
        if [[ $d/fd/$fd -ef /proc/$P/fd/0 ]]; then
            read -r comm <"$d/comm"
            told[$p]=1
            echo "interactive $p $comm"
        fi
    done
    sleep "$interval"
    scans=$((scans + 1))
    if (( scans % 10 == 0 )) && [[ $interval != 3 ]]; then interval=$(( ${interval%%.*} + 1 )); fi
done
