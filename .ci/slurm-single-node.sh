#!/usr/bin/env bash
# A real single-node SLURM cluster on 127.0.0.1, for CI (tests/test_slurm.py runs the workflow on it).
#
#   .ci/slurm-single-node.sh start     install (Debian slurm-wlm, slurmdbd, munge, MariaDB) if missing,
#                                      start munged, MariaDB, slurmdbd, slurmctld and slurmd, wait for an idle node
#   .ci/slurm-single-node.sh stop      cancel leftover jobs, then stop exactly the daemons `start` started
#   .ci/slurm-single-node.sh status    what is recorded and whether it is alive
#
# The node has SLURM_CI_CPUS CPUs (default 2) and one fake GPU (gres gpu:1 backed by /dev/null: it
# exercises scheduling, `--gpus=1` reaches SLURM and is accounted, but jobs see no CUDA device).
# Accounting (slurmdbd + MariaDB) runs so that `sacct`, the executor plugin's default status
# command, works; account `ci_acct` / partition `debug` are what tests pass as slurm_account /
# slurm_partition.
#
# Needs root and no systemd: daemons are started by hand, each PID is written to $SLURM_CI_DIR/pids/
# and `stop` kills those PIDs only. Every wait is bounded (SLURM_CI_TIMEOUT seconds, default 90).
# /etc/slurm/slurm.conf is written there on purpose: snakemake's slurm-jobstep plugin strips SLURM_*
# variables (SLURM_CONF included) for the inner srun, so the config must sit at the default path.
# A slurm.conf that this script did not write is never overwritten.
#
# env: SLURM_CI_DIR (state, logs, database; default /tmp/modality-gap-slurm), SLURM_CI_CPUS (2),
#      SLURM_CI_TIMEOUT (90), SLURM_CI_APT_TIMEOUT (900), SLURM_CI_DB_PORT (3306)
set -euo pipefail

STATE=${SLURM_CI_DIR:-/tmp/modality-gap-slurm}
PIDS=$STATE/pids
LOG=$STATE/log
ETC=/etc/slurm
CPUS=${SLURM_CI_CPUS:-2}
TIMEOUT=${SLURM_CI_TIMEOUT:-90}
APT_TIMEOUT=${SLURM_CI_APT_TIMEOUT:-900}
DB_PORT=${SLURM_CI_DB_PORT:-3306}
DB_SOCK=$STATE/mysql/mysqld.sock
MARK="# written by .ci/slurm-single-node.sh"
# start order; stop goes in reverse
DAEMONS=(munged mariadbd slurmdbd slurmctld slurmd)

say() { echo "[slurm-ci] $*"; }
die() { echo "[slurm-ci] ERROR: $*" >&2; exit 1; }

# t COMMAND...: run a client command, bounded (a hung daemon must not hang the script)
t() { timeout 30 "$@"; }

# wait_for DESCRIPTION COMMAND...: retry COMMAND (an executable, each try bounded) every 0.5 s for at
# most $TIMEOUT seconds, and give up at once when the daemon named in $WATCH, if any, has died
wait_for() {
  local what=$1; shift
  local deadline=$((SECONDS + TIMEOUT))
  until timeout 20 "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { echo "[slurm-ci] timed out after ${TIMEOUT}s waiting for $what" >&2; return 1; }
    if [ -n "${WATCH:-}" ] && ! alive "$WATCH"; then
      echo "[slurm-ci] $WATCH died while waiting for $what" >&2; return 1
    fi
    sleep 0.5
  done
}

# alive NAME: the PID recorded for daemon NAME runs and is still that program (not a reused PID)
alive() {
  local f=$PIDS/$1.pid pid
  [ -s "$f" ] || return 1
  pid=$(cat "$f")
  [ -d "/proc/$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]
}

# record NAME PIDFILE: copy a daemon's own PID file into $PIDS once it has written it
record() {
  wait_for "$1 to write $2" test -s "$2" || return 1
  cat "$2" > "$PIDS/$1.pid"
  alive "$1" || die "$1 exited right after starting (see $LOG/)"
}

# a node that can take jobs (an executable for wait_for, hence sh -c)
NODE_READY=(sh -c "sinfo -h -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)\$'")

show_logs() {
  local f
  for f in "$LOG"/*.log "$STATE"/mysql/mariadb.err; do
    [ -s "$f" ] && { echo "--- $f (last 15 lines)"; tail -15 "$f"; }
  done
  t sinfo -R 2>/dev/null || true
}

install_packages() {
  local missing=0 b
  for b in munged mungekey sinfo sbatch sacct sacctmgr scontrol slurmctld slurmd slurmdbd mariadbd mariadb-install-db; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || { missing=1; break; }
  done
  [ "$missing" = 0 ] && return 0
  say "installing slurm-wlm, slurmdbd, munge and mariadb-server (apt, log: $STATE.apt.log)"
  # keep the packages' maintainer scripts from starting daemons (there is no init system here)
  local policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    policy=/usr/sbin/policy-rc.d
  fi
  local rc=0
  {
    export DEBIAN_FRONTEND=noninteractive
    timeout "$APT_TIMEOUT" apt-get update -q &&
      timeout "$APT_TIMEOUT" apt-get install -y -q --no-install-recommends \
        slurm-wlm slurm-client slurmdbd munge mariadb-server mariadb-client
  } > "$STATE.apt.log" 2>&1 || rc=$?
  if [ -n "$policy" ]; then rm -f "$policy"; trap - EXIT; fi
  if [ "$rc" != 0 ]; then
    tail -25 "$STATE.apt.log" >&2
    die "apt-get failed (exit $rc); full log: $STATE.apt.log"
  fi
}

write_config() {
  if [ -e "$ETC/slurm.conf" ] && ! grep -qF "$MARK" "$ETC/slurm.conf"; then
    die "$ETC/slurm.conf exists and was not written by this script; refusing to overwrite it"
  fi
  mkdir -p "$ETC"
  local host mem hw node
  host=$(hostname -s)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
  hw=$(t slurmd -C | head -1)
  if grep -q "CPUs=$CPUS " <<<"$hw "; then
    # shellcheck disable=SC2001
    node=$(sed "s/RealMemory=[0-9]*/RealMemory=$mem/" <<<"$hw")
  else
    node="NodeName=$host CPUs=$CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS ThreadsPerCore=1 RealMemory=$mem"
  fi
  cat > "$ETC/slurm.conf" <<CONF
$MARK (single-node CI cluster; state in $STATE)
ClusterName=ci
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=600
GresTypes=gpu
$node NodeAddr=127.0.0.1 Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  # a fake GPU: slurmd drops GPUs without a device file, so point it at /dev/null
  printf '%s\nNodeName=%s Name=gpu File=/dev/null\n' "$MARK" "$host" > "$ETC/gres.conf"
  cat > "$ETC/slurmdbd.conf" <<CONF
$MARK
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurmpw
LogFile=$LOG/slurmdbd.log
PidFile=$STATE/slurmdbd.pid
CONF
  chmod 600 "$ETC/slurmdbd.conf"
}

start_munge() {
  install -d -o munge -g munge -m 0755 /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
  fi
  if ! alive munged; then
    rm -f "$PIDS/munged.pid"
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
      say "munged already running (not started here, will not be stopped)"
    else
      rm -f /run/munge/munged.pid
      t runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
      record munged /run/munge/munged.pid
    fi
  fi
  wait_for "munge to answer" sh -c 'munge -n | unmunge'
}

start_mariadb() {
  local db=$STATE/mysql
  if ! alive mariadbd; then
    install -d -o mysql -g mysql "$db"
    if [ ! -d "$db/mysql" ]; then
      timeout 300 mariadb-install-db --user=mysql --datadir="$db" --auth-root-authentication-method=socket \
        > "$LOG/mariadb-install.log" 2>&1 || { tail -20 "$LOG/mariadb-install.log" >&2; die "mariadb-install-db failed"; }
    fi
    setsid mariadbd --user=mysql --datadir="$db" --socket="$DB_SOCK" --pid-file="$db/mariadb.pid" \
      --bind-address=127.0.0.1 --port="$DB_PORT" --log-error="$db/mariadb.err" \
      < /dev/null > /dev/null 2>&1 &
    echo $! > "$PIDS/mariadbd.pid"
  fi
  WATCH=mariadbd wait_for "MariaDB on $DB_SOCK" mariadb --socket="$DB_SOCK" -uroot -e 'select 1' || { show_logs; exit 1; }
  t mariadb --socket="$DB_SOCK" -uroot -e "
    CREATE DATABASE IF NOT EXISTS slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
    CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurmpw';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
    FLUSH PRIVILEGES;"
}

start_slurm() {
  if ! alive slurmdbd; then
    rm -f "$STATE/slurmdbd.pid"
    t /usr/sbin/slurmdbd
    record slurmdbd "$STATE/slurmdbd.pid" || { show_logs; exit 1; }
  fi
  WATCH=slurmdbd wait_for "slurmdbd to answer" sacctmgr -n list cluster || { show_logs; exit 1; }
  t sacctmgr -n list cluster format=cluster | grep -qw ci || t sacctmgr -i add cluster ci >/dev/null
  if ! alive slurmctld; then
    rm -f "$STATE/slurmctld.pid"
    t /usr/sbin/slurmctld
    record slurmctld "$STATE/slurmctld.pid" || { show_logs; exit 1; }
  fi
  if ! alive slurmd; then
    rm -f "$STATE/slurmd.pid"
    t /usr/sbin/slurmd
    record slurmd "$STATE/slurmd.pid" || { show_logs; exit 1; }
  fi
  WATCH=slurmd wait_for "the node to become idle" "${NODE_READY[@]}" || { show_logs; exit 1; }
  t sacctmgr -n list account format=account | grep -qw ci_acct ||
    t sacctmgr -i add account ci_acct Cluster=ci Description=ci Organization=ci >/dev/null
  # root exists from the start (account "root"); give it ci_acct as well, as its default
  if ! t sacctmgr -n show assoc where user=root account=ci_acct format=account | grep -qw ci_acct; then
    t sacctmgr -i add user root Account=ci_acct >/dev/null
  fi
  t sacctmgr -i modify user where name=root set DefaultAccount=ci_acct >/dev/null || true
  wait_for "root's association with ci_acct" sh -c \
    'sacctmgr -n -s list user root format=account | grep -qw ci_acct'
}

start() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  mkdir -p "$STATE" "$PIDS" "$LOG" "$STATE/state" "$STATE/spool"
  # every step below skips what already runs, so a second `start` only checks (and repairs)
  local d
  # a daemon this script did not start would fight ours for the ports
  for d in slurmctld slurmd slurmdbd; do
    if ! alive "$d" && pgrep -x "$d" >/dev/null; then
      die "a $d not started by this script is running (pid $(pgrep -x "$d" | tr '\n' ' ')); stop it first"
    fi
  done
  install_packages
  write_config
  start_munge
  start_mariadb
  start_slurm
  say "cluster up in ${SECONDS}s (state, logs and PIDs in $STATE)"
  t sinfo -o '%P %a %D %T %N %C %G'
}

stop() {
  [ -d "$PIDS" ] || { say "nothing to stop (no $PIDS)"; return 0; }
  # finish leftover jobs first, so that no slurmstepd outlives slurmd
  if alive slurmctld && [ -n "$(t squeue -h -o %i 2>/dev/null)" ]; then
    say "cancelling leftover jobs: $(t squeue -h -o %i | tr '\n' ' ')"
    t squeue -h -o %i | xargs -r timeout 30 scancel 2>/dev/null || true
    # shellcheck disable=SC2016  # expanded by the inner sh
    wait_for "jobs to end" sh -c '[ -z "$(squeue -h -o %i)" ]' || true
  fi
  local i d pid deadline n=0
  for ((i = ${#DAEMONS[@]} - 1; i >= 0; i--)); do
    d=${DAEMONS[i]}
    if alive "$d"; then
      pid=$(cat "$PIDS/$d.pid")
      kill "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 30))
      while alive "$d" && ((SECONDS < deadline)); do sleep 0.2; done
      if alive "$d"; then
        kill -KILL "$pid" 2>/dev/null || true
        say "killed $d ($pid) with SIGKILL"
      else
        say "stopped $d ($pid)"
      fi
      n=$((n + 1))
    fi
    rm -f "$PIDS/$d.pid"
  done
  [ "$n" -gt 0 ] || say "nothing to stop (no daemon started by this script is running)"
}

status() {
  local d rc=0
  for d in "${DAEMONS[@]}"; do
    if alive "$d"; then say "$d: running ($(cat "$PIDS/$d.pid"))"; else say "$d: not running (or not started here)"; rc=1; fi
  done
  t sinfo 2>/dev/null || true
  return $rc
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
