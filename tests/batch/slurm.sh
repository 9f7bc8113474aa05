#!/bin/bash
# tunit-transcode-slurm on a real one-node Slurm cluster on this machine
# (loopback only): munged, slurmctld and slurmd started here with a
# generated slurm.conf, a three-file batch submitted as a job array, its
# outputs checked, the daemons stopped.  Debian's slurm-wlm and munge
# (bash .ci/setup installs them); no systemd needed.
. "$(dirname "$0")/common.sh"

for tool in munged mungekey slurmctld slurmd sbatch sinfo; do
  command -v $tool > /dev/null || fail "$tool is missing (bash .ci/setup installs slurm-wlm and munge)"
done

cluster=$work/cluster
mkdir -p "$cluster"/{key,run,state,spool,log}
chmod 700 "$cluster/key"
chmod 755 "$cluster" "$cluster/run"
daemons=()

stop_cluster () {
  for pid in "${daemons[@]}"; do
    kill "$pid" 2> /dev/null
  done
  for pid in "${daemons[@]}"; do
    wait "$pid" 2> /dev/null
  done
  daemons=()
}
trap 'stop_cluster; cleanup' EXIT

# show_logs: the daemons' logs, for a failure.
show_logs () {
  for file in "$cluster"/log/*; do
    echo "---- $file" >&2
    tail -n 20 "$file" >&2
  done
}

# wait_until SECONDS WHAT COMMAND...: until COMMAND succeeds.
wait_until () {
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 10))); do
    "$@" > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  show_logs
  fail "$what within $seconds s"
}

# Two free TCP ports on the loopback interface.
read -r controller_port node_port < <("${PYTHON:-/usr/bin/python3}" - <<'PY'
import socket
sockets = [socket.socket() for _ in range(2)]
for s in sockets:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in sockets))
PY
)

# munge: a key of its own, a socket in the test's folder.
mungekey --create --keyfile="$cluster/key/munge.key" || fail "mungekey cannot make a key"
socket=$cluster/run/munge.socket
munged --foreground --force --socket="$socket" --key-file="$cluster/key/munge.key" \
  --log-file="$cluster/log/munged.log" --pid-file="$cluster/run/munged.pid" \
  --seed-file="$cluster/run/munged.seed" > "$cluster/log/munged.out" 2>&1 &
daemons+=($!)
wait_until 20 "munged did not open its socket" test -S "$socket"

user=$(id -un)
export SLURM_CONF=$cluster/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=tunit-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$controller_port
SlurmdPort=$node_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$cluster/state
SlurmdSpoolDir=$cluster/spool
SlurmctldPidFile=$cluster/run/slurmctld.pid
SlurmdPidFile=$cluster/run/slurmd.pid
SlurmctldLogFile=$cluster/log/slurmctld.log
SlurmdLogFile=$cluster/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
PlugStackConfig=/dev/null
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=batch Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -f "$SLURM_CONF" > "$cluster/log/slurmctld.out" 2>&1 &
daemons+=($!)
slurmd -D -f "$SLURM_CONF" -N localhost > "$cluster/log/slurmd.out" 2>&1 &
daemons+=($!)
node_idle () { [ "$(sinfo -h -n localhost -o %T)" = idle ]; }
wait_until 60 "the node did not become idle" node_idle
echo "ok: one-node cluster up (slurmctld on port $controller_port, slurmd on $node_port)"
sinfo

in=$work/in out=$work/out log=$work/slurm.log
make_clip "$in/a.webm" 16 8 "vp8enc deadline=1" webmmux vorbisenc
make_clip "$in/b.mkv" 12 6 "vp8enc deadline=1" matroskamux
make_clip "$in/c.mp4" 12 6 x264enc mp4mux avenc_aac

timeout 300 "$scripts/tunit-transcode-slurm" --wait "${style[@]}" -o "$out" -- "$in" > "$log" 2>&1
status=$?
cat "$log"
[ $status -eq 0 ] || { show_logs; fail "tunit-transcode-slurm --wait exited with $status"; }
job=$(sed -n 's/^submitted job array \([0-9]*\): 3 tasks.*/\1/p' "$log")
[ -n "$job" ] || fail "no job array of 3 tasks was submitted"
expect_line "$log" '^summary: 3 files: 3 translated or already done, 0 failed'
for task in 0 1 2; do
  task_log=$out/slurm/${job}_$task.out
  [ -f "$task_log" ] || fail "no log of task $task"
  echo "---- $task_log"
  cat "$task_log"
  expect_line "$task_log" "^task $task on "
  expect_line "$task_log" '^summary: 1 files: 1 translated'
done
check_output "$in/a.webm" "$out/a.webm" WebM Vorbis
check_output "$in/b.mkv" "$out/b.mkv" Matroska none
check_output "$in/c.mp4" "$out/c.mp4" Quicktime "MPEG-4 AAC"

# A failed file shows in the summary job and in the exit status.
make_broken "$in/broken.webm"
timeout 300 "$scripts/tunit-transcode-slurm" --wait "${style[@]}" -o "$out" -- "$in" > "$log" 2>&1
status=$?
cat "$log"
[ $status -ne 0 ] || fail "a Slurm batch with a broken file exited with 0"
expect_line "$log" '^summary: 4 files: 3 translated or already done, 1 failed'
expect_line "$log" 'failed: .*broken\.webm: tunit-transcode exited with 1'
stop_cluster
echo PASS
