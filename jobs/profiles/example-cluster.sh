# shellcheck shell=bash
# Machine profile example: copy to jobs/profiles/<your-cluster>.sh and adapt. It is sourced by
# jobs/submit-screen (for the sbatch flags) and at the start of every job (for the environment),
# so keep it idempotent and quiet. Use it with:
#   jobs/submit-screen --profile jobs/profiles/<your-cluster>.sh --config configs/4i.ini
#   CELLOT_PROFILE=$PWD/jobs/profiles/<your-cluster>.sh sbatch jobs/screen.sbatch

# Software. cellot needs the same MPI at run time that it was built with; with Lmod/Environment
# Modules load it here (names are site-specific).
if command -v module >/dev/null 2>&1; then
  module load gcc/12 openmpi/4.1 hdf5-mpi/1.12 >/dev/null 2>&1 || true
fi
# Where this site's build of cellot lives (default: build/bin/cellot of the checkout, else PATH).
# export CELLOT_BIN=$HOME/cellot/build/bin/cellot

# Where the jobs run: partition, account, QoS, and anything else every job needs. Added to every
# sbatch command by jobs/submit-screen (not read by a bare `sbatch jobs/screen.sbatch`: pass them
# on that command line).
export CELLOT_SBATCH_ARGS="--partition=compute --account=myproject --qos=normal"

# Launcher. srun with PMIx starts the ranks directly (no mpirun daemons) and is the default;
# `srun --mpi=list` shows what the site's Slurm supports (pmix, pmix_v4, pmi2). Use mpirun when
# the MPI was built without Slurm/PMIx support.
export CELLOT_LAUNCHER=srun
export CELLOT_SRUN_MPI=pmix

# Binding. --cpu-bind=cores gives each rank its own cores (SLURM_CPUS_PER_TASK of them) and keeps
# its threads there; set `none` where the site's Slurm has no task/affinity or task/cgroup plugin.
export CELLOT_CPU_BIND=cores
# Threads inside a rank follow the cores it was given (the jobs set OMP_NUM_THREADS =
# SLURM_CPUS_PER_TASK; cellot's training.threads = 0 reads SLURM_CPUS_PER_TASK). Spread them over
# the rank's cores, one per core (no hyper-threads: the ICNN step is sgemm-bound).
export OMP_PROC_BIND=spread
export OMP_PLACES=cores

# HDF5 on parallel file systems: file locking is often unsupported (Lustre with flock off, NFS),
# and the store's per-task rows need no locking beyond what cellot does.
export HDF5_USE_FILE_LOCKING=FALSE
